#!/usr/bin/env python3
"""One core's parsing speed: the compiled path against the exact per-line path.

Usage:
  benchmarks/parse.py [--size SIZE] [--blocks LIST]

Options:
  --size SIZE     Log size, generated once into benchmarks/data/ [default: 64MiB].
  --blocks LIST   Comma-separated block sizes for the compiled path
                  [default: 256KiB,512KiB,1MiB,2MiB,4MiB].

No processes, no sockets: the file's bytes are cut into blocks of whole lines
and summarised in this process, as a worker does with each chunk. The exact
per-line path runs on the first 16 MiB only (it is slow).
"""
from __future__ import annotations

import os
import sys
import time

from docopt import docopt

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import ensure_log  # noqa: E402
from lograd.formats.app import summarise_app, summarise_app_fast  # noqa: E402
from lograd.config import parse_size  # noqa: E402


def blocks(data: bytes, size: int) -> list[bytes]:
    out, at = [], 0
    while at < len(data):
        end = data.rfind(b"\n", at, at + size) + 1 if at + size < len(data) else len(data)
        end = end if end > at else len(data)
        out.append(data[at:end])
        at = end
    return out


def rate(fn, parts: list[bytes]) -> float:
    began = time.perf_counter()
    for part in parts:
        fn(part)
    return sum(map(len, parts)) / 1e6 / (time.perf_counter() - began)


def main() -> None:
    args = docopt(__doc__)
    with open(ensure_log(parse_size(args["--size"])), "rb") as f:
        data = f.read()
    print(f"{len(data) / 1e6:,.0f} MB, one core\n")
    print("| path | block | MB/s |")
    print("|---|---|---:|")
    for text in args["--blocks"].split(","):
        print(f"| compiled | {text} | {rate(summarise_app_fast, blocks(data, parse_size(text))):,.0f} |", flush=True)
    print(f"| exact per-line | 1MiB | {rate(summarise_app, blocks(data[:16 << 20], 1 << 20)):,.1f} |")


if __name__ == "__main__":
    main()
