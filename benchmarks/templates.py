#!/usr/bin/env python3
"""Message templates beside Drain3 (issue #17): grouping accuracy, lines per second, and
what counting templates costs each format.

Usage:
  benchmarks/templates.py [--lines N] [--seed N] [--size SIZE] [--runs N] [--formats LIST] [--port PORT]
  benchmarks/templates.py --loghub <csv>...

Options:
  --lines N        Messages to group for the accuracy table [default: 200000].
  --seed N         Random seed [default: 7].
  --size SIZE      The log lograd and Drain3 both read, and each format's log for
                   the cost table [default: 1GiB].
  --runs N         lograd runs of each kind; the median and the spread [default: 3].
  --formats LIST   Formats of the cost table, or none [default: app,text,syslog,logfmt,json,cri].
  --port PORT      lograd's base port [default: 27765].
  --loghub         Only the accuracy, on LogHub's labelled samples: each <csv>
                   one of their *_2k.log_structured.csv files (Content and
                   EventId columns).

Three tables. Grouping accuracy on --lines messages. Speed on one log of --size
made of those templates (an app log: time, level, message): lograd --local 2
with templates and with --no-templates, and Drain3 on the same file's messages,
lines per second side by side. And for each format's benchmark log
(benchmarks/formats.py's), lograd with and without templates: what they cost.

The messages come from 24 templates written here the way services log (timeouts
with durations and addresses, user ids, paths, UUIDs, quoted names, key=value
pairs, stack-trace heads), their values drawn at random: each message's true
group is the template it came from. Grouping accuracy is LogHub's measure (Zhu et
al., "Tools and Benchmarks for Automated Log Parsing"): the share of messages
whose predicted group holds exactly the messages of its true group. Drain3 runs
with its default settings (`drain3.TemplateMiner()`, one process, messages in
file order), as its README shows; `pip install drain3` (the `bench` extra).
"""
from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import time
from collections import defaultdict

from docopt import docopt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from benchmarks.common import ROOT, ensure_log, lograd_command, run_lograd  # noqa: E402
from lograd._scanner import template_bytes as scanned_template  # noqa: E402
from lograd.config import parse_size  # noqa: E402
from lograd.templates import template_of  # noqa: E402

TEMPLATES = [
    "Timeout after {ms} ms calling {ip}:{port}",
    "Request processed in {ms}ms",
    "GET /api/users/{n} completed in {ms}ms",
    "User {n} logged in from {ip}",
    "User {n} logged out",
    "Connection refused to {host}:{port}",
    "Database connection failed: timeout after {s}s",
    "Cache miss for key user:{n}",
    "Session {uuid} expired",
    "Resource usage cpu={pct}% mem={n}MB",
    "Failed to open /var/data/part-{n}.parquet",
    "Retrying request {uuid} (attempt {a}/5)",
    "Upstream \"{name}\" returned 502",
    "Sent {n} bytes to {ip}",
    "Worker {name} started with pid {n}",
    "Worker {name} stopped",
    "java.lang.NullPointerException at com.example.Handler.handle(Handler.java:{n})",
    "Payment {hex} declined: insufficient funds",
    "Order {n} shipped to {email}",
    "Slow query took {ms}ms: SELECT * FROM orders WHERE id = {n}",
    "Health check ok",
    "Configuration reloaded",
    "Disk usage at {pct}% on /dev/sda{a}",
    "Rate limit exceeded for client {ip}",
]
NAMES = ["primary", "replica", "alpha", "beta", "gamma", "db-main", "search"]
HOSTS = ["db", "cache", "auth", "billing", "search"]


