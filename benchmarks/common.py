"""What the benchmark scripts share: generated logs, and running a command while sampling its memory."""
from __future__ import annotations

import os
import resource
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import psutil

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
sys.path.insert(0, ROOT)

from lograd.generate import generate_test_logs  # noqa: E402


def log_path(size: int, profile: str = "error_spike", fmt: str = "app") -> str:
    """Where :func:`ensure_log` keeps a generated log."""
    name = f"{fmt}-{profile}-{size}.log" if fmt != "conn" else f"conn-{size}.log"
    return os.path.join(ROOT, "benchmarks", "data", name)


def ensure_log(size: int, profile: str = "error_spike", fmt: str = "app") -> str:
    """A generated log of ``size`` bytes in benchmarks/data/ (made once, then reused), in the page cache."""
    path = log_path(size, profile, fmt)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if not os.path.exists(path):
        print(f"generating {size / 1e6:,.0f} MB log at {path} ...", file=sys.stderr, flush=True)
        generate_test_logs(size / 1e6, path + ".part", profile, seed=7, fmt=fmt)
        os.replace(path + ".part", path)
    with open(path, "rb") as f:  # warm the page cache: every tool then reads from memory
        while f.read(1 << 24):
            pass
    return path


@dataclass
class Measured:
    """One command's run: wall time, output, each process's peak RSS in MiB, and the CPU
    seconds (user + system) of the command and the children it waited for."""

    wall: float
    status: int
    out: bytes
    err: bytes
    peaks: dict[int, tuple[str, float]] = field(default_factory=dict)
    cpu: float = 0.0

    def peak_list(self) -> str:
        return ", ".join(f"{name} {rss:.0f}" for name, rss in sorted(self.peaks.values()))


def _peak_rss_mib(proc: psutil.Process) -> float:
    """The process's peak RSS so far (Linux VmHWM: no spike is missed between samples)."""
    try:
        with open(f"/proc/{proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return proc.memory_info().rss / 2**20


def measure(cmd: list[str], label=lambda proc, root: "main", every: float = 0.1) -> Measured:
    """Run ``cmd`` to its end, reading the peak RSS of it and all its children every ``every`` s.

    ``label(proc, root)`` names each process in the figures. Output goes to temporary
    files (a pipe could fill and stall the command).
    """
    out_file, err_file = tempfile.TemporaryFile(), tempfile.TemporaryFile()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file)
    peaks: dict[int, tuple[str, float]] = {}
    ended = os.pidfd_open(proc.pid)  # readable when the process ends: the wall time is exact
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                family = [root, *root.children(recursive=True)]
            except psutil.Error:
                family = []
            for p in family:
                try:
                    rss = _peak_rss_mib(p)
                    seen = peaks.get(p.pid)
                    # a child sampled between fork and exec still shows its parent's command line
                    name = seen[0] if seen and seen[0].startswith("worker") else label(p, root)
                    peaks[p.pid] = (name, max(rss, seen[1] if seen else 0.0))
                except psutil.Error:
                    pass
            if select.select([ended], [], [], every)[0]:
                break
        wall = time.monotonic() - began
    finally:
        os.close(ended)
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # lograd's workers are reaped by their coordinator
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out_file.seek(0)
    err_file.seek(0)
    return Measured(wall, proc.returncode, out_file.read(), err_file.read(), peaks, cpu)


def lograd_label(proc: psutil.Process, root: psutil.Process) -> str:
    """coordinator, or worker NAME (the launcher's re-exec keeps the coordinator's pid)."""
    if proc.pid == root.pid:
        return "coordinator"
    cmdline = proc.cmdline()
    if "worker" in cmdline:
        return "worker " + cmdline[cmdline.index("worker") + 1]
    return proc.name()


def lograd_command(path: str, local: int = 2, port: int = 27555, *extra: str) -> list[str]:
    return [sys.executable, os.path.join(BIN, "lograd-coordinator"), "--local", str(local),
            "--port", str(port), "--json", *extra, path]


def run_lograd(cmd: list[str], runs: int) -> tuple[Measured, list[Measured]]:
    """Run a lograd command ``runs`` times: (the fastest run, all runs); stops on a failure."""
    done = []
    for _ in range(runs):
        run = measure(cmd, lograd_label)
        if run.status != 0:
            raise SystemExit(f"lograd failed ({run.status}): {run.err.decode()[-800:]}")
        done.append(run)
    return min(done, key=lambda r: r.wall), done
