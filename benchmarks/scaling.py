#!/usr/bin/env python3
"""Time and memory against input size: they should be linear and flat.

Usage:
  benchmarks/scaling.py [--sizes LIST] [--local N] [--port PORT]

Options:
  --sizes LIST   Comma-separated log sizes, generated once into benchmarks/data/
                 [default: 256MiB,1GiB,4GiB].
  --local N      Worker processes [default: 2].
  --port PORT    Base port [default: 27575].

For each size: lograd's wall time, MB/s, seconds per GiB and each process's
peak RSS. Each report's line count is checked against the file's newlines.
"""
from __future__ import annotations

import json
import os
import sys

from docopt import docopt

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import ensure_log, lograd_command, lograd_label, measure  # noqa: E402
from lograd.config import parse_size  # noqa: E402


def count_lines(path: str) -> int:
    """Lines in a file (a last line without a newline counts too)."""
    count, last = 0, b"\n"
    with open(path, "rb") as f:
        while block := f.read(1 << 24):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def main() -> None:
    args = docopt(__doc__)
    print(f"--local {args['--local']}, {os.cpu_count()} CPUs\n")
    print("| size | lines | wall s | MB/s | s per GiB | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---|")
    for text in args["--sizes"].split(","):
        path = ensure_log(parse_size(text))
        size = os.path.getsize(path)
        run = measure(lograd_command(path, int(args["--local"]), int(args["--port"])), lograd_label)
        if run.status != 0:
            raise SystemExit(f"lograd failed ({run.status}): {run.err.decode()[-800:]}")
        report = json.loads(run.out)
        if report["lines"] != count_lines(path):
            raise SystemExit(f"{path}: lograd counted {report['lines']} lines, the file has {count_lines(path)}")
        print(f"| {text} | {report['lines']:,} | {run.wall:.2f} | {size / 1e6 / run.wall:,.0f} | "
              f"{run.wall / (size / 2**30):.2f} | {run.peak_list()} |", flush=True)


if __name__ == "__main__":
    main()
