"""A slow, obvious reading of SPEC §1 (app) and §3, sharing no code with lograd.

Tests compare lograd's reports with this one: calendar checks by `datetime`,
sums with `Decimal`, percentiles by sorting every value. Where the two differ,
one of them misreads the SPEC.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter, defaultdict
from decimal import Decimal

MINUTE_ACCURACY = 0.02
"""README: each minute's percentiles come from a per-minute sketch of 2% accuracy."""

LINE = re.compile(
    rb"(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?"
    rb"[ \t]+([A-Za-z]+)(?:[ \t]+(.*))?", re.S)
RT = re.compile(rb"(?:\bin|\btook|\bresponse_time[=:]|\blatency[=:]|\bduration[=:])"
                rb"\s*(\d+(?:\.\d+)?)\s*(ms|s|us)\b")
LEVELS = {"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "WARNING", "ERROR", "CRITICAL", "FATAL"}
ORDER = ["TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL"]
EPOCH = dt.datetime(1970, 1, 1)


def _metric_tokens(message: bytes):
    """key=number[unit] tokens, found by splitting instead of one regex."""
    for token in re.split(rb"[\s,;]", message):
        key, eq, rest = token.partition(b"=")
        if not eq or not re.fullmatch(rb"[A-Za-z_][A-Za-z0-9_.]*", key):
            continue
        m = re.fullmatch(rb"(-?\d+(?:\.\d+)?)(%|[A-Za-z]+)?", rest)
        if m:
            yield key.decode(), Decimal(m[1].decode())


def parse(line: bytes):
    """(datetime, level, message) or None."""
    if len(line) > 1 << 20:
        return None
    m = LINE.fullmatch(line)
    if not m or m[9].decode().upper() not in LEVELS:
        return None
    try:
        when = dt.datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]))
    except ValueError:
        return None
    if m[7]:
        when += dt.timedelta(milliseconds=int(m[7][:3].ljust(3, b"0")))
    if m[8] and m[8] != b"Z":
        hh, mm = int(m[8][1:3]), int(m[8][-2:])
        if hh > 23 or mm > 59:
            return None
        offset = dt.timedelta(hours=hh, minutes=mm)
        when = when - offset if m[8][:1] == b"+" else when + offset
    level = m[9].decode().upper()
    return when, ("WARN" if level == "WARNING" else level), m[10] or b""


