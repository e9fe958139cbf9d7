"""What the ``bin/`` scripts run: the project's .venv interpreter, then the command.

``bin/lograd-coordinator`` works from a checkout whichever python3 starts it:
when that interpreter lacks the dependencies but ``.venv`` (made by
``make demo``/``make test``) has them, the script re-runs itself there.
"""
from __future__ import annotations

import gc
import os
import sys


def run(command: str) -> None:
    """Run ``lograd.cli`` command ``command`` with this process's arguments, and exit.

    A worker runs with glibc told to keep freed memory (config.FREED_MEMORY_KEPT, read only
    when a process starts: the worker re-runs itself once with them when they are not set).
    numpy's OpenBLAS starts no thread pool (lograd does no linear algebra; the pool's threads
    spin at import: about 70 ms of CPU per process, on a machine the job wants whole)."""
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # read when numpy is first imported
    # The cyclic collector runs after 200,000 new objects, not 700: what imports, merging
    # partials and building a report make lives until the end and holds no cycles, yet each
    # default collection scans it again (10-15% of the imports' time, 60-75 ms of a 1 GB job)
    gc.set_threshold(200_000, 30, 30)
    from .config import FREED_MEMORY_KEPT
    env = dict(os.environ, **FREED_MEMORY_KEPT) if command == "worker" else os.environ
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    venv = os.path.join(root, ".venv")
    try:
        if os.path.realpath(sys.prefix) != os.path.realpath(venv):  # the checkout's .venv has them
            import zmq  # noqa: F401  (only probing that the dependencies are here)
    except ImportError:
        venv_python = os.path.join(venv, "bin", "python")
        if os.path.exists(venv_python):
            os.execve(venv_python, [venv_python, *sys.argv], env)
        print(f"lograd: pyzmq is not installed for {sys.executable}; run `make demo` "
              "(it makes .venv) or `pip install .`", file=sys.stderr)
        sys.exit(2)  # errors.EXIT_USAGE: lograd's modules may not import here
    if any(os.environ.get(k) != v for k, v in env.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    from .cli import run_command
    status = run_command(command)
    if command == "coordinator":
        # the report is out (run_command flushed it), every socket is closed and every worker
        # reaped: a big job's objects are not freed one by one on the way out (tens of ms)
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
