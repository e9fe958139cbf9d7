#!/usr/bin/env python3
"""Peak memory of every lograd process, for chunk sizes from small to huge.

Usage:
  benchmarks/memory.py [--size SIZE] [--local N] [--chunks LIST] [--port PORT]

Options:
  --size SIZE     Log size, generated once into benchmarks/data/ [default: 1GiB].
  --local N       Worker processes [default: 2].
  --chunks LIST   Comma-separated chunk sizes; "auto" is the coordinator's choice
                  [default: auto,1MiB,64MiB,512MiB].
  --port PORT     Base port [default: 27565].

Each process's peak RSS is Linux's VmHWM, read every 0.1 s with the process
alive, so no spike between samples is missed. Workers read a chunk in 1 MiB
blocks into one buffer, so their memory should not follow the chunk size; the
coordinator's follows the time the log covers (per-second counts), not its size.
"""
from __future__ import annotations

import json
import os
import sys

from docopt import docopt

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import ensure_log, lograd_command, lograd_label, measure  # noqa: E402
from lograd.config import parse_size  # noqa: E402


def main() -> None:
    args = docopt(__doc__)
    path = ensure_log(parse_size(args["--size"]))
    size = os.path.getsize(path)
    print(f"file: {path} ({size / 1e6:,.1f} MB), --local {args['--local']}\n")
    print("| chunk size | chunks | wall s | peak RSS MiB |")
    print("|---|---:|---:|---|")
    for chunk in args["--chunks"].split(","):
        extra = [] if chunk == "auto" else ["--chunk-size", chunk]
        run = measure(lograd_command(path, int(args["--local"]), int(args["--port"]), *extra), lograd_label)
        if run.status != 0:
            raise SystemExit(f"lograd failed ({run.status}): {run.err.decode()[-800:]}")
        job = json.loads(run.out)["job"]
        print(f"| {chunk} | {job['chunks']} | {run.wall:.2f} | {run.peak_list()} |")


if __name__ == "__main__":
    main()