def messages(count: int, seed: int) -> tuple[list[str], list[int]]:
    rng = random.Random(seed)
    lines, truth = [], []
    for _ in range(count):
        t = rng.randrange(len(TEMPLATES))
        values = {"ms": rng.randint(1, 30000), "ip": f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                  "port": rng.choice([5432, 6379, 443, 8080]), "n": rng.randint(1, 10 ** 6),
                  "host": rng.choice(HOSTS), "s": rng.randint(1, 60),
                  "uuid": "%08x-%04x-4%03x-a%03x-%012x" % tuple(rng.getrandbits(b) for b in (32, 16, 12, 12, 48)),
                  "pct": round(rng.uniform(0, 100), 1), "a": rng.randint(1, 5), "name": rng.choice(NAMES),
                  "hex": "%016x" % rng.getrandbits(64), "email": f"user{rng.randint(1, 999)}@example.com"}
        lines.append(TEMPLATES[t].format(**values))
        truth.append(t)
    return lines, truth


def grouping_accuracy(predicted: list, truth: list[int]) -> float:
    """LogHub's grouping accuracy: messages whose predicted group is exactly their true group."""
    by_predicted, by_truth = defaultdict(set), defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth)):
        by_predicted[p].add(i)
        by_truth[t].add(i)
    right = sum(len(members) for members in by_predicted.values()
                if by_truth[truth[next(iter(members))]] == members)
    return right / len(truth)


def main() -> int:
    args = docopt(__doc__)
    if args["--loghub"]:
        for path in args["<csv>"]:
            with open(path, newline="", encoding="utf-8") as f:
                rows = list(csv.DictReader(f))
            events = {e: i for i, e in enumerate(dict.fromkeys(r["EventId"] for r in rows))}
            accuracy_of(os.path.basename(path), [r["Content"] for r in rows], [events[r["EventId"]] for r in rows])
        return 0
    seed, runs, port = int(args["--seed"]), int(args["--runs"]), int(args["--port"])
    accuracy(int(args["--lines"]), seed)
    size = parse_size(args["--size"])
    speed(template_log(size, seed), runs, port)
    formats = [f for f in args["--formats"].split(",") if f and f != "none"]
    if formats:
        cost(formats, size, runs, port)
    return 0


def accuracy(count: int, seed: int) -> None:
    lines, truth = messages(count, seed)
    accuracy_of(f"{len(lines):,} messages from {len(TEMPLATES)} templates (seed {seed})", lines, truth)


def accuracy_of(title: str, lines: list[str], truth: list[int]) -> None:
    rows = []
    began = time.perf_counter()
    ours = [template_of(line.encode()) for line in lines]
    rows.append(("lograd template_of (one process, Python)", time.perf_counter() - began, ours))
    encoded = [line.encode() for line in lines]
    began = time.perf_counter()
    scanned = [scanned_template(line) for line in encoded]
    rows.append(("lograd's scanner (one call a message)", time.perf_counter() - began, scanned))
    miner = drain_miner()
    if miner is not None:
        began = time.perf_counter()
        ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
        rows.append(("Drain3 (defaults, one process)", time.perf_counter() - began, ids))
    print(f"Grouping: {title}\n")
    print("| grouper | groups | grouping accuracy | lines/s |")
    print("|---|---:|---:|---:|")
    for name, seconds, groups in rows:
        print(f"| {name} | {len(set(groups)):,} | {grouping_accuracy(groups, truth):.3f} | {len(lines) / seconds:,.0f} |")
    print(flush=True)


def drain_miner():
    try:
        from drain3 import TemplateMiner
    except ImportError:
        print("drain3 is not installed (pip install drain3): lograd alone", file=sys.stderr)
        return None
    return TemplateMiner()


