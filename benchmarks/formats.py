#!/usr/bin/env python3
"""lograd's speed and memory per input format (issue #14): one row per format.

Usage:
  benchmarks/formats.py [--size SIZE] [--local N] [--port PORT] [--runs N] [--formats LIST]

Options:
  --size SIZE      Log size per format, generated once into benchmarks/data/ [default: 1GiB].
  --local N        lograd's worker processes [default: 2].
  --port PORT      Base port [default: 27655].
  --runs N         Runs per row; the median and the spread are shown [default: 5].
  --formats LIST   Rows to run, of app, conn, json, text, logfmt, syslog, cri,
                   access, text.gz, text.zst
                   [default: app,conn,json,text,logfmt,syslog,cri,access,text.gz,text.zst].

Each log comes from lograd-generate (seed 7, error_spike profile): the same
app content as each format writes it (text as log4j with four-line stack traces
on error entries, logfmt as Go's logfmt, syslog as RFC 5424 from five hosts,
cri as Kubernetes lines around the text log; access is benchmarks/access_log.py's
nginx log). The
.gz/.zst rows compress the text log once (gzip -6, zstd -3) and print the
decompressor's own rate beside lograd's: a compressed file is one chunk, so one
worker reads it and the row is bound by one core's parsing, not by the
decompressor. MB/s counts the bytes lograd parses (decompressed); peak RSS is
VmHWM of every process. Beside each 1 GiB row: its time before issue #20 (the
same command, best of 3, on 2026-12-07 at 05:25, commit 327a707; access: the
median of 3 of benchmarks/access.py then) and how many times faster the median
is now (the issue asks at least 1.5x).
"""
from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import time

from docopt import docopt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

import statistics  # noqa: E402

from benchmarks.access import ensure_access_log  # noqa: E402
from benchmarks.common import ensure_log, lograd_command, run_lograd  # noqa: E402
from lograd.config import parse_size  # noqa: E402

BEFORE = {"app": 4.05, "conn": 2.48, "json": 3.31, "text": 3.94, "logfmt": 3.93, "syslog": 3.64, "cri": 3.43,
          "access": 3.22, "text.gz": 7.47, "text.zst": 8.63}
"""Wall seconds of each row on 1 GiB before issue #20 (see the module docstring)."""


def compressed(path: str, kind: str) -> str:
    """``path`` compressed once beside it (gzip -6 or zstd -3)."""
    out = f"{path}.{kind}"
    if not os.path.exists(out):
        print(f"compressing {path} -> {out} ...", file=sys.stderr, flush=True)
        with open(path, "rb") as src, open(out + ".part", "wb") as dst:
            if kind == "gz":
                with gzip.GzipFile(fileobj=dst, mode="wb", compresslevel=6) as z:
                    shutil.copyfileobj(src, z, 1 << 20)
            else:
                import zstandard
                zstandard.ZstdCompressor(level=3).copy_stream(src, dst)
        os.replace(out + ".part", out)
    return out


def decompress_rate(path: str, kind: str) -> str:
    """MB/s of decompressed output, the decompressor alone (one core), and zlib's for gzip."""
    from lograd.compression import decompressed

    def rate(opener) -> float:
        began, n = time.perf_counter(), 0
        with open(path, "rb") as raw, opener(raw) as stream:
            while True:
                block = stream.read(1 << 20)
                if not block:
                    break
                n += len(block)
        return n / 1e6 / (time.perf_counter() - began)
    mine = rate(lambda raw: decompressed(raw, "gzip" if kind == "gz" else "zstd"))
    if kind == "gz":
        return f"isal {mine:,.0f} MB/s (zlib {rate(lambda raw: gzip.GzipFile(fileobj=raw)):,.0f})"
    return f"zstandard {mine:,.0f} MB/s"


def main() -> None:
    args = docopt(__doc__)
    size = parse_size(args["--size"])
    print("| format | file MB | parsed MB | wall s (median) | spread | MB/s | before #20 | × |"
          " peak RSS MiB (coordinator, workers) | entries | note |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---|---:|---|")
    for row in args["--formats"].split(","):
        fmt, _, kind = row.partition(".")
        plain = ensure_access_log(size) if fmt == "access" else ensure_log(size, fmt=fmt)
        path = compressed(plain, kind) if kind else plain
        _, runs = run_lograd(lograd_command(path, int(args["--local"]), int(args["--port"])), int(args["--runs"]))
        walls = sorted(r.wall for r in runs)
        median = statistics.median(walls)
        middle = runs[[r.wall for r in runs].index(walls[len(walls) // 2])]  # a run at the median
        report = json.loads(middle.out)
        parsed = os.path.getsize(plain)
        note = decompress_rate(path, kind) if kind else ""
        before = BEFORE.get(row) if size == 1 << 30 else None
        print(f"| {row} | {os.path.getsize(path) / 1e6:,.0f} | {parsed / 1e6:,.0f} | {median:.2f} | "
              f"{walls[0]:.2f}-{walls[-1]:.2f} | {parsed / 1e6 / median:,.0f} | "
              f"{'' if before is None else f'{before:.2f}'} | {'' if before is None else f'{before / median:.2f}'} | "
              f"{middle.peak_list()} | {report['entries']:,} | {note} |", flush=True)


if __name__ == "__main__":
    main()
