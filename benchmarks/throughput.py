#!/usr/bin/env python3
"""End-to-end throughput and memory of lograd on a generated app log.

Usage:
  benchmarks/throughput.py [--size SIZE] [--local N] [--chunk-size SIZE] [--port PORT] [--keep]

Options:
  --size SIZE        Log size to generate (reused if present) [default: 1GB].
  --local N          Worker processes [default: 2].
  --chunk-size SIZE  Passed to the coordinator (default: its own choice).
  --port PORT        Base port [default: 27555].
  --keep             Keep the generated file in benchmarks/data/.

Prints wall seconds, MB/s and the peak RSS of the coordinator and of each
worker, sampled every 50 ms with psutil. Run with the page cache warm (the
script reads the file once before timing).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import psutil
from docopt import docopt

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from lograd.config import parse_size  # noqa: E402
from lograd.generate import generate_test_logs  # noqa: E402


def ensure_log(size: int) -> str:
    data = os.path.join(ROOT, "benchmarks", "data")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, f"app-{size}.log")
    if not os.path.exists(path):
        print(f"generating {size / 1e6:,.0f} MB log at {path} ...", file=sys.stderr)
        generate_test_logs(size / 1e6, path, "error_spike", seed=7)
    with open(path, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    return path


def run_lograd(path: str, local: int, port: int, chunk: str | None) -> dict:
    cmd = [sys.executable, os.path.join(ROOT, "bin", "lograd-coordinator"), "--local", str(local),
           "--port", str(port), "--json", path]
    if chunk:
        cmd[2:2] = ["--chunk-size", chunk]
    out_file, err_file = tempfile.TemporaryFile(), tempfile.TemporaryFile()  # a pipe could fill and stall it
    began = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out_file, stderr=err_file)
    peaks: dict[int, tuple[str, float]] = {}
    try:
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                family = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            for p in family:
                try:
                    rss = p.memory_info().rss / 2**20
                    name = "coordinator" if p.pid == proc.pid else f"worker {p.pid}"
                    peaks[p.pid] = (name, max(rss, peaks.get(p.pid, ("", 0.0))[1]))
                except psutil.Error:
                    pass
            time.sleep(0.05)
        proc.wait()
        out_file.seek(0)
        err_file.seek(0)
        out, err = out_file.read(), err_file.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    wall = time.monotonic() - began
    if proc.returncode != 0:
        raise SystemExit(f"lograd failed ({proc.returncode}): {err.decode()[-500:]}")
    report = json.loads(out)
    return {"wall": wall, "report": report, "peaks": sorted(peaks.values())}


def main() -> None:
    args = docopt(__doc__)
    size = parse_size(args["--size"])
    path = ensure_log(size)
    actual = os.path.getsize(path)
    result = run_lograd(path, int(args["--local"]), int(args["--port"]), args["--chunk-size"])
    job = result["report"]["job"]
    print(f"file: {path} ({actual / 1e6:,.1f} MB), {args['--local']} local workers, "
          f"{job['chunks']} chunks ({job['retried_chunks']} retried, {job['late_results']} late results), "
          f"{os.cpu_count()} CPUs")
    print(f"{'tool':<12}{'wall s':>9}{'MB/s':>9}{'peak RSS MB (each process)':>30}")
    peaks = ", ".join(f"{name.split()[0]} {rss:.0f}" for name, rss in result["peaks"])
    print(f"{'lograd':<12}{result['wall']:>9.2f}{actual / 1e6 / result['wall']:>9.1f}   {peaks}")
    print(f"entries {result['report']['entries']:,}, malformed {result['report']['malformed_lines']:,}, "
          f"error_rate {result['report']['error_rate']:.4f}")
    if not args["--keep"] and actual < 50e6:
        os.remove(path)


if __name__ == "__main__":
    main()