def template_log(size: int, seed: int) -> str:
    """An app log of about ``size`` bytes whose messages come from TEMPLATES (made once)."""
    data = os.path.join(ROOT, "benchmarks", "data")
    os.makedirs(data, exist_ok=True)
    path = os.path.join(data, f"templates-{size}.log")
    if not os.path.exists(path):
        print(f"generating {size / 1e6:,.0f} MB of templated app log at {path} ...", file=sys.stderr, flush=True)
        from lograd.timestamps import format_ms
        written, ms, batch = 0, 1_706_090_400_000, 100_000
        levels = ["INFO"] * 17 + ["WARN", "ERROR", "DEBUG"]
        with open(path + ".part", "w") as f:
            while written < size:
                lines, _ = messages(batch, seed + written)
                rng = random.Random(written)
                chunk = "".join(f"{format_ms(ms + i * 7).replace('T', ' ')} {rng.choice(levels)} {line}\n"
                                for i, line in enumerate(lines))
                ms += batch * 7
                f.write(chunk)
                written += len(chunk)
        os.replace(path + ".part", path)
    with open(path, "rb") as f:  # warm the page cache
        while f.read(1 << 24):
            pass
    return path


def speed(path: str, runs: int, port: int) -> None:
    with open(path, "rb") as f:
        lines = sum(block.count(b"\n") for block in iter(lambda: f.read(1 << 24), b""))
    mb = os.path.getsize(path) / 1e6
    print(f"Speed: {mb:,.0f} MB app log of {lines:,} lines from the same templates\n")
    print("| tool | wall s (median) | spread | lines/s | MB/s |")
    print("|---|---:|---|---:|---:|")
    walls = {}
    for label, extra in (("lograd --local 2, templates", []), ("lograd --local 2, --no-templates", ["--no-templates"])):
        _, done = run_lograd(lograd_command(path, 2, port, *extra), runs)
        times = sorted(r.wall for r in done)
        walls[label] = statistics.median(times)
        print(f"| {label} | {walls[label]:.2f} | {times[0]:.2f}-{times[-1]:.2f} | {lines / walls[label]:,.0f} | "
              f"{mb / walls[label]:,.0f} |", flush=True)
    miner = drain_miner()
    if miner is not None:
        began = time.perf_counter()
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:  # the message: after the time (two fields) and the level
                miner.add_log_message(line.split(" ", 3)[3].rstrip("\n"))
        drain = time.perf_counter() - began
        print(f"| Drain3 (defaults, one process: it cannot split the work) | {drain:.2f} | one run | "
              f"{lines / drain:,.0f} | {mb / drain:,.1f} |")
        print(f"\nlograd with templates is {drain / walls['lograd --local 2, templates']:.0f} times Drain3 "
              f"on this file; {len(miner.drain.clusters)} Drain3 clusters")
    print(flush=True)


def cost(formats: list[str], size: int, runs: int, port: int) -> None:
    """Each format's log read with and without templates, the two kinds of run alternating
    (so a busy minute on this shared machine falls on both): the median wall time, and the
    median CPU seconds of the whole job (coordinator and workers), steadier than wall."""
    print("Cost: each format's benchmark log, lograd --local 2, with and without templates "
          "(runs alternating)\n")
    print("| format | MB | wall s with | wall s without | MB/s with | MB/s without | throughput lost "
          "| CPU s with | CPU s without | CPU added |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for fmt in formats:
        path = ensure_log(size, fmt=fmt)
        mb = os.path.getsize(path) / 1e6
        done: dict[bool, list] = {True: [], False: []}
        for _ in range(runs):
            for on in (True, False):
                done[on].append(run_lograd(lograd_command(path, 2, port, *([] if on else ["--no-templates"])), 1)[0])
        wall_on, wall_off = (statistics.median(r.wall for r in done[on]) for on in (True, False))
        cpu_on, cpu_off = (statistics.median(r.cpu for r in done[on]) for on in (True, False))
        print(f"| {fmt} | {mb:,.0f} | {wall_on:.2f} | {wall_off:.2f} | {mb / wall_on:,.0f} | {mb / wall_off:,.0f} | "
              f"{100 * (1 - wall_off / wall_on):.0f}% | {cpu_on:.2f} | {cpu_off:.2f} | "
              f"{100 * (cpu_on / cpu_off - 1):.0f}% |", flush=True)


if __name__ == "__main__":
    sys.exit(main())
