"""Synthetic `app`, `conn` and `json` logs for demos, tests and benchmarks: deterministic per seed.

Lines are made a block at a time from numpy arrays (times, levels, message
kinds, response times), so a gigabyte takes seconds, not minutes.
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np

from .timestamps import format_ms

PROFILES = ("normal", "error_spike", "malformed")
FORMATS = ("app", "conn", "json", "text", "logfmt", "syslog", "cri")
CONN_HOSTS = 1000
CONN_LATE = 0.05
"""Share of conn lines written up to 5 minutes late (logs are out of order by minutes)."""
CONN_MAX_LATE_MS = 300_000
_SYLLABLES = ("ka", "ri", "to", "mu", "sa", "ne", "lo", "vi", "da", "qu", "ar", "ek", "zo", "pi", "ha", "ul")
BLOCK_LINES = 100_000
TYPICAL_LINE_BYTES = 58

# Response times are drawn in antithetic pairs around this mean, so a normal
# log's average response time is this value almost exactly (test vector check).
MEAN_RESPONSE_MS = 109
SPREAD_MS = 90

# Malformed profile: lines whose index modulo 23 is one of these are malformed
# (exactly 3 in every 23, so 230 lines hold 30 malformed ones).
MALFORMED_CYCLE = 23
MALFORMED_SLOTS = (5, 13, 20)

MALFORMED_LINES = (
    "garbage line {n}",
    "2024-13-45 10:15:32.123 INFO impossible date",
    "2024-01-24 10:15:32.123 LOUD unknown level {n}",
    "10:15:32 INFO no date",
    "2024-01-24 25:61:00 ERROR impossible time",
    "\x00\x0b\x0c",
    "2024-01-24 10:15:32.1234567890 INFO fraction of ten digits",
    "2023-02-29 10:00:00 INFO not a leap year",
)


def _templates(error_phase: bool) -> list[tuple[str, str, int]]:
    """(level, message template, weight); {rt} response time, {n} a number, {c} {m} resources."""
    items = [
        ("INFO", "Request processed in {rt}ms", 60),
        ("INFO", "GET /api/items/{n} completed in {rt}ms", 15),
        ("INFO", "User {n} logged in", 10),
        ("DEBUG", "Cache refreshed", 5),
        ("WARN", "Resource usage cpu={c}% mem={m}MB", 10),
    ]
    if error_phase:
        items += [("ERROR", "Database connection failed", 60),
                  ("ERROR", "Upstream call took {rt}ms and failed", 40)]
    return items


def generate_test_logs(size_mb: float, path: str, profile: str = "normal", seed: int = 1,
                       lines: int | None = None, rate: float = 50.0,
                       start: str = "2024-01-24T10:00:00", fmt: str = "app",
                       hosts: int = CONN_HOSTS) -> int:
    """Write a log of about ``size_mb`` MB (or exactly ``lines`` lines) to ``path``.

    ``rate`` is entries per second of log time; ``fmt`` is app, conn (``hosts``
    hosts of skewed popularity) or json (app content under SPEC §1's key
    aliases). Returns the bytes written.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    from .timestamps import parse_time_arg
    start_ms = parse_time_arg(start)
    target_bytes = None if lines is not None else int(size_mb * 1e6)
    total_lines = lines if lines is not None else int(target_bytes / TYPICAL_LINE_BYTES) + 1
    rng = np.random.default_rng(seed)
    names, weights = _hosts(rng, hosts) if fmt == "conn" else ([], None)
    written = 0
    index = 0
    with open(path, "wb") as out:
        # With a size, total_lines only places the error spike; lines go on until the size is reached.
        while (index < total_lines) if target_bytes is None else (written < target_bytes):
            count = BLOCK_LINES if target_bytes is not None else min(BLOCK_LINES, total_lines - index)
            if fmt == "conn":
                block = _conn_block(rng, index, count, start_ms, rate, names, weights)
            else:
                block = _block(rng, index, count, total_lines, start_ms, rate, profile, fmt)
            if target_bytes is not None and written + len(block) > target_bytes:
                cut = block.rfind(b"\n", 0, target_bytes - written) + 1
                out.write(block[:cut])  # whole lines only, never past the size
                written += cut
                break
            out.write(block)
            written += len(block)
            index += count
    return written


