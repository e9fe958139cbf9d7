"""The worker processes a coordinator starts on its own machine (``--local N``): forks of it
(:meth:`LocalWorkers.fork`), or new processes with ``--curve`` (:meth:`LocalWorkers.start`)."""
from __future__ import annotations

import os
import signal
import sys
import time
from typing import TYPE_CHECKING

from ..config import FREED_MEMORY_KEPT, Settings
from ..errors import EXIT_INTERRUPTED
from ..sysstats import libc

if TYPE_CHECKING:
    import subprocess


def local_address(bind: str, port: int) -> str:
    """Where a worker on this machine finds a coordinator bound to ``bind`` at ``port``."""
    host = "127.0.0.1" if bind in ("0.0.0.0", "*") else bind
    return f"tcp://{host}:{port}"


_MAIN = "import sys; from lograd.cli import main; sys.exit(main())"
"""``python -m lograd.cli`` without runpy (8 ms of each worker's start-up); the same argv."""


class ForkedWorker:
    """A local worker forked from the coordinator: what :class:`LocalWorkers` asks of a
    ``subprocess.Popen`` (poll, wait, terminate, kill), for a child that runs no new program."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                self.returncode = 0
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:  # as Popen.wait with a timeout: look again soon
            if deadline is not None and time.monotonic() >= deadline:
                import subprocess
                raise subprocess.TimeoutExpired(f"local worker {self.pid}", timeout)
            time.sleep(0.005)
        return self.returncode

    def _signal(self, signum: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, signum)
            except ProcessLookupError:
                pass

    def terminate(self) -> None:
        self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)


def keep_freed_memory() -> bool:
    """Tell this process's glibc what FREED_MEMORY_KEPT tells a new one through its environment
    (``mallopt``: a forked worker's malloc is already set up); whether it took them."""
    mallopt = getattr(libc(), "mallopt", None)
    if mallopt is None:  # not glibc
        return False
    return (mallopt(-1, int(FREED_MEMORY_KEPT["MALLOC_TRIM_THRESHOLD_"])) == 1  # M_TRIM_THRESHOLD
            and mallopt(-3, int(FREED_MEMORY_KEPT["MALLOC_MMAP_THRESHOLD_"])) == 1)  # M_MMAP_THRESHOLD


class LocalWorkers:
    """Worker processes started by the coordinator (``--local N``), always reaped."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen | ForkedWorker] = []

    def fork(self, count: int, url: str, settings: Settings, instance: str) -> None:
        """Start ``count`` workers for the coordinator at ``url`` (joining ``instance`` at
        once) as forks of this process, which has imported what a worker needs: a worker
        then starts in a few milliseconds and no CPU, where a new interpreter spends 0.1 s
        of CPU importing (numpy, pyzmq, the scanner) while the coordinator starts too. To be
        called before this process has a ZeroMQ context or a thread (neither survives a
        fork). Each shows this command line in ``ps``, and ``lograd-worker`` as its name
        (``pgrep``, ``top``)."""
        sys.stdout.flush()  # (what is buffered would be written twice)
        sys.stderr.flush()
        parent = os.getpid()
        for i in range(1, count + 1):
            pid = os.fork()
            if pid == 0:
                _run_forked(i, url, settings, instance, parent)  # never returns
            self.processes.append(ForkedWorker(pid))

    def start(self, count: int, url: str, settings: Settings, curve_dir: str | None = None,
              instance: str | None = None) -> None:
        """Start ``count`` workers for the coordinator at ``url``; with ``instance`` they join
        that coordinator instance at once, before its first heartbeat."""
        import subprocess  # here: a forked worker needs none (3 ms of the coordinator's start)
        env = dict(os.environ, LOGRAD_PARENT=str(os.getpid()), **FREED_MEMORY_KEPT)
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        for i in range(1, count + 1):
            cmd = [sys.executable, "-c", _MAIN, *_worker_argv(i, url, settings, curve_dir, instance)]
            self.processes.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL))

    def adopt(self, other: LocalWorkers) -> None:
        """Take over the workers ``other`` started (the command line forks them before the
        coordinator has planned its job); ``other`` then holds none."""
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
            except Exception as exc:  # subprocess.TimeoutExpired: subprocess is imported only where raised
                import subprocess
                if not isinstance(exc, subprocess.TimeoutExpired):
                    raise
                p.kill()
                p.wait()
        self.processes.clear()


def local_worker_settings(settings: Settings) -> Settings:
    """What a local worker of a coordinator with ``settings`` runs with: the coordinator's
    heartbeat, the worker's own liveness, and it gives up after four of the coordinator's
    expiries (5 s at least)."""
    return Settings(heartbeat_interval=settings.heartbeat_interval, give_up=max(settings.expiry * 4, 5.0))


def _worker_argv(i: int, url: str, settings: Settings, curve_dir: str | None, instance: str | None) -> list[str]:
    """Local worker ``i``'s command and arguments (``lograd.cli.main``'s argv)."""
    own = local_worker_settings(settings)
    argv = ["worker", f"local-{i}", "--coordinator", url, "--give-up", str(own.give_up),
            "--heartbeat", str(own.heartbeat_interval), "--quiet"]
    if curve_dir is not None:
        argv += ["--curve", curve_dir]
    if instance is not None:
        argv += ["--instance", instance]
    return argv


def _run_forked(i: int, url: str, settings: Settings, instance: str, parent: int) -> None:
    """A forked worker's whole life: what ``lograd-worker`` runs for the arguments
    :func:`_worker_argv` gives (as :meth:`LocalWorkers.start` starts one), its options given
    rather than parsed (docopt's parse, 4-8 ms, was most of the fork's way to its Hello),
    then exit without returning into the coordinator's code (its ``finally`` blocks are the
    coordinator's, not ours)."""
    status = 1
    try:
        os.environ["LOGRAD_PARENT"] = str(parent)
        devnull = os.open(os.devnull, os.O_RDONLY)  # standard input is the coordinator's (``-``)
        os.dup2(devnull, 0)
        os.close(devnull)
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_DFL if signum == signal.SIGHUP else signal.default_int_handler)
        keep_freed_memory()
        _name_process(b"lograd-worker")
        from ..worker import Worker, serve
        status = serve(Worker(f"local-{i}", url, local_worker_settings(settings), quiet=True, instance=instance))
    except KeyboardInterrupt:
        status = EXIT_INTERRUPTED
    except BaseException:  # noqa: BLE001 — said, and the process still ends here
        import traceback
        traceback.print_exc()
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(status)


def _name_process(name: bytes) -> None:
    """This process's name (``comm``: ``top``, ``pgrep``), 15 bytes at most (Linux)."""
    prctl = getattr(libc(), "prctl", None)
    if prctl is not None:
        import ctypes
        prctl(15, ctypes.c_char_p(name[:15]), 0, 0, 0)  # PR_SET_NAME
