"""Calendar arithmetic on epoch milliseconds (UTC), without `datetime` limits.

Entry times are held as integer milliseconds since 1970-01-01T00:00:00 UTC;
a timestamp without a zone is taken as it is (as if it were UTC), SPEC §1.
"""
from __future__ import annotations

import functools
from decimal import Decimal

from .patterns import lazy

MS_PER_SECOND = 1000
MS_PER_MINUTE = 60_000
MS_PER_DAY = 86_400_000

_DAYS_IN_MONTH = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_leap(year: int) -> bool:
    """Proleptic Gregorian leap year."""
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def is_calendar_date(year: int, month: int, day: int) -> bool:
    """True when year-month-day exists (2024-02-29 yes, 2023-02-29 no)."""
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2 and is_leap(year):
        return day <= 29
    return day <= _DAYS_IN_MONTH[month - 1]


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """Inverse of :func:`days_from_civil`."""
    days += 719468
    era = days // 146097
    doe = days - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _split(ms: int) -> tuple[int, int, int, int, int, int, int]:
    days, rest = divmod(ms, MS_PER_DAY)
    year, month, day = civil_from_days(days)
    hour, rest = divmod(rest, 3_600_000)
    minute, rest = divmod(rest, MS_PER_MINUTE)
    second, milli = divmod(rest, MS_PER_SECOND)
    return year, month, day, hour, minute, second, milli


def format_ms(ms: int) -> str:
    """ISO 8601 to the millisecond, no zone: ``2024-01-24T10:15:32.123``."""
    y, mo, d, h, mi, s, milli = _split(ms)
    return f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}.{milli:03d}"


@functools.lru_cache(maxsize=1 << 16)
def format_minute(minute: int) -> str:
    """A minute number (epoch ms // 60000) as ``2024-01-24T10:15`` (remembered: a report
    names each minute once per template and resource): the day's name, made once a day,
    and the clock's, once (a 1 GiB log's report names 6,207 minutes: 6.4 ms formatted
    whole, 2.7 ms so)."""
    day, in_day = divmod(minute, 1440)
    return _format_day(day) + _clock_names()[in_day]


@functools.lru_cache(maxsize=1)
def _clock_names() -> tuple[str, ...]:
    """``T00:00`` to ``T23:59``, the minutes of a day."""
    return tuple(f"T{hour:02d}:{mi:02d}" for hour in range(24) for mi in range(60))


@functools.lru_cache(maxsize=1 << 12)
def _format_day(day: int) -> str:
    """A day number (days since 1970-01-01) as ``2024-01-24``: once per day, not per minute."""
    y, mo, d = civil_from_days(day)
    return f"{y:04d}-{mo:02d}-{d:02d}"


_FIRST_MS = days_from_civil(0, 1, 1) * MS_PER_DAY
_END_MS = days_from_civil(10000, 1, 1) * MS_PER_DAY
"""Times a user may give: the years an ISO 8601 timestamp can write."""
LONGEST_WINDOW_MS = _END_MS - _FIRST_MS
"""A longer ``--last`` covers every time an entry can have: it is cut to this."""

_ISO = lazy(
    r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:\.(\d{1,9}))?)?)?"
    r"(Z|[+-]\d\d:?\d\d)?")


def parse_time_arg(text: str) -> int:
    """A user's ``--from``/``--to`` value: ISO 8601 (no zone means UTC) or Unix seconds.

    Raises ValueError with a message fit for the user.
    """
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if seconds != seconds or seconds in (float("inf"), float("-inf")):
            raise ValueError(f"not a time: {text!r}")
        ms = int(seconds * 1000)
        if not _FIRST_MS <= ms < _END_MS:
            raise ValueError(f"not a time: {text!r} (outside the years 0000 to 9999)")
        return ms
    m = _ISO.fullmatch(text)
    if not m:
        raise ValueError(f"not a time: {text!r} (use 2024-01-24T10:15:00 or Unix seconds)")
    y, mo, d = int(m[1]), int(m[2]), int(m[3])
    h, mi, s = int(m[4] or 0), int(m[5] or 0), int(m[6] or 0)
    if not is_calendar_date(y, mo, d) or h > 23 or mi > 59 or s > 59:
        raise ValueError(f"not a real date or time: {text!r}")
    ms = (days_from_civil(y, mo, d) * MS_PER_DAY + h * 3_600_000 + mi * MS_PER_MINUTE
          + s * 1000 + int((m[7] or "0").ljust(3, "0")[:3]))
    return ms - zone_offset_ms(m[8].encode() if m[8] else b"")


def zone_offset_ms(zone: bytes) -> int:
    """Offset east of UTC of ``Z``, ``+05:30``, ``-0800`` or ``b""`` (none)."""
    if not zone or zone == b"Z":
        return 0
    digits = zone[1:].replace(b":", b"")
    offset = int(digits[:2]) * 3_600_000 + int(digits[2:]) * MS_PER_MINUTE
    return -offset if zone[:1] == b"-" else offset


_EPOCH_UNITS = ((10 ** 17, -6), (10 ** 14, -3), (10 ** 11, 0), (0, 3))
"""Epoch numbers by magnitude: at or above 10**17 nanoseconds, 10**14 microseconds, 10**11
milliseconds (SPEC §1's conn rule), else seconds; the power of ten to milliseconds."""


def epoch_ms(number: Decimal | int) -> int | None:
    """Epoch ms of a non-negative epoch number read by its magnitude (truncated to the
    millisecond), or None when negative or not before the year 10000."""
    if number < 0:
        return None
    if type(number) is int:  # exact integer arithmetic, the common case
        ms = (number * 1000 if number < 10 ** 11 else number if number < 10 ** 14
              else number // 1000 if number < 10 ** 17 else number // 1_000_000)
        return ms if ms < _END_MS else None
    if not number.is_finite() or number.adjusted() > 30:  # ``1e999999``: no time, and no overflow
        return None
    if number.adjusted() < -3:  # under a millisecond even as seconds
        return 0
    power = next(p for low, p in _EPOCH_UNITS if number >= low)
    _, digits, exponent = number.as_tuple()
    whole, shift = int("".join(map(str, digits))), exponent + power  # integers: no context rounding
    ms = whole * 10 ** shift if shift >= 0 else whole // 10 ** -shift
    return ms if ms < _END_MS else None
