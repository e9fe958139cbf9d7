#!/usr/bin/env python3
"""A wide fleet on one machine: what N hosts cost the coordinator (issue #19).

Usage:
  benchmarks/fleet.py [--workers LIST] [--files N] [--size SIZE] [--merges N] [--port PORT]

Options:
  --workers LIST   Fleet sizes, one worker process (one "host") each [default: 8,32,128].
  --files N        Log files in each host's directory [default: 4].
  --size SIZE      Size of each file [default: 256KiB].
  --merges N       Partials decoded and merged for the merge rate [default: 2000].
  --port PORT      Base port [default: 27855].

For each fleet size N: N workers start, each with --hostname host-I and --serve
its own directory (benchmarks/data/fleet/host-I, made once); a coordinator runs
--workers N --on-workers '<root>/*/*.log' (each host lists only what lies in its
own directory). From the coordinator's stderr, time-stamped as it arrives: the
time to list (all joined -> the files planned) and to read and merge (planned ->
report); the coordinator's CPU seconds and peak RSS (wait4 on it); messages per
second (an Assign and a Result per chunk) and heartbeats per second. Then, in this process,
the rate at which one core decodes and merges partials like these (the
coordinator's work per chunk): the ceiling of a fleet's throughput in chunks.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

from docopt import docopt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lograd.aggregate import Partial  # noqa: E402
from lograd.analyzer import Analyzer  # noqa: E402
from lograd.config import parse_size  # noqa: E402
from lograd.generate import generate_test_logs  # noqa: E402
from lograd.reader import summarise_chunk  # noqa: E402

BIN = os.path.join(ROOT, "bin")
DATA = os.path.join(ROOT, "benchmarks", "data", "fleet")


def host_dirs(count: int, files: int, size: int) -> str:
    """``count`` host directories of ``files`` logs of ``size`` bytes each (made once)."""
    root = os.path.join(DATA, f"{files}x{size}")
    sample = os.path.join(root, "sample.log")
    if not os.path.exists(sample):
        os.makedirs(root, exist_ok=True)
        generate_test_logs(size / 1e6, sample, "error_spike", seed=3)
    for i in range(count):
        d = os.path.join(root, "hosts", f"host-{i}")
        if not os.path.isdir(d):
            os.makedirs(d)
            for f in range(files):
                os.link(sample, os.path.join(d, f"app-{f}.log"))  # the same bytes: the same work each
    return os.path.join(root, "hosts")


class Fleet:
    """N workers and a coordinator; the coordinator's stderr lines time-stamped."""

    def __init__(self, count: int, root: str, port: int) -> None:
        url = f"tcp://127.0.0.1:{port}"
        self.workers = [subprocess.Popen([sys.executable, f"{BIN}/lograd-worker", f"w{i}", "--coordinator", url,
                                          "--hostname", f"host-{i}", "--serve", os.path.join(root, f"host-{i}"),
                                          "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                       for i in range(count)]
        self.started = time.monotonic()
        self.coordinator = subprocess.Popen(
            [sys.executable, f"{BIN}/lograd-coordinator", "--port", str(port), "--workers", str(count),
             "--join-timeout", "300", "--json", "--on-workers", f"{root}/*/*.log"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: list[tuple[float, str]] = []
        self.out = b""
        threading.Thread(target=self._read_err, daemon=True).start()
        self.reader = threading.Thread(target=self._read_out, daemon=True)
        self.reader.start()

    def _read_err(self) -> None:
        for line in self.coordinator.stderr:
            self.lines.append((time.monotonic(), line.decode(errors="replace")))

    def _read_out(self) -> None:
        self.out = self.coordinator.stdout.read()

    def finish(self) -> tuple[float, dict, float, float]:
        """(end time, report, coordinator CPU seconds, its peak RSS in MiB)."""
        try:
            _, status, usage = os.wait4(self.coordinator.pid, 0)
            ended = time.monotonic()
            self.coordinator.returncode = os.waitstatus_to_exitcode(status)
            self.reader.join(timeout=30)
            if self.coordinator.returncode not in (0, 1):
                raise SystemExit(f"the coordinator failed: {''.join(l for _, l in self.lines)[-800:]}")
            return ended, json.loads(self.out), usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024
        finally:
            for p in self.workers:
                p.kill()
            for p in self.workers:
                p.wait()

    def first(self, text: str) -> float | None:
        return next((t for t, line in self.lines if text in line), None)

    def joined(self) -> float | None:
        times = [t for t, line in self.lines if " joined" in line]
        return max(times) if len(times) == len(self.workers) else None


def merge_rate(path: str, merges: int) -> tuple[float, int]:
    """Partials of one file decoded from their wire form and merged, per second on one core;
    and a partial's size in bytes on the wire (msgpack)."""
    import msgpack
    wire = summarise_chunk(path, 0, os.path.getsize(path)).to_wire()
    body = msgpack.packb(wire, use_bin_type=True)
    analyzer = Analyzer(["f"])
    began = time.process_time()
    for chunk_id in range(merges):
        analyzer.update_metrics(Partial.from_wire(msgpack.unpackb(body, raw=False, strict_map_key=False)), chunk_id)
    return merges / (time.process_time() - began), len(body)


def main() -> None:
    args = docopt(__doc__)
    sizes = [int(n) for n in args["--workers"].split(",")]
    files, size, port = int(args["--files"]), parse_size(args["--size"]), int(args["--port"])
    root = host_dirs(max(sizes), files, size)
    print(f"Each host: {files} app logs of {size:,} bytes; one worker process per host on this machine "
          f"({os.cpu_count()} cores)\n")
    print("| hosts | chunks | start -> all joined s | joined -> listed and planned s | planned -> report s "
          "| coordinator CPU s | coordinator peak RSS MiB | chunk messages/s | heartbeats/s |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for count in sizes:
        fleet = Fleet(count, root, port)
        while fleet.joined() is None:
            if fleet.coordinator.poll() is not None:
                break
            time.sleep(0.05)
        ended, report, cpu, rss = fleet.finish()
        joined, listed = fleet.joined(), fleet.first(" file(s), ")
        chunks = report["job"]["chunks"]
        reading = ended - listed
        messages = 2 * chunks / reading  # an Assign out and a Result in for each chunk
        heartbeats = count / 0.5  # each worker's, every 0.5 s (default), the whole job long
        assert len(report["hosts"]) == count and report["job"]["failed_chunks"] == [], report["job"]
        print(f"| {count} | {chunks} | {joined - fleet.started:.2f} | {listed - joined:.3f} | {reading:.2f} | "
              f"{cpu:.2f} | {rss:.0f} | {messages:,.0f} | {heartbeats:,.0f} |", flush=True)
    rate, body = merge_rate(os.path.join(root, "host-0", "app-0.log"), int(args["--merges"]))
    print(f"\nOne core decodes and merges {rate:,.0f} partials a second ({body:,} bytes each on the wire, "
          f"from a {size:,}-byte chunk of an app log).")


if __name__ == "__main__":
    main()
