"""The rules every format applies to a message (SPEC §1), pure: bytes in, typed values out.

Response time, ``key=value`` resources, level words, blank lines and the 1 MiB limit.

Numbers from log text (response times, resource values) are held exactly as
*fixed* integers: the value times 10**9, digits past the ninth decimal place
dropped. Sums of fixed integers do not depend on the order they are added in,
which is what makes the merged report identical for every chunking.
"""
from __future__ import annotations

from collections.abc import Iterable

from .patterns import lazy


MAX_LINE = 1 << 20
"""Longest line (without ``\\n`` and a dropped ``\\r``) that can be an entry."""

FIXED_DIGITS = 9
FIXED_ONE = 10 ** FIXED_DIGITS
FIXED_MAX_INT_DIGITS = 24
"""Integer parts longer than this saturate at 10**24 (keeps hostile numbers cheap)."""

LEVEL_ORDER = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL", "NONE")
"""Levels as reported, in order; NONE is the level of a `text` entry that names none."""
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL"})
_LEVELS = {name.encode(): name for name in LEVEL_ORDER if name != "NONE"}
_LEVELS[b"WARNING"] = "WARN"


def level_name(word: bytes) -> str | None:
    """The reported name of a level word (any case; WARNING is WARN), or None."""
    return _LEVELS.get(word.upper())

BLANK_BYTES = b" \t"

_RESPONSE_TIME = lazy(
    rb"(?:\bin|\btook|\bresponse_time[=:]|\blatency[=:]|\bduration[=:])\s*(\d+(?:\.\d+)?)\s*(ms|s|us)\b")
_METRIC = lazy(
    rb"(?:^|(?<=[\s,;]))([A-Za-z_][A-Za-z0-9_.]*)=(-?)(\d+(?:\.\d+)?)(?:%|[A-Za-z]+)?(?=[\s,;]|\Z)")
_UNIT_SHIFT = {b"ms": 0, b"s": 3, b"us": -3}


def to_fixed(number: bytes, shift: int = 0) -> int:
    """``b"12.5"`` times 10**shift as a fixed integer (value * 10**9, truncated)."""
    whole, _, frac = number.partition(b".")
    whole = whole.lstrip(b"0")
    if len(whole) > FIXED_MAX_INT_DIGITS:
        return 10 ** (FIXED_MAX_INT_DIGITS + FIXED_DIGITS + shift)
    places = FIXED_DIGITS + shift
    return int((whole or b"0") + frac.ljust(places, b"0")[:places])


def wide_sum(high: int, low: int) -> int:
    """The 128-bit sum the compiled scanner keeps as two int64 words (high signed, low as
    unsigned bits)."""
    return (high << 64) + (low % (1 << 64))


def fixed_to_float(value: int, count: int = 1) -> float:
    """A fixed sum divided by a count, correctly rounded to a float."""
    return value / (count * FIXED_ONE)


def response_time(message: bytes) -> int | None:
    """The first response time in a message, in fixed milliseconds, or None."""
    m = _RESPONSE_TIME.search(message)
    if m is None:
        return None
    return to_fixed(m[1], _UNIT_SHIFT[m[2]])


def resource_metrics(message: bytes) -> list[tuple[str, int]]:
    """Every ``key=number[unit]`` token of a message as (key, fixed value)."""
    if b"=" not in message:
        return []
    return [(m[1].decode("ascii"), -to_fixed(m[3]) if m[2] else to_fixed(m[3]))
            for m in _METRIC.finditer(message)]


def is_blank(line: bytes) -> bool:
    """A line of only spaces and tabs (or nothing)."""
    return not line.strip(BLANK_BYTES)


def checked_count(value) -> int:
    """``value`` when it is a count from the wire (an int >= 0; bools are not); ValueError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


_INTS = frozenset((int,))


def plain_ints(values: Iterable) -> bool:
    """Whether every value is an int (no bool, no wide number sent as a string), asked at C
    speed: a partial from the wire holds tens of thousands of them."""
    return set(map(type, values)) <= _INTS


def checked_counts_by_int(pairs) -> dict[int, int]:
    """``[[int, count], ...]`` from the wire as a dict; ValueError (or TypeError) otherwise."""
    out = dict(pairs)
    if out and not (plain_ints(out) and plain_ints(out.values()) and min(out.values()) >= 0):
        raise ValueError("not [integer, count] pairs")
    return out


def checked_int(value) -> int:
    """``value`` when it is an int from the wire (bools are not); ValueError otherwise."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    return value