def append_live(path: str, rate: float, profile: str = "normal", seed: int = 1, fmt: str = "app",
                hosts: int = CONN_HOSTS, duration: float | None = None,
                clock: Callable[[], float] = time.time, tick: float = 0.1) -> int:
    """Append lines to ``path`` in real time, ``rate`` a second, stamped with the time they are
    written, until ``duration`` seconds have passed (or KeyboardInterrupt). Returns the lines
    written: exactly ``rate * duration`` with a duration. Only whole lines are ever written."""
    if fmt not in FORMATS or profile not in PROFILES:
        raise ValueError(f"unknown format {fmt!r} or profile {profile!r}")
    rng = np.random.default_rng(seed)
    names, weights = _hosts(rng, hosts) if fmt == "conn" else ([], None)
    began = clock()
    start_ms = int(began * 1000)
    hour = max(int(rate * 3600), 1)  # error_spike: errors from minute 24 to minute 36
    index = 0
    with open(path, "ab") as out:
        try:
            while True:
                elapsed = clock() - began
                done = duration is not None and elapsed >= duration
                due = int((duration if done else elapsed) * rate)
                if due > index:
                    count = due - index
                    if fmt == "conn":
                        block = _conn_block(rng, index, count, start_ms, rate, names, weights)
                    else:
                        block = _block(rng, index, count, hour, start_ms, rate, profile, fmt)
                    out.write(block)
                    out.flush()
                    index = due
                if done:
                    return index
                time.sleep(tick)  # pacing the writes, not waiting for a condition
        except KeyboardInterrupt:
            return index


def _hosts(rng: np.random.Generator, count: int) -> tuple[list[str], np.ndarray]:
    """``count`` distinct host names and Zipf-like popularity (a few very busy, a long tail)."""
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = "".join(_SYLLABLES[i] for i in rng.integers(0, len(_SYLLABLES), int(rng.integers(2, 5))))
        name = name.capitalize() if rng.random() < 0.5 else name
        if name not in seen:
            seen.add(name)
            names.append(name)
    weights = 1.0 / np.arange(1, count + 1) ** 1.1
    return names, weights / weights.sum()


def _conn_block(rng: np.random.Generator, first: int, count: int, start_ms: int, rate: float,
                names: list[str], weights: np.ndarray) -> bytes:
    """Connection lines: times in ms or seconds, some up to 5 minutes late."""
    index = np.arange(first, first + count)
    times = start_ms + (index * 1000 / rate).astype(np.int64)
    late = rng.random(count) < CONN_LATE
    times[late] -= rng.integers(0, CONN_MAX_LATE_MS, int(late.sum()))
    in_seconds = rng.random(count) < 0.5
    sources = rng.choice(len(names), size=count, p=weights)
    targets = rng.choice(len(names), size=count, p=weights)
    parts = [f"{t // 1000 if sec else t} {names[s]} {names[d]}"
             for t, sec, s, d in zip(times.tolist(), in_seconds.tolist(), sources.tolist(), targets.tolist())]
    parts.append("")
    return "\n".join(parts).encode()


_JSON_TIME = ("timestamp", "time", "ts", "@timestamp")
_JSON_LEVEL = ("level", "severity", "lvl")
_JSON_MESSAGE = ("message", "msg")
_JSON_RESPONSE = ("response_time_ms", "duration_ms", "latency_ms")


def _json_line(n: int, ms: int, level: str, message: str) -> str:
    """An app entry as a JSON object, with aliases, epoch or ISO times and keyed response times."""
    import json
    obj: dict = {_JSON_TIME[n % 4]: ms if n % 3 == 0 else format_ms(ms) + "Z",
                 _JSON_LEVEL[n % 3]: level.lower() if n % 2 else level}
    if " in " in message and message.endswith("ms") and n % 2:
        head, _, tail = message.rpartition(" in ")  # the response time as a key instead
        obj[_JSON_MESSAGE[n % 2]] = head
        obj[_JSON_RESPONSE[n % 3]] = int(tail[:-2])
    else:
        obj[_JSON_MESSAGE[n % 2]] = message
    return json.dumps(obj)


