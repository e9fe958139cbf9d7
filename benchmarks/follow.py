#!/usr/bin/env python3
"""Follow mode: delay from a line's writing to its report, sustained rate, memory over time.

Usage:
  benchmarks/follow.py [--rate N] [--duration S] [--every S] [--last S] [--format FMT]
                       [--ramp RATES] [--ramp-seconds S] [--port PORT]

Options:
  --rate N           Lines a second appended in the steady run [default: 50000].
  --duration S       Length of the steady run [default: 600].
  --every S          Report period (--every of the coordinator) [default: 1].
  --last S           Window (--last of the coordinator) [default: 60].
  --format FMT       What the steady run appends: app, or conn (5% of lines up to
                     5 minutes late, times in s or ms) [default: app].
  --ramp RATES       Rates tried, one after the other, to find where lograd falls
                     behind [default: 50000,100000,200000,400000,800000].
  --ramp-seconds S   Length of each ramp step [default: 20].
  --port PORT        Base port [default: 27755].

The steady run appends lines stamped with the time they are written
(`lograd-generate --follow`) while `lograd-coordinator --local 2 --follow
--json` follows the file. For each report k received at wall time R_k, whose
newest entry is L_k, every line written in (L_{k-1}, L_k] first shows in report
k: its delay is at most R_k - L_{k-1}. The script prints those delays, checks
that the last report counted every line written, and samples the RSS of the
coordinator and each worker every 10 s.

The ramp appends lines from a faster writer (a block of lines, the current
time in front, written at once) at each rate in turn; a rate is sustained when
the lag of the last reports (R_k - L_k) stays under the period plus one
second and the final count matches what was written.
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

import psutil
from docopt import docopt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks.common import BIN, lograd_label  # noqa: E402
from lograd.timestamps import format_ms, parse_time_arg  # noqa: E402


class Follower:
    """A running ``lograd-coordinator --follow --json`` and the reports it printed, with arrival times."""

    def __init__(self, path: str, port: int, every: float, last: float) -> None:
        cmd = [sys.executable, os.path.join(BIN, "lograd-coordinator"), "--local", "2", "--port", str(port),
               "--follow", "--every", str(every), "--last", str(last), "--json", path]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.reports: list[tuple[float, dict]] = []
        self.rss: list[tuple[float, dict[str, float]]] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.reports.append((time.time(), json.loads(line)))

    def sample_rss(self) -> None:
        """Current RSS (MiB) of the coordinator and each worker."""
        figures = {}
        try:
            root = psutil.Process(self.proc.pid)
            for p in [root, *root.children(recursive=True)]:
                figures[lograd_label(p, root)] = p.memory_info().rss / 2**20
        except psutil.Error:
            pass
        self.rss.append((time.time(), figures))

    def wait_for_lines(self, lines: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.reports and self.reports[-1][1]["lines"] >= lines:
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> dict | None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=10)
        return self.reports[-1][1] if self.reports else None


def _newest(report: dict) -> float | None:
    stamp = report["last_timestamp"]
    return None if stamp is None else parse_time_arg(stamp) / 1000


def delays(reports: list[tuple[float, dict]]) -> tuple[list[float], list[float]]:
    """(worst delay of the lines each report first counts, lag of each report's newest line)."""
    worst, lag = [], []
    previous = None
    for received, report in reports:
        if report["follow"]["final"]:
            continue
        newest = _newest(report)
        if newest is None:
            continue
        lag.append(received - newest)
        if previous is not None and newest > previous:
            worst.append(received - previous)
        previous = newest
    return worst, lag


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-int(p * len(ordered)) // 100) - 1)] if ordered else float("nan")


def steady(args: dict) -> None:
    rate, duration, every = int(args["--rate"]), float(args["--duration"]), float(args["--every"])
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "live.log")
        open(path, "wb").close()
        follower = Follower(path, int(args["--port"]), every, float(args["--last"]))
        generator = subprocess.Popen([sys.executable, os.path.join(BIN, "lograd-generate"), "--follow",
                                      "--rate", str(rate), "--duration", str(duration),
                                      "--format", args["--format"], path],
                                     stderr=subprocess.DEVNULL)
        began = time.time()
        next_sample = began
        try:
            while generator.poll() is None:
                if time.time() >= next_sample:
                    follower.sample_rss()
                    next_sample += 10
                time.sleep(0.2)
            written = sum(1 for _ in open(path, "rb"))
            caught_up = follower.wait_for_lines(written, 60)
            follower.sample_rss()
            final = follower.stop()
        finally:
            for p in (generator, follower.proc):
                if p.poll() is None:
                    p.kill()
                    p.wait()
    worst, lag = delays(follower.reports)
    print(f"steady run: {args['--format']} lines, {rate:,} a second for {duration:g} s, "
          f"reports every {every:g} s, --last {args['--last']}")
    print(f"  lines written {written:,}; last report counted {final['lines'] if final else 0:,} "
          f"({'every one' if final and final['lines'] == written and caught_up else 'NOT every one'})")
    print(f"  reports: {len(worst) + 1}")
    print(f"  delay from writing to first report (worst per report): p50 {_pct(worst, 50):.2f} s, "
          f"p99 {_pct(worst, 99):.2f} s, max {max(worst, default=float('nan')):.2f} s "
          f"(target <= 1 s + {every:g} s)")
    print(f"  lag of each report's newest line: p50 {_pct(lag, 50):.2f} s, max {max(lag, default=float('nan')):.2f} s")
    print("  RSS (MiB) over time:")
    names = sorted({n for _, figures in follower.rss for n in figures})
    print("    " + "  ".join(f"{'t (s)':>6}" if i == 0 else f"{n:>12}" for i, n in enumerate(["t"] + names)))
    step = max(1, len(follower.rss) // 12)
    for at, figures in follower.rss[::step] + follower.rss[-1:]:
        print("    " + "  ".join([f"{at - began:6.0f}"] + [f"{figures.get(n, 0):12.1f}" for n in names]))


def _appender(path: str, rate: int, seconds: float, stop: threading.Event) -> int:
    """Append ``rate`` app lines a second for ``seconds``, stamped now; the lines written."""
    bodies = [f" INFO Request {i} processed in {20 + i % 180}ms\n".encode() for i in range(1000)]
    began = time.time()
    written = 0
    with open(path, "ab") as out:
        while not stop.is_set():
            now = time.time()
            due = int(min(now - began, seconds) * rate)
            if due > written:
                stamp = format_ms(int(now * 1000)).replace("T", " ").encode()
                out.write(b"".join(stamp + bodies[(written + i) % 1000] for i in range(due - written)))
                out.flush()
                written = due
            if now - began >= seconds:
                return written
            time.sleep(0.05)  # pacing the writes
    return written


def ramp(args: dict) -> None:
    every = float(args["--every"])
    seconds = float(args["--ramp-seconds"])
    print(f"\nramp: {seconds:g} s at each rate, reports every {every:g} s")
    print(f"  {'rate (lines/s)':>15}  {'achieved':>10}  {'lag p50 s':>9}  {'lag max s':>9}  {'counted all':>11}  sustained")
    for rate in (int(r) for r in args["--ramp"].split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "live.log")
            open(path, "wb").close()
            follower = Follower(path, int(args["--port"]), every, float(args["--last"]))
            stop = threading.Event()
            try:
                time.sleep(2)  # let the workers join before the clock starts (pacing, not sync)
                began = time.time()
                written = _appender(path, rate, seconds, stop)
                achieved = written / (time.time() - began)
                ended = time.time()
                caught_up = follower.wait_for_lines(written, 120)
                final = follower.stop()
            finally:
                stop.set()
                if follower.proc.poll() is None:
                    follower.proc.kill()
                    follower.proc.wait()
        _, lag = delays([(r, rep) for r, rep in follower.reports if r <= ended])
        tail = lag[len(lag) // 2:] or lag
        ok = bool(tail) and max(tail) <= every + 1 and caught_up and final is not None and final["lines"] == written
        print(f"  {rate:>15,}  {achieved:>10,.0f}  {statistics.median(tail) if tail else float('nan'):>9.2f}  "
              f"{max(tail, default=float('nan')):>9.2f}  {'yes' if caught_up else 'no':>11}  {'yes' if ok else 'no'}")


def main() -> None:
    args = docopt(__doc__)
    if float(args["--duration"]) > 0:
        steady(args)
    if args["--ramp"] and float(args["--ramp-seconds"]) > 0:
        ramp(args)


if __name__ == "__main__":
    main()
