#!/usr/bin/env python3
"""lograd beside GoAccess on one nginx access log (issue #16), answers compared.

Usage:
  benchmarks/access.py [--size SIZE] [--local N] [--port PORT] [--runs N] [--no-goaccess]

Options:
  --size SIZE     Log size, generated once into benchmarks/data/ [default: 1GiB].
  --local N       lograd's worker processes [default: 2].
  --port PORT     lograd's base port [default: 27755].
  --runs N        lograd runs; the median and the spread are shown [default: 3].
  --no-goaccess   Only lograd (GoAccess reads about 11 MB/s here: 1 GiB takes ~100 s).

The log comes from benchmarks/access_log.py (seed 7): nginx combined with
$request_time. GoAccess 1.7 (Debian's `goaccess`; `apt-get install goaccess`)
runs as a user would for that layout, once, with its JSON output:

    goaccess LOG --log-format='%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T'
                 --date-format=%d/%b/%Y --time-format=%H:%M:%S -o report.json

The answers both give must be equal — requests, and requests per status class —
or the script says where they differ. Peak RSS is VmHWM of every process.
"""
from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import tempfile

from docopt import docopt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.access_log import write_access_log  # noqa: E402
from benchmarks.common import ROOT, lograd_command, measure, run_lograd  # noqa: E402
from lograd.config import parse_size  # noqa: E402

GOACCESS_FORMAT = ['--log-format=%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T', "--date-format=%d/%b/%Y",
                   "--time-format=%H:%M:%S"]
CLASSES = {"2xx Success": "2", "3xx Redirection": "3", "4xx Client Errors": "4", "5xx Server Errors": "5",
           "1xx Informational": "1"}


def ensure_access_log(size: int) -> str:
    data = os.path.join(ROOT, "benchmarks", "data")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, f"access-{size}.log")
    if not os.path.exists(path):
        print(f"generating {size / 1e6:,.0f} MB access log at {path} ...", file=sys.stderr, flush=True)
        write_access_log(path + ".part", size, seed=7)
        os.replace(path + ".part", path)
    with open(path, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    return path


def lograd_answers(report: dict) -> dict:
    classes: dict[str, int] = {}
    for code, n in report["status_codes"].items():
        classes[code[0]] = classes.get(code[0], 0) + n
    return {"requests": report["total_requests"], "classes": classes}


def goaccess_answers(report: dict) -> dict:
    return {"requests": report["general"]["valid_requests"],
            "classes": {CLASSES[row["data"]]: row["hits"]["count"] for row in report["status_codes"]["data"]}}


def main() -> int:
    args = docopt(__doc__)
    size = parse_size(args["--size"])
    path = ensure_access_log(size)
    mb = os.path.getsize(path) / 1e6
    fastest, runs = run_lograd(lograd_command(path, int(args["--local"]), int(args["--port"])), int(args["--runs"]))
    walls = sorted(r.wall for r in runs)
    median = statistics.median(walls)
    ours = lograd_answers(json.loads(fastest.out))
    rows = [("lograd --local " + args["--local"], median, f"{walls[0]:.2f}-{walls[-1]:.2f}", fastest.peak_list())]
    theirs = None
    if not args["--no-goaccess"]:
        if shutil.which("goaccess") is None:
            print("goaccess is not installed (apt-get install goaccess): lograd alone", file=sys.stderr)
        else:
            with tempfile.TemporaryDirectory() as tmp:
                out = os.path.join(tmp, "report.json")
                run = measure(["goaccess", path, *GOACCESS_FORMAT, "--no-global-config", "-o", out])
                if run.status != 0:
                    raise SystemExit(f"goaccess failed: {run.err.decode()[-500:]}")
                with open(out) as f:
                    theirs = goaccess_answers(json.load(f))
            rows.append(("goaccess 1.7", run.wall, "one run", run.peak_list()))
    print(f"{mb:,.0f} MB nginx access log (combined + $request_time), {ours['requests']:,} requests\n")
    print("| tool | wall s (median) | spread | MB/s | peak RSS MiB |")
    print("|---|---:|---|---:|---|")
    for name, wall, spread, peaks in rows:
        print(f"| {name} | {wall:.2f} | {spread} | {mb / wall:,.0f} | {peaks} |")
    if theirs is not None:
        print(f"\nlograd is {rows[1][1] / median:.1f}x GoAccess")
        same = ours == theirs
        print(f"answers equal (requests and each status class): {same}")
        if not same:
            print(f"  lograd   {ours}\n  goaccess {theirs}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