def _block(rng: np.random.Generator, first: int, count: int, total: int, start_ms: int,
           rate: float, profile: str, fmt: str = "app") -> bytes:
    index = np.arange(first, first + count)
    times = start_ms + (index * 1000 / rate).astype(np.int64) + rng.integers(0, max(1, int(1000 / rate)), count)
    spread = rng.integers(-SPREAD_MS, SPREAD_MS + 1, count // 2 + 1)
    numbers = rng.integers(1, 100_000, count)
    cpus = rng.integers(50, 990, count) / 10
    mems = rng.integers(256, 4096, count)
    spike = np.zeros(count, dtype=bool)
    if profile == "error_spike":
        spike = (index >= 2 * total // 5) & (index < 3 * total // 5)
    normal, errors = _templates(False), _templates(True)
    pick_normal = _pick(rng, normal, count)
    pick_error = _pick(rng, errors, count)
    seconds: dict[int, str] = {}
    parts = []
    timed = 0  # response times so far in this block: pairs share one spread, + and -
    for i in range(count):
        n = first + i
        if profile == "malformed" and n % MALFORMED_CYCLE in MALFORMED_SLOTS:
            kind = (n // MALFORMED_CYCLE * len(MALFORMED_SLOTS)
                    + MALFORMED_SLOTS.index(n % MALFORMED_CYCLE)) % len(MALFORMED_LINES)
            parts.append(MALFORMED_LINES[kind].format(n=n))
            continue
        ms = int(times[i])
        sec = ms // 1000
        prefix = seconds.get(sec)
        if prefix is None:
            prefix = seconds[sec] = format_ms(sec * 1000)[:19].replace("T", " ")
        level, template, _ = errors[pick_error[i]] if spike[i] else normal[pick_normal[i]]
        rt = 0
        if "{rt}" in template:
            rt = MEAN_RESPONSE_MS + int(spread[timed // 2]) * (1 if timed % 2 == 0 else -1)
            timed += 1
        message = template.format(rt=rt, n=int(numbers[i]), c=float(cpus[i]), m=int(mems[i]))
        if fmt == "json":
            parts.append(_json_line(n, ms, level, message))
        elif fmt == "text":
            parts.append(_text_lines(n, prefix, ms, level, message))
        elif fmt == "logfmt":
            parts.append(_logfmt_line(n, ms, level, message))
        elif fmt == "syslog":
            parts.append(_syslog_line(n, ms, level, message))
        elif fmt == "cri":
            parts.append(_cri_lines(n, ms, _text_lines(n, prefix, ms, level, message)))
        else:
            parts.append(f"{prefix}.{ms % 1000:03d} {level} {message}")
    parts.append("")
    return "\n".join(parts).encode("utf-8", "surrogateescape")


_THREADS = ("main", "http-nio-8080-exec-1", "http-nio-8080-exec-7", "pool-2-thread-3", "scheduler-1")
_LOGGERS = ("c.e.web.RequestHandler", "c.e.db.ConnectionPool", "c.e.cache.CacheManager", "c.e.App")
_TRACE = ("\njava.lang.IllegalStateException: {m}\n\tat c.e.db.ConnectionPool.borrow(ConnectionPool.java:{n})"
          "\n\tat c.e.web.RequestHandler.handle(RequestHandler.java:88)\n\t... 42 more")


def _text_lines(n: int, prefix: str, ms: int, level: str, message: str) -> str:
    """An app entry as log4j writes it ('%d{ISO8601} %-5p [%t] %c: %m%n'); every error
    entry but one in four carries a four-line stack trace (continuation lines)."""
    line = f"{prefix},{ms % 1000:03d} {level:<5} [{_THREADS[n % 5]}] {_LOGGERS[n % 4]}: {message}"
    if level == "ERROR" and n % 4:
        line += _TRACE.format(m=message[:40], n=100 + n % 400)
    return line


_APPS = ("api", "worker", "sshd", "cron", "nginx")
_SEVERITY = {"TRACE": 7, "DEBUG": 7, "INFO": 6, "NOTICE": 5, "WARN": 4, "ERROR": 3, "CRITICAL": 2, "FATAL": 0}


def _logfmt_line(n: int, ms: int, level: str, message: str) -> str:
    """An app entry as Go's logfmt writes it; a timed message's time as a duration key on
    every other line."""
    if " in " in message and message.endswith("ms") and n % 2:
        head, _, tail = message.rpartition(" in ")
        return f'time={format_ms(ms)}Z level={level.lower()} msg="{head}" duration={tail}'
    return f'time={format_ms(ms)}Z level={level.lower()} msg="{message}"'


def _cri_lines(n: int, ms: int, text: str) -> str:
    """Lines as Kubernetes writes a container's output: stack traces on stderr."""
    stamp = f"{format_ms(ms)}{n % 1000:06d}Z"
    return "\n".join(f"{stamp} {'stdout' if line[:1].isdigit() else 'stderr'} F {line}" for line in text.split("\n"))


def _syslog_line(n: int, ms: int, level: str, message: str) -> str:
    """An app entry as an RFC 5424 message (facility local0), from one of five hosts and apps."""
    pri = 16 * 8 + _SEVERITY[level]
    return f"<{pri}>1 {format_ms(ms)}Z web{n % 5:02d} {_APPS[n % 5]} {1000 + n % 50} - - {message}"


def _pick(rng: np.random.Generator, items: list, count: int) -> np.ndarray:
    weights = np.array([w for *_, w in items], dtype=float)
    return rng.choice(len(items), size=count, p=weights / weights.sum())
