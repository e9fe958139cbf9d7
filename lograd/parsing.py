"""The `app` line grammar of SPEC §1, pure: bytes in, typed values out.

Numbers from log text (response times, resource values) are held exactly as
*fixed* integers: the value times 10**9, digits past the ninth decimal place
dropped. Sums of fixed integers do not depend on the order they are added in,
which is what makes the merged report identical for every chunking.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .timestamps import MS_PER_DAY, days_from_civil, format_ms, is_calendar_date, zone_offset_ms

MAX_LINE = 1 << 20
"""Longest line (without ``\\n`` and a dropped ``\\r``) that can be an entry."""

FIXED_DIGITS = 9
FIXED_ONE = 10 ** FIXED_DIGITS
FIXED_MAX_INT_DIGITS = 24
"""Integer parts longer than this saturate at 10**24 (keeps hostile numbers cheap)."""

LEVEL_ORDER = ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL")
ERROR_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL"})
_LEVELS = {name.encode(): name for name in LEVEL_ORDER}
_LEVELS[b"WARNING"] = "WARN"


def level_name(word: bytes) -> str | None:
    """The reported name of a level word (any case; WARNING is WARN), or None."""
    return _LEVELS.get(word.upper())

BLANK_BYTES = b" \t"

# date, separator, time, fraction, zone
_STAMP = rb"(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?"
_TIMESTAMP = re.compile(_STAMP)
# the timestamp, spaces, level, [spaces message]
_APP_LINE = re.compile(_STAMP + rb"[ \t]+([A-Za-z]+)(?:[ \t]+(.*))?", re.S)
_RESPONSE_TIME = re.compile(
    rb"(?:\bin|\btook|\bresponse_time[=:]|\blatency[=:]|\bduration[=:])\s*(\d+(?:\.\d+)?)\s*(ms|s|us)\b")
_METRIC = re.compile(
    rb"(?:^|(?<=[\s,;]))([A-Za-z_][A-Za-z0-9_.]*)=(-?)(\d+(?:\.\d+)?)(?:%|[A-Za-z]+)?(?=[\s,;]|\Z)")
_UNIT_SHIFT = {b"ms": 0, b"s": 3, b"us": -3}
_ZONE = re.compile(rb"[+-](?:[01]\d|2[0-3]):?[0-5]\d")


def to_fixed(number: bytes, shift: int = 0) -> int:
    """``b"12.5"`` times 10**shift as a fixed integer (value * 10**9, truncated)."""
    whole, _, frac = number.partition(b".")
    whole = whole.lstrip(b"0")
    if len(whole) > FIXED_MAX_INT_DIGITS:
        return 10 ** (FIXED_MAX_INT_DIGITS + FIXED_DIGITS + shift)
    places = FIXED_DIGITS + shift
    return int((whole or b"0") + frac.ljust(places, b"0")[:places])


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


class _SecondCache:
    """Epoch second of ``YYYY-MM-DD?HH:MM:SS`` prefixes (None when not a real time).

    Log lines share seconds, so validating and converting once per distinct
    prefix keeps the per-line cost to a dict lookup.
    """

    __slots__ = ("_known",)

    def __init__(self) -> None:
        self._known: dict[bytes, int | None] = {}

    def lookup(self, prefix: bytes, m: re.Match) -> int | None:
        known = self._known
        if prefix in known:
            return known[prefix]
        date = m[1]
        y, mo, d = int(date[0:4]), int(date[5:7]), int(date[8:10])
        h, mi, s = int(m[2]), int(m[3]), int(m[4])
        if is_calendar_date(y, mo, d) and h <= 23 and mi <= 59 and s <= 59:
            value = days_from_civil(y, mo, d) * (MS_PER_DAY // 1000) + h * 3600 + mi * 60 + s
        else:
            value = None
        if len(known) > 200_000:
            known.clear()
        known[prefix] = value
        return value


_seconds = _SecondCache()


def parse_app_line(line: bytes) -> tuple[int, str, bytes] | None:
    """(epoch ms, level, message) of an `app` entry, or None when malformed.

    ``line`` has no ``\\n`` and no trailing ``\\r``; blank lines are the
    caller's to recognise first.
    """
    if len(line) > MAX_LINE:
        return None
    m = _APP_LINE.fullmatch(line)
    if m is None:
        return None
    level = level_name(m[7])
    if level is None:
        return None
    ms = _stamp_ms(line, m)
    if ms is None:
        return None
    return ms, level, m[8] or b""


def parse_timestamp(text: bytes) -> int | None:
    """Epoch ms of an ISO 8601 timestamp as SPEC §1 writes them (date, time, fraction, zone)."""
    m = _TIMESTAMP.fullmatch(text)
    return None if m is None else _stamp_ms(text, m)


def _stamp_ms(text: bytes, m: re.Match) -> int | None:
    second = _seconds.lookup(text[:19], m)
    if second is None:
        return None
    ms = second * 1000
    frac = m[5]
    if frac:
        ms += int(frac[:3].ljust(3, b"0"))
    zone = m[6]
    if zone:
        if zone != b"Z":
            if not _ZONE.fullmatch(zone):
                return None
        ms -= zone_offset_ms(zone)
    return ms


@dataclass(frozen=True)
class LogEntry:
    """One parsed `app` line: when, how severe, what it said, what it measured."""

    timestamp_ms: int
    level: str
    message: bytes
    response_time: int | None = None
    metrics: tuple[tuple[str, int], ...] = field(default=())

    @classmethod
    def parse(cls, line: bytes) -> LogEntry | None:
        """Parse one line (``\\n`` and a trailing ``\\r`` may be present); None if not an entry."""
        if line.endswith(b"\n"):
            line = line[:-1]
        if line.endswith(b"\r"):
            line = line[:-1]
        parsed = parse_app_line(line)
        if parsed is None:
            return None
        ms, level, message = parsed
        return cls(ms, level, message, response_time(message), tuple(resource_metrics(message)))

    @property
    def timestamp(self) -> str:
        """ISO 8601 to the millisecond (UTC when the line had a zone)."""
        return format_ms(self.timestamp_ms)

    @property
    def response_time_ms(self) -> float | None:
        """Response time in milliseconds, or None."""
        return None if self.response_time is None else fixed_to_float(self.response_time)

    @property
    def is_error(self) -> bool:
        """Level ERROR, CRITICAL or FATAL."""
        return self.level in ERROR_LEVELS
