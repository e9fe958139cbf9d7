#!/usr/bin/env python3
"""A realistic nginx access log (combined, then ``$request_time``) for benchmarks and tests.

Usage:
  benchmarks/access_log.py [--size SIZE] [--seed N] <path>

Options:
  --size SIZE   Bytes to write, about [default: 100MiB].
  --seed N      Random seed: the same seed gives the same file [default: 7].

Clients and paths follow Zipf-like popularity (a few very busy, a long tail); paths
carry numeric, hex and UUID ids; statuses are mostly 2xx and 3xx with 4xx from
scanners and a 5xx spike in the middle fifth of the time; request times are
log-normal (median ~40 ms, 5xx slower); user agents are real browsers', bots' and
tools'; 1 request in 500 is a TLS handshake or junk (method INVALID).
"""
from __future__ import annotations

import os
import sys

import numpy as np
from docopt import docopt

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from lograd.config import parse_size  # noqa: E402

START = 1706090400  # 2024-01-24T10:00:00Z
RATE = 3000  # requests a second
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/1.1", "kube-probe/1.29", "-",
]
REFERRERS = ["-", "-", "-", "https://shop.example/", "https://shop.example/cart", "https://www.google.com/"]
TEMPLATES = ["/api/users/{n}", "/api/orders/{n}", "/api/items/{n}", "/static/app.{h}.js", "/", "/health",
             "/api/search?q=shoes&page={n}", "/api/sessions/{u}", "/login", "/api/cart", "/images/{n}.png",
             "/api/items/{n}/reviews", "/metrics", "/favicon.ico", "/wp-login.php", "/.env"]
METHODS = ["GET"] * 8 + ["POST", "PUT", "DELETE", "HEAD"]
MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def _zipf(rng: np.random.Generator, n: int, size: int, a: float = 1.2) -> np.ndarray:
    """Indexes 0..n-1, the first ones far more likely (a bounded Zipf)."""
    weights = 1.0 / np.arange(1, n + 1) ** a
    return rng.choice(n, size=size, p=weights / weights.sum())


def _stamp(second: int) -> str:
    import time
    t = time.gmtime(second)
    return f"{t.tm_mday:02d}/{MONTHS[t.tm_mon - 1]}/{t.tm_year}:{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} +0000"


def batch(rng: np.random.Generator, first: int, n: int, total: int) -> list[str]:
    """``n`` lines, the ``first``-th request onwards of about ``total``."""
    index = np.arange(first, first + n)
    seconds = START + index // RATE
    clients = _zipf(rng, 5000, n)
    templates = _zipf(rng, len(TEMPLATES), n, 1.0)
    ids = _zipf(rng, 100_000, n, 1.1)
    spike = (index > total * 0.4) & (index < total * 0.6)
    status = rng.choice([200, 200, 200, 200, 200, 200, 201, 204, 301, 302, 304, 304, 400, 401, 403, 404, 404, 499,
                         500, 502, 503], size=n)
    status = np.where(status >= 500, np.where(rng.random(n) < 0.2, status, 200), status)  # 5xx rare...
    status = np.where(spike & (rng.random(n) < 0.15), rng.choice([500, 502, 503, 504], size=n), status)  # ...but
    rt = np.exp(rng.normal(np.log(0.040), 0.9, n)) * np.where(status >= 500, 8, 1)
    sent = np.where(status == 304, 0, rng.integers(100, 60_000, n))
    agents = _zipf(rng, len(AGENTS), n, 0.8)
    referrers = rng.integers(0, len(REFERRERS), n)
    methods = rng.integers(0, len(METHODS), n)
    junk = rng.random(n) < 0.002
    stamps = {}
    lines = []
    for i, (sec, c, t, k, st, r, b, a, ref, m, bad) in enumerate(zip(
            seconds.tolist(), clients.tolist(), templates.tolist(), ids.tolist(), status.tolist(), rt.tolist(),
            sent.tolist(), agents.tolist(), referrers.tolist(), methods.tolist(), junk.tolist())):
        stamp = stamps.get(sec) or stamps.setdefault(sec, _stamp(sec))
        client = f"10.{c >> 16 & 255}.{c >> 8 & 255}.{c & 255}" if c % 7 else f"2001:db8::{c:x}"
        if bad:
            request = "\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xfc\\x03\\x03"
            st, r = 400, 0.0
        else:
            path = TEMPLATES[t].format(n=k, h=f"{k * 2654435761 % 2**32:08x}",
                                       u=f"{k:08x}-{k % 65536:04x}-4{k % 4096:03x}-a{k % 4096:03x}-{k * 7:012x}"[:36])
            request = f"{METHODS[m]} {path} HTTP/1.1"
        lines.append(f'{client} - - [{stamp}] "{request}" {st} {b} "{REFERRERS[ref]}" "{AGENTS[a]}" {r:.3f}\n')
    return lines


def write_access_log(path: str, size: int, seed: int = 7) -> int:
    """Write about ``size`` bytes of access log to ``path``; the number of lines."""
    rng = np.random.default_rng(seed)
    total = max(1, size // 200)  # about 200 bytes a line
    written = lines = 0
    with open(path, "w", encoding="ascii") as f:
        while written < size:
            chunk = batch(rng, lines, 50_000, total)
            text = "".join(chunk)
            if written + len(text) > size:  # the last batch: only whole lines up to the size
                keep = []
                for line in chunk:
                    if written + len(line) > size:
                        break
                    keep.append(line)
                    written += len(line)
                f.write("".join(keep))
                lines += len(keep)
                break
            f.write(text)
            written += len(text)
            lines += len(chunk)
    return lines


def main() -> int:
    args = docopt(__doc__)
    lines = write_access_log(args["<path>"], parse_size(args["--size"]), int(args["--seed"]))
    print(f"{lines:,} lines in {args['<path>']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
