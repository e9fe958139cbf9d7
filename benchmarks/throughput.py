#!/usr/bin/env python3
"""lograd against the tools users would otherwise pick, on one generated app log.

Usage:
  benchmarks/throughput.py [--size SIZE] [--local N] [--chunk-size SIZE] [--port PORT]
                           [--peers LIST] [--runs N] [--peer-runs N]

Options:
  --size SIZE        Log size, generated once into benchmarks/data/ [default: 1GiB].
  --local N          lograd's worker processes [default: 2].
  --chunk-size SIZE  Passed to the coordinator (default: its own choice).
  --port PORT        Base port [default: 27555].
  --peers LIST       Comma-separated peers to run, of mawk, duckdb, polars, python
                     [default: mawk,duckdb,polars,python].
  --runs N           Runs of lograd and of the cat/wc limits [default: 5].
  --peer-runs N      Runs of each peer [default: 1].

Every tool computes the same answers (SPEC §3's entries, malformed lines,
errors, error rate, average and p95 response time, requests per second and
per-minute requests and errors) from the same file in the page cache; the
table shows the median wall seconds from start to answer and the spread of the
runs, MB/s at the median, each process's peak RSS (VmHWM) and whether the
answers equal lograd's. `cat FILE > /dev/null` and `wc -l FILE` are the limits:
reading the bytes, and finding the newlines. Peers that are not installed are
skipped with a note (DuckDB and Polars come with `make bench`). Last, issue #20's
targets, each beside this run's figure and whether it is met (the 1 GB and first-chunk
targets only for a 1 GB log and --local 2).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

from docopt import docopt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.common import ensure_log, lograd_command, measure, run_lograd  # noqa: E402
from benchmarks.peers import differences, lograd_answers  # noqa: E402
from lograd.config import parse_size  # noqa: E402


def installed(peer: str) -> bool:
    if peer == "mawk":
        return shutil.which("mawk") is not None
    if peer in ("duckdb", "polars"):
        return importlib.util.find_spec(peer) is not None
    return True


def row(tool: str, walls: list[float], size: int, peaks: str, match: str) -> str:
    """A table row: the median of ``walls``, their spread, MB/s at the median."""
    mid = statistics.median(walls)
    spread = f"{min(walls):.2f}-{max(walls):.2f}" if len(walls) > 1 else "one run"
    return f"| {tool} | {mid:.2f} | {spread} | {size / 1e6 / mid:,.0f} | {peaks} | {match} |"


def limit(cmd: list[str], runs: int) -> list[float]:
    """Wall seconds of ``runs`` runs of a plain command (cat, wc) with its output discarded."""
    walls = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, check=True)
        walls.append(time.perf_counter() - began)
    return walls


def main() -> None:
    args = docopt(__doc__)
    size = parse_size(args["--size"])
    path = ensure_log(size)
    actual = os.path.getsize(path)
    extra = ["--chunk-size", args["--chunk-size"]] if args["--chunk-size"] else []
    runs = int(args["--runs"])
    _, done = run_lograd(lograd_command(path, int(args["--local"]), int(args["--port"]), *extra), runs)
    walls = [r.wall for r in done]
    median_run = sorted(done, key=lambda r: r.wall)[len(done) // 2]
    report = json.loads(median_run.out)
    mine = lograd_answers(report)
    job = report["job"]
    print(f"file: {path} ({actual / 1e6:,.1f} MB, {report['lines']:,} lines), {os.cpu_count()} CPUs; "
          f"lograd --local {args['--local']}: {job['chunks']} chunks, first chunk handed out "
          f"{job.get('first_chunk_seconds', 0):.2f} s after the command; runs " + ", ".join(f"{w:.2f} s" for w in walls))
    print()
    print("| tool | wall s (median) | spread | MB/s | peak RSS MiB | same answers |")
    print("|---|---:|---|---:|---|---|")
    print(row(f"lograd (--local {args['--local']})", walls, actual, median_run.peak_list(), "—"))
    print(row("`cat FILE > /dev/null` (the bytes)", limit(["cat", path], runs), actual, "—", "—"))
    print(row("`wc -l FILE` (the newlines)", limit(["wc", "-l", path], runs), actual, "—", "—"))
    peer_walls: dict[str, float] = {}
    for peer in args["--peers"].split(","):
        if not peer:
            continue
        if not installed(peer):
            print(f"| {peer} | — | — | — | — | not installed |")
            continue
        done_peer = []
        for _ in range(int(args["--peer-runs"])):
            run = measure([sys.executable, os.path.join(HERE, "peers.py"), peer, path], lambda p, root: p.name())
            if run.status != 0:
                break
            done_peer.append(run)
        if not done_peer:
            print(f"| {peer} | — | — | — | — | failed: {run.err.decode()[-200:].strip()} |")
            continue
        wrong = differences(mine, json.loads(done_peer[0].out))
        print(row(peer, [r.wall for r in done_peer], actual, done_peer[0].peak_list(),
                  "yes" if not wrong else "NO: " + "; ".join(wrong)))
        peer_walls[peer] = statistics.median(r.wall for r in done_peer)
    if peer_walls:
        mid = statistics.median(walls)
        print("\nlograd's median against each peer's: " + ", ".join(
            f"{w / mid:.1f}x {peer}" for peer, w in peer_walls.items()) + ".")
    print_targets(walls, [json.loads(r.out)["job"].get("first_chunk_seconds") for r in done],
                  [rss for r in done for name, rss in r.peaks.values() if name == "lograd-worker"], peer_walls,
                  actual, int(args["--local"]))


TARGETS = {"1 GB app log end to end, --local 2": 1.0, "the same as a rate, MB/s": 1000.0,
           "first chunk handed out, --local 2": 0.15,
           "times mawk": 12.0, "times DuckDB": 15.0, "worker peak RSS, MiB": 60.0}
"""Issue #20's targets (seconds, or a least ratio or rate, or a most MiB). "1 GB ... <= 1.0 s
(>= 1 GB/s)": the benchmark's log is 1 GiB (1.074 GB), so the two differ by 7% and both
are shown."""


def print_targets(walls: list[float], firsts: list, worker_peaks: list[float], peer_walls: dict[str, float],
                  size: int, local: int) -> None:
    """Each of issue #20's targets beside this run's figure: met or missed (the time targets
    hold for a 1 GB log and --local 2 only)."""
    mid = statistics.median(walls)
    rows = []
    if local == 2 and 0.9e9 <= size <= 1.1e9:
        rows.append(("1 GB app log end to end, --local 2", mid <= TARGETS["1 GB app log end to end, --local 2"],
                     f"{mid:.2f} s median ({size / 1e9:.3f} GB)"))
        rate = size / 1e6 / mid
        rows.append(("the same as a rate, MB/s", rate >= TARGETS["the same as a rate, MB/s"],
                     f"{rate:,.0f} MB/s at the median"))
    known = [f for f in firsts if f is not None]
    if local == 2 and known:
        first = statistics.median(known)
        rows.append(("first chunk handed out, --local 2", first <= TARGETS["first chunk handed out, --local 2"],
                     f"{first:.3f} s median of {len(known)}"))
    for peer, name in (("mawk", "times mawk"), ("duckdb", "times DuckDB")):
        if peer in peer_walls:
            ratio = peer_walls[peer] / mid
            rows.append((name, ratio >= TARGETS[name], f"{ratio:.1f}x"))
    if worker_peaks:
        rows.append(("worker peak RSS, MiB", max(worker_peaks) <= TARGETS["worker peak RSS, MiB"],
                     f"{max(worker_peaks):.0f} MiB at most"))
    print("\nIssue #20's targets:")
    for name, met, shown in rows:
        bound = TARGETS[name]
        sign = ">=" if name.startswith(("times", "the same as a rate")) else "<="
        print(f"  {name} {sign} {bound:g}: {shown} -- {'met' if met else 'missed'}")


if __name__ == "__main__":
    main()
