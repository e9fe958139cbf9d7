#!/usr/bin/env python3
"""lograd against the tools users would pick, on a generated connection log.

Usage:
  benchmarks/connections.py [--size SIZE] [--local N] [--last SECONDS] [--port PORT]
                            [--peers LIST] [--runs N]

Options:
  --size SIZE       Log size, generated once into benchmarks/data/ [default: 1GiB].
  --local N         lograd's worker processes [default: 2].
  --last SECONDS    The window [default: 3600].
  --port PORT       Base port [default: 27585].
  --peers LIST      Comma-separated peers, of mawk, duckdb, polars, dask
                    [default: mawk,duckdb,polars,dask].
  --runs N          Runs of lograd; the table shows the fastest [default: 3].

The log has 1000 hosts of Zipf-like popularity, times in seconds and
milliseconds, 5% of lines up to 5 minutes late (bin/lograd-generate --format
conn). Every tool answers who connected to the host of the first line and to
whom it connected in the last SECONDS up to the newest entry, plus the top
sources and targets; the table shows wall seconds, MB/s, each process's peak
RSS (VmHWM; Dask's includes its scheduler and workers) and whether the
answers equal lograd's.
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
from benchmarks.conn_peers import differences, lograd_answers  # noqa: E402
from lograd.config import parse_size  # noqa: E402


def installed(peer: str) -> bool:
    if peer == "mawk":
        return shutil.which("mawk") is not None
    return importlib.util.find_spec(peer) is not None


def main() -> None:
    args = docopt(__doc__)
    path = ensure_log(parse_size(args["--size"]), fmt="conn")
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        host = f.readline().split()[1].decode()
    last = args["--last"]
    best, runs = run_lograd(lograd_command(path, int(args["--local"]), int(args["--port"]), "--host", host,
                                           "--last", last), int(args["--runs"]))
    report = json.loads(best.out)
    mine = lograd_answers(report)
    print(f"file: {path} ({size / 1e6:,.1f} MB, {report['lines']:,} lines), --host {host} --last {last}, "
          f"{os.cpu_count()} CPUs; lograd runs " + ", ".join(f"{r.wall:.2f} s" for r in runs))
    print()
    print("| tool | wall s | MB/s | peak RSS MiB | same answers |")
    print("|---|---:|---:|---|---|")
    print(f"| lograd (--local {args['--local']}) | {best.wall:.2f} | {size / 1e6 / best.wall:,.0f} | "
          f"{best.peak_list()} | — |")
    walls = {}
    for peer in args["--peers"].split(","):
        if not installed(peer):
            print(f"| {peer} | — | — | — | not installed |")
            continue
        run = measure([sys.executable, os.path.join(HERE, "conn_peers.py"), peer, path, host, last],
                      lambda p, root: p.name())
        if run.status != 0:
            print(f"| {peer} | — | — | — | failed: {run.err.decode()[-200:].strip()} |")
            continue
        wrong = differences(mine, json.loads(run.out))
        walls[peer] = run.wall
        peaks = run.peak_list() if len(run.peaks) <= 3 else f"{sum(r for _, r in run.peaks.values()):.0f} in {len(run.peaks)} processes"
        print(f"| {peer} | {run.wall:.2f} | {size / 1e6 / run.wall:,.0f} | {peaks} | "
              f"{'yes' if not wrong else 'NO: ' + '; '.join(wrong)} |")
    if walls:
        print("\n" + ", ".join(f"{walls[p] / best.wall:.1f}x {p}" for p in walls))


if __name__ == "__main__":
    main()
