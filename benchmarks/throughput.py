#!/usr/bin/env python3
"""lograd against the tools users would otherwise pick, on one generated app log.

Usage:
  benchmarks/throughput.py [--size SIZE] [--local N] [--chunk-size SIZE] [--port PORT]
                           [--peers LIST] [--runs N]

Options:
  --size SIZE        Log size, generated once into benchmarks/data/ [default: 1GiB].
  --local N          lograd's worker processes [default: 2].
  --chunk-size SIZE  Passed to the coordinator (default: its own choice).
  --port PORT        Base port [default: 27555].
  --peers LIST       Comma-separated peers to run, of mawk, duckdb, polars, python
                     [default: mawk,duckdb,polars,python].
  --runs N           Runs of lograd; the table shows the fastest, all are listed [default: 3].

Every tool computes the same answers (SPEC §3's entries, malformed lines,
errors, error rate, average and p95 response time, requests per second and
per-minute requests and errors) from the same file in the page cache; the
table shows wall seconds from start to answer, MB/s, each process's peak RSS
(VmHWM) and whether the answers equal lograd's. Peers that are not installed
are skipped with a note (DuckDB and Polars come with `make bench`).
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import sys

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


def row(tool: str, wall: float, size: int, peaks: str, match: str) -> str:
    return f"| {tool} | {wall:.2f} | {size / 1e6 / wall:,.0f} | {peaks} | {match} |"


def main() -> None:
    args = docopt(__doc__)
    size = parse_size(args["--size"])
    path = ensure_log(size)
    actual = os.path.getsize(path)
    extra = ["--chunk-size", args["--chunk-size"]] if args["--chunk-size"] else []
    best, runs = run_lograd(lograd_command(path, int(args["--local"]), int(args["--port"]), *extra),
                            int(args["--runs"]))
    report = json.loads(best.out)
    mine = lograd_answers(report)
    job = report["job"]
    print(f"file: {path} ({actual / 1e6:,.1f} MB, {report['lines']:,} lines), {os.cpu_count()} CPUs; "
          f"lograd --local {args['--local']}: {job['chunks']} chunks, runs "
          + ", ".join(f"{r.wall:.2f} s" for r in runs))
    print()
    print("| tool | wall s | MB/s | peak RSS MiB | same answers |")
    print("|---|---:|---:|---|---|")
    print(row(f"lograd (--local {args['--local']})", best.wall, actual, best.peak_list(), "—"))
    mawk_wall = None
    for peer in args["--peers"].split(","):
        if not installed(peer):
            print(f"| {peer} | — | — | — | not installed |")
            continue
        run = measure([sys.executable, os.path.join(HERE, "peers.py"), peer, path], lambda p, root: p.name())
        if run.status != 0:
            print(f"| {peer} | — | — | — | failed: {run.err.decode()[-200:].strip()} |")
            continue
        wrong = differences(mine, json.loads(run.out))
        print(row(peer, run.wall, actual, run.peak_list(),
                  "yes" if not wrong else "NO: " + "; ".join(wrong)))
        if peer == "mawk":
            mawk_wall = run.wall
    if mawk_wall:
        print(f"\nlograd is {mawk_wall / best.wall:.1f}x the mawk script's speed "
              f"({actual / 1e6 / best.wall:,.0f} vs {actual / 1e6 / mawk_wall:,.0f} MB/s).")


if __name__ == "__main__":
    main()
