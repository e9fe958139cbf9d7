"""The package's layout (a part of #18): every module imports alone, and no two modules import
each other when they load (the format registry's and the follow driver's imports inside
functions are deliberate: they run when used, not when loaded)."""
import ast
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = os.path.join(ROOT, "lograd")


def modules() -> dict[str, str]:
    """Every module of the package: dotted name -> file."""
    found = {}
    for directory, _, files in os.walk(PACKAGE):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(directory, name)
                dotted = os.path.relpath(path[:-3], ROOT).replace(os.sep, ".")
                found[dotted.removesuffix(".__init__")] = path
    return found


def loaded_imports(name: str, path: str, known: dict[str, str]) -> set[str]:
    """The package's modules that module ``name`` imports at load time (its top level)."""
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    out = set()
    for node in ast.parse(open(path).read()).body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
            base = f"{base}.{node.module}" if node.module else base
            out |= {m for m in [base] + [f"{base}.{a.name}" for a in node.names] if m in known and m != name}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name in known and a.name != name}
    return out


def test_no_two_modules_import_each_other_when_they_load():
    known = modules()
    graph = {name: loaded_imports(name, path, known) for name, path in known.items()}
    state: dict[str, int] = {}

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                pytest.fail("import cycle: " + " -> ".join(path[path.index(target):] + [name, target]))
            if not state.get(target):
                visit(target, path + [name])
        state[name] = 2

    for name in sorted(graph):
        if not state.get(name):
            visit(name, [])
    assert "lograd.cli" in graph and graph["lograd.coordinator"]  # the walk saw the package


@pytest.mark.timeout(120)
def test_every_module_imports_alone():
    """Each module in an interpreter where no other module of the package was imported first."""
    names = sorted(modules())
    script = ("import importlib, sys\n"
              "for name in sys.argv[1:]:\n"
              "    for loaded in [m for m in sys.modules if m == 'lograd' or m.startswith('lograd.')]:\n"
              "        del sys.modules[loaded]\n"
              "    importlib.import_module(name)\n")
    result = subprocess.run([sys.executable, "-c", script, *names], cwd=ROOT, capture_output=True, timeout=110)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