def report(data: bytes) -> dict:
    """The SPEC §3 app keys for one file's bytes."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    entries, malformed, blank = [], 0, 0
    for raw in lines:
        line = raw[:-1] if raw.endswith(b"\r") else raw
        parsed = parse(line)
        if parsed:
            entries.append(parsed)
        elif len(line) <= 1 << 20 and line.strip(b" \t") == b"":
            blank += 1
        else:
            malformed += 1
    n = len(entries)
    levels = Counter(level for _, level, _ in entries)
    errors = sum(1 for _, level, _ in entries if level in ("ERROR", "CRITICAL", "FATAL"))
    rts: list[Decimal] = []
    minutes = defaultdict(lambda: [0, 0, []])
    seconds = Counter()
    resources = defaultdict(list)
    for when, level, message in entries:
        minute = when.strftime("%Y-%m-%dT%H:%M")
        seconds[when.replace(microsecond=0)] += 1
        slot = minutes[minute]
        slot[0] += 1
        slot[1] += level in ("ERROR", "CRITICAL", "FATAL")
        m = RT.search(message)
        if m:
            value = Decimal(m[1].decode()) * {b"ms": 1, b"s": 1000, b"us": Decimal("0.001")}[m[2]]
            rts.append(value)
            slot[2].append(value)
        for key, value in _metric_tokens(message):
            resources[key].append((minute, value))
    ordered = sorted(rts)

    def rank(p):
        return nearest_rank(rts, p)

    def iso(when):
        return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}"

    stamps = [when for when, _, _ in entries]
    return {
        "lines": len(lines), "entries": n, "malformed_lines": malformed, "blank_lines": blank,
        "total_requests": n, "errors": errors, "error_rate": errors / n if n else 0.0,
        "levels": {lvl: levels[lvl] for lvl in ORDER if levels[lvl]},
        "first_timestamp": iso(min(stamps)) if stamps else None,
        "last_timestamp": iso(max(stamps)) if stamps else None,
        "avg_response_time": float(sum(rts) / len(rts)) if rts else None,
        "response_time": None if not rts else {
            "count": len(rts), "min": float(ordered[0]), "max": float(ordered[-1]),
            "mean": float(sum(rts) / len(rts)),
            **{f"p{p}": rank(p) for p in (50, 90, 95, 99)}},
        "requests_per_second": None if not n else n / (
            (max(seconds) - min(seconds)).total_seconds() + 1),
        "peak_requests_per_second": max(seconds.values()) if seconds else 0,
        "per_minute": [{"minute": k, "requests": v[0], "errors": v[1], "error_rate": v[1] / v[0],
                        "avg_response_time": float(sum(v[2]) / len(v[2])) if v[2] else None,
                        **{f"p{p}": nearest_rank(v[2], p) if v[2] else None for p in (50, 95, 99)}}
                       for k, v in sorted(minutes.items())],
        "resources": {key: {"count": len(vals), "mean": float(sum(v for _, v in vals) / len(vals)),
                            "min": float(min(v for _, v in vals)), "max": float(max(v for _, v in vals)),
                            "per_minute": _resource_minutes(vals)}
                      for key, vals in sorted(resources.items())},
    }


def nearest_rank(values: list, p: int) -> float:
    """The nearest-rank p-th percentile of ``values`` (SPEC §3)."""
    ordered = sorted(values)
    return float(ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1])


def _resource_minutes(vals: list) -> list[dict]:
    """A resource's (minute, value) pairs as its report rows: each minute's mean and max."""
    by_minute = defaultdict(list)
    for minute, value in vals:
        by_minute[minute].append(value)
    return [{"minute": m, "mean": float(sum(v) / len(v)), "max": float(max(v))} for m, v in sorted(by_minute.items())]


def assert_matches(got: dict, want: dict) -> None:
    """Every key of the reference equals lograd's; percentiles within 1%, floats to 1e-9."""
    for key, expected in want.items():
        actual = got[key]
        if key == "response_time" and expected is not None:
            for k, v in expected.items():
                tolerance = 0.01 if k.startswith("p") else 1e-9
                assert math.isclose(actual[k], v, rel_tol=tolerance, abs_tol=1e-9), (key, k, actual[k], v)
        elif key == "resources":
            assert set(actual) == set(expected)
            for name, summary in expected.items():
                for k, v in summary.items():
                    if k == "per_minute":
                        _assert_rows(actual[name][k], v)
                    else:
                        assert math.isclose(actual[name][k], v, rel_tol=1e-9, abs_tol=1e-9), (name, k)
        elif key == "per_minute":
            _assert_rows(actual, expected)
        elif isinstance(expected, float):
            assert math.isclose(actual, expected, rel_tol=1e-9), (key, actual, expected)
        else:
            assert actual == expected, (key, actual, expected)


def _assert_rows(actual: list[dict], expected: list[dict]) -> None:
    """Per-minute rows equal: floats to 1e-9, a minute's percentiles within MINUTE_ACCURACY
    (its sketch's 2%: one bucket's width around the nearest-rank value)."""
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        for k, v in e.items():
            if isinstance(v, float):
                tolerance = MINUTE_ACCURACY if k.startswith("p") else 1e-9
                assert math.isclose(a[k], v, rel_tol=tolerance, abs_tol=1e-9), (e["minute"], k, a[k], v)
            else:
                assert a[k] == v, (e["minute"], k, a[k], v)
