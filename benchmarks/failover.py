#!/usr/bin/env python3
"""Failover: how fast a killed worker's chunks move, and what a kill costs the job.

Usage:
  benchmarks/failover.py [--size SIZE] [--repeat N] [--port PORT]

Options:
  --size SIZE    Log size to generate (reused if present) [default: 1GiB].
  --repeat N     Runs of each kind [default: 3].
  --port PORT    Base port [default: 27655].

Each run starts three workers (w1, w2, w3) and a coordinator with default
settings. A fault-free run gives the job time T, from the moment all three
workers have joined to the report; a faulty run SIGKILLs w1 T/2 after they
joined, and reads the coordinator's stderr for when w1 was declared dead and
when its first chunk was handed to another worker. Every faulty report must equal
the fault-free one (all keys but `job`).
"""
from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from docopt import docopt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.common import ensure_log  # noqa: E402
from lograd.config import parse_size  # noqa: E402

BIN = os.path.join(ROOT, "bin")


class Run:
    """One job: three workers and a coordinator, stderr lines time-stamped as they arrive."""

    def __init__(self, path: str, port: int) -> None:
        url = f"tcp://127.0.0.1:{port}"
        self.workers = {n: subprocess.Popen([sys.executable, f"{BIN}/lograd-worker", n, "--coordinator", url],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                        for n in ("w1", "w2", "w3")}
        self.out = tempfile.TemporaryFile()
        self.started = time.monotonic()
        self.coordinator = subprocess.Popen(
            [sys.executable, f"{BIN}/lograd-coordinator", "--port", str(port), "--workers", "3", "--json", path],
            stdout=self.out, stderr=subprocess.PIPE)
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.coordinator.stderr:
            self.lines.append((time.monotonic(), line.decode(errors="replace")))

    def first(self, text: str, after: float) -> float | None:
        return next((t for t, line in self.lines if text in line and t >= after), None)

    def joined(self, timeout: float = 60) -> float:
        """When the last of the three workers joined (waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            times = [self.first(f"worker {n} joined", 0) for n in self.workers]
            if all(times):
                return max(times)
            time.sleep(0.01)
        raise SystemExit("the workers did not join within a minute")

    def finish(self) -> tuple[float, dict]:
        try:
            self.coordinator.wait(timeout=600)
            wall = time.monotonic() - self.started
            self.reader.join(timeout=5)
            self.out.seek(0)
            return wall, json.loads(self.out.read())
        finally:
            for p in [self.coordinator, *self.workers.values()]:
                if p.poll() is None:
                    p.kill()
                p.wait()


def main() -> None:
    args = docopt(__doc__)
    path = ensure_log(parse_size(args["--size"]))
    port, repeat = int(args["--port"]), int(args["--repeat"])
    clean_times, fault_times, detect, reassign = [], [], [], []
    reference = None
    for i in range(repeat):
        run = Run(path, port)
        joined = run.joined()
        wall, report = run.finish()
        clean_times.append(run.started + wall - joined)
        report.pop("job")
        reference = reference or report
        assert report == reference, "fault-free reports differ"

        run = Run(path, port)
        joined = run.joined()
        time.sleep(max(0.0, joined + statistics.mean(clean_times) / 2 - time.monotonic()))  # pacing, not sync
        killed = time.monotonic()
        os.kill(run.workers["w1"].pid, signal.SIGKILL)
        wall, report = run.finish()
        fault_times.append(run.started + wall - joined)
        job = report.pop("job")
        dead = run.first("worker w1 lost its connection", killed) or run.first("worker w1 stopped answering", killed)
        moved = run.first("retried on", killed)
        detect.append(dead - killed if dead else float("nan"))
        reassign.append(moved - killed if moved else float("nan"))
        same = report == reference
        print(f"run {i + 1}: fault-free {clean_times[-1]:.2f} s, w1 killed at half: {fault_times[-1]:.2f} s, "
              f"declared dead after {detect[-1]:.2f} s, first chunk reassigned after {reassign[-1]:.2f} s, "
              f"{job['retried_chunks']} chunks retried, report {'identical' if same else 'DIFFERENT'}")
        if not same:
            raise SystemExit("a faulty run's report differs from the fault-free one")
    size = os.path.getsize(path) / 1e6
    print(f"\n{size:,.0f} MB, 3 workers, {repeat} runs each, default settings "
          f"(heartbeat 0.5 s, liveness 3)")
    print(f"kill -> declared dead:        mean {statistics.mean(detect):.2f} s, max {max(detect):.2f} s")
    print(f"kill -> chunk reassigned:     mean {statistics.mean(reassign):.2f} s, max {max(reassign):.2f} s")
    ratio = statistics.mean(fault_times) / statistics.mean(clean_times)
    print(f"job time, fault-free:         mean {statistics.mean(clean_times):.2f} s")
    print(f"job time, 1 of 3 killed:      mean {statistics.mean(fault_times):.2f} s ({ratio:.2f}x)")


if __name__ == "__main__":
    main()
