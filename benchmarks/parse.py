#!/usr/bin/env python3
"""One core's parsing speed per format: the compiled path (with and without templates)
and, for app, the exact per-line path.

Usage:
  benchmarks/parse.py [--size SIZE] [--formats LIST] [--runs N]

Options:
  --size SIZE      Log size per format, generated once into benchmarks/data/ [default: 64MiB].
  --formats LIST   Comma-separated formats, of app, text, json, logfmt, syslog, cri
                   [default: app,text,json,logfmt,syslog,cri].
  --runs N         Runs of each row; the median is shown, and the spread [default: 5].

No processes, no sockets: the file's bytes, already in memory, are read as a
worker reads its chunks (32 MiB each, in 1 MiB blocks of whole lines, each
chunk's tally folded into its partial when it ends), in this process, on one
core (CPU seconds, not wall). The exact per-line path runs on the first 16 MiB
only (it is slow).
"""
from __future__ import annotations

import os
import statistics
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as lograd's processes run numpy

from docopt import docopt

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.common import ensure_log  # noqa: E402
from lograd.aggregate import Partial  # noqa: E402
from lograd.config import parse_size  # noqa: E402
from lograd.formats import Reading, get  # noqa: E402
from lograd.formats.app import summarise_app  # noqa: E402

BLOCK = 1 << 20
CHUNK = 32 << 20
FILE_FORMAT = {"cri": "cri+text"}
"""The format each generated log is read as (the cri log wraps the text log)."""


def blocks(data: bytes, size: int) -> list[bytes]:
    """``data`` cut into blocks of whole lines of about ``size`` bytes."""
    out, at = [], 0
    while at < len(data):
        end = data.rfind(b"\n", at, at + size) + 1 if at + size < len(data) else len(data)
        end = end if end > at else len(data)
        out.append(data[at:end])
        at = end
    return out


def read_chunks(fmt: str, parts: list[bytes], templates: bool) -> None:
    """Read ``parts`` (1 MiB blocks) as a worker reads its chunks: a partial and a reading per
    CHUNK bytes, finished at the chunk's end."""
    f = get(fmt)
    base, done = 0, 0
    partial, reading = Partial(count_templates=templates), Reading(0, (), 0)
    for part in parts:
        f.add_block(partial, part, base, reading, None)
        base += len(part)
        done += len(part)
        if done >= CHUNK:
            f.finish(partial, reading)
            partial, reading, done = Partial(count_templates=templates), Reading(0, (), 0), 0
    f.finish(partial, reading)


def rates(fn, size: int, runs: int) -> list[float]:
    """MB/s of ``runs`` runs of ``fn()`` reading ``size`` bytes, by CPU seconds."""
    out = []
    for _ in range(runs):
        began = time.process_time()
        fn()
        out.append(size / 1e6 / (time.process_time() - began))
    return out


def cell(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}-{max(values):,.0f})"


def main() -> None:
    args = docopt(__doc__)
    size, runs = parse_size(args["--size"]), int(args["--runs"])
    print(f"one core, {BLOCK >> 20} MiB blocks, {CHUNK >> 20} MiB chunks; MB/s by CPU seconds, median of {runs} "
          "(spread)\n")
    print("| format | file MB | compiled, templates counted | compiled, --no-templates |")
    print("|---|---:|---:|---:|")
    app_data = None
    for name in args["--formats"].split(","):
        with open(ensure_log(size, fmt=name), "rb") as f:
            data = f.read()
        if name == "app":
            app_data = data
        parts = blocks(data, BLOCK)
        fmt = FILE_FORMAT.get(name, name)
        with_templates = rates(lambda: read_chunks(fmt, parts, True), len(data), runs)
        without = rates(lambda: read_chunks(fmt, parts, False), len(data), runs)
        print(f"| {fmt} | {len(data) / 1e6:,.0f} | {cell(with_templates)} | {cell(without)} |", flush=True)
    if app_data is not None:
        sample = blocks(app_data[:16 << 20], BLOCK)
        exact = rates(lambda: [summarise_app(part) for part in sample], sum(map(len, sample)), 1)
        print(f"\nThe exact per-line path (app, first 16 MiB, templates counted): {exact[0]:,.1f} MB/s.")


if __name__ == "__main__":
    main()
