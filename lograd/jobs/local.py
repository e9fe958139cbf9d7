"""The worker processes a coordinator starts on its own machine (``--local N``)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from ..config import FREED_MEMORY_KEPT, Settings


def local_address(bind: str, port: int) -> str:
    """Where a worker on this machine finds a coordinator bound to ``bind`` at ``port``."""
    host = "127.0.0.1" if bind in ("0.0.0.0", "*") else bind
    return f"tcp://{host}:{port}"


_MAIN = "import sys; from lograd.cli import main; sys.exit(main())"
"""``python -m lograd.cli`` without runpy (8 ms of each worker's start-up); the same argv."""


class LocalWorkers:
    """Worker processes started by the coordinator (``--local N``), always reaped."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int, url: str, settings: Settings, curve_dir: str | None = None,
              instance: str | None = None) -> None:
        """Start ``count`` workers for the coordinator at ``url``; with ``instance`` they join
        that coordinator instance at once, before its first heartbeat."""
        env = dict(os.environ, LOGRAD_PARENT=str(os.getpid()), **FREED_MEMORY_KEPT)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        for i in range(1, count + 1):
            cmd = [sys.executable, "-c", _MAIN, "worker", f"local-{i}", "--coordinator", url,
                   "--give-up", str(max(settings.expiry * 4, 5.0)),
                   "--heartbeat", str(settings.heartbeat_interval), "--quiet"]
            if curve_dir is not None:
                cmd += ["--curve", curve_dir]
            if instance is not None:
                cmd += ["--instance", instance]
            self.processes.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL))

    def adopt(self, other: LocalWorkers) -> None:
        """Take over the workers ``other`` started (the command line starts them before the
        coordinator has imported its modules); ``other`` then holds none."""
        self.processes.extend(other.processes)
        other.processes.clear()

    def all_exited(self) -> list[int] | None:
        """The exit statuses when every worker started here has exited, else None."""
        codes = [p.poll() for p in self.processes]
        return codes if codes and None not in codes else None

    def terminate(self) -> None:
        """Ask every worker still running to exit (SIGTERM), without waiting for it."""
        for p in self.processes:
            if p.poll() is None:
                p.terminate()

    def stop(self, grace: float = 3.0) -> None:
        """Ask every worker to exit and reap them all (killed after ``grace`` seconds)."""
        self.terminate()
        deadline = time.monotonic() + grace
        for p in self.processes:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes.clear()
