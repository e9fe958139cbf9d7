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


_WORKER_READS = """
import os, sys
from lograd import fastpath, reader, worker  # what a forked --local worker has (cli._fork_workers)
from lograd.aggregate import TimeBounds
from lograd.filters import EntryFilter
from lograd.formats import formats
from lograd.inputs import detect
from lograd.net.protocol import Result, encode
formats()
before = "numpy" in sys.modules
path, window, level = sys.argv[1], sys.argv[2] == "window", sys.argv[3]
fmt = detect(path).format
filters = EntryFilter.from_options(level, None, None) if level != "-" else None
partial = reader.summarise_chunk(path, 0, os.path.getsize(path), fmt=fmt, filters=filters,
                                 window=(1706090400000, 1706094000000) if window else None)
encode(Result("job", 0, 1, "w", 0.0, partial.to_wire()))
print(fmt, int(before), int("numpy" in sys.modules), partial.lines)
"""


@pytest.mark.timeout(120)
def test_workers_of_the_plain_formats_never_import_numpy(tmp_path):
    """A worker reading a format that says it needs no numpy (app, syslog, json, logfmt,
    access: lograd.fastpath folds their tallies into plain numbers) imports none, so the
    --local workers of such a job are forked before the coordinator imports it (cli). Every
    format is read, with a window and a level filter too; the formats that do import numpy
    must say so, or the coordinator would fork their workers without it."""
    from lograd.formats import get
    samples = [os.path.join(ROOT, "test_vectors", "logs", n) for n in ("error_spike.log", "malformed.log")]
    samples += sorted(os.path.join(ROOT, "test_vectors", "formats", n)
                      for n in os.listdir(os.path.join(ROOT, "test_vectors", "formats")))
    for fmt in ("json", "logfmt", "syslog", "conn", "text"):
        path = tmp_path / f"generated.{fmt}.log"
        subprocess.run([sys.executable, os.path.join(ROOT, "bin", "lograd-generate"), "--format", fmt,
                        "--lines", "3000", "--profile", "error_spike" if fmt in ("json", "text") else "normal",
                        str(path)], check=True, capture_output=True, timeout=60)
        samples.append(str(path))
    seen = {}
    for path in samples:
        for window, level in (("whole", "-"), ("window", "ERROR")):
            if level != "-" and "conn" in path:
                continue  # conn lines have no level to filter by
            out = subprocess.run([sys.executable, "-c", _WORKER_READS, path, window, level], cwd=ROOT,
                                 capture_output=True, timeout=60)
            assert out.returncode == 0, out.stderr.decode()[-2000:]
            fmt, before, after, lines = out.stdout.decode().split()
            assert before == "0" and int(lines) > 0, (path, out.stdout)
            seen.setdefault(fmt, set()).add(after == "1")
    for fmt, imported in seen.items():
        assert get(fmt).workers_need_numpy or imported == {False}, f"{fmt}'s worker imported numpy"
        assert not get(fmt).workers_need_numpy or True in imported, f"{fmt} says it needs numpy, and imports none"
    assert {"app", "json", "logfmt", "syslog", "access", "text", "conn"} <= set(seen)
