#!/usr/bin/env python3
"""Time and memory against input size: they should be linear and flat; and where two cores
stop helping.

Usage:
  benchmarks/scaling.py [--sizes LIST] [--local N] [--workers LIST] [--port PORT] [--keep]

Options:
  --sizes LIST    Comma-separated log sizes, generated into benchmarks/data/
                  [default: 256MiB,1GiB,4GiB,16GiB].
  --local N       Worker processes for the sizes [default: 2].
  --workers LIST  --local values tried on the 1 GiB log [default: 1,2,4].
  --port PORT     Base port [default: 27575].
  --keep          Keep the logs over 1 GiB this run generated (else deleted after).

For each size: lograd's wall time, MB/s, seconds per GiB and each process's
peak RSS; then the 1 GiB log with each --local. Each report's line count is
checked against the file's newlines.
"""
from __future__ import annotations

import json
import os
import sys

from docopt import docopt

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import ensure_log, log_path, lograd_command, lograd_label, measure  # noqa: E402
from lograd.config import parse_size  # noqa: E402


def count_lines(path: str) -> int:
    """Lines in a file (a last line without a newline counts too)."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def run_row(label: str, path: str, local: int, port: int) -> None:
    size = os.path.getsize(path)
    run = measure(lograd_command(path, local, port), lograd_label)
    if run.status != 0:
        raise SystemExit(f"lograd failed ({run.status}): {run.err.decode()[-800:]}")
    report = json.loads(run.out)
    lines = count_lines(path)
    if report["lines"] != lines:
        raise SystemExit(f"{path}: lograd counted {report['lines']} lines, the file has {lines}")
    print(f"| {label} | {report['lines']:,} | {run.wall:.2f} | {size / 1e6 / run.wall:,.0f} | "
          f"{run.wall / (size / 2**30):.2f} | {run.peak_list()} |", flush=True)


def main() -> None:
    args = docopt(__doc__)
    port, local = int(args["--port"]), int(args["--local"])
    made = []
    print(f"{os.cpu_count()} CPUs\n")
    print("| size, workers | lines | wall s | MB/s | s per GiB | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---|")
    try:
        for text in args["--sizes"].split(","):
            size = parse_size(text)
            existed = os.path.exists(log_path(size))
            path = ensure_log(size)
            if not existed and size > 1 << 30:
                made.append(path)
            run_row(f"{text}, --local {local}", path, local, port)
            if not args["--keep"] and path in made:  # the page cache is wanted for the next ones
                os.remove(path)
        one = ensure_log(1 << 30)
        for n in args["--workers"].split(","):
            run_row(f"1GiB, --local {n}", one, int(n), port)
    finally:
        for path in made:
            if not args["--keep"] and os.path.exists(path):
                os.remove(path)


if __name__ == "__main__":
    main()
