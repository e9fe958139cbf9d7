#!/usr/bin/env python3
"""Message templates beside Drain3 (issue #17): grouping accuracy and lines per second.

Usage:
  benchmarks/templates.py [--lines N] [--seed N]

Options:
  --lines N   Messages to group [default: 200000].
  --seed N    Random seed [default: 7].

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

import os
import random
import sys
import time
from collections import defaultdict

from docopt import docopt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

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
    lines, truth = messages(int(args["--lines"]), int(args["--seed"]))
    rows = []
    began = time.perf_counter()
    ours = [template_of(line.encode()) for line in lines]
    rows.append(("lograd template_of (one process, exact path)", time.perf_counter() - began, ours))
    try:
        from drain3 import TemplateMiner
    except ImportError:
        print("drain3 is not installed (pip install drain3): lograd alone", file=sys.stderr)
    else:
        miner = TemplateMiner()
        began = time.perf_counter()
        ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
        rows.append(("Drain3 (defaults, one process)", time.perf_counter() - began, ids))
    print(f"{len(lines):,} messages from {len(TEMPLATES)} templates (seed {args['--seed']})\n")
    print("| grouper | groups | grouping accuracy | lines/s |")
    print("|---|---:|---:|---:|")
    for name, seconds, groups in rows:
        print(f"| {name} | {len(set(groups)):,} | {grouping_accuracy(groups, truth):.3f} | {len(lines) / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
