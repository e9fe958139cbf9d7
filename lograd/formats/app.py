"""`app`: the assessment's application logs (SPEC §1), strict.

    2024-01-24 10:15:32.123 INFO Request processed in 127ms

The exact per-line grammar (a regular expression) and the compiled block path
(:func:`lograd.fastpath.add_tallied` with the app grammar), which property tests
hold to each other.
"""
from __future__ import annotations

import re

import msgspec

from ..aggregate import Partial, TimeBounds, each_line
from .._scanner import GRAMMAR_APP
from ..fastpath import add_block_once, add_compiled, scan_heads, scanned_entries
from ..parsing import ERROR_LEVELS, MAX_LINE, fixed_to_float, level_name, resource_metrics, response_time
from ..timestamps import MS_PER_DAY, days_from_civil, format_ms, is_calendar_date, zone_offset_ms
from . import no_entries
from . import EntryFormat
from . import Entries
from . import Reading
from ..patterns import lazy

# date, separator, time, fraction, zone
_STAMP = rb"(\d{4}-\d\d-\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)?"
_TIMESTAMP = lazy(_STAMP)
# the timestamp, spaces, level, [spaces message]
_APP_LINE = lazy(_STAMP + rb"[ \t]+([A-Za-z]+)(?:[ \t]+(.*))?", re.S)
_ZONE = lazy(rb"[+-](?:[01]\d|2[0-3]):?[0-5]\d")


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


class LogEntry(msgspec.Struct, frozen=True):
    """One parsed `app` line: when, how severe, what it said, what it measured."""

    timestamp_ms: int
    level: str
    message: bytes
    response_time: int | None = None
    metrics: tuple[tuple[str, int], ...] = ()

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


def summarise_app(data: bytes, base: int = 0, file_index: int = 0,
                  window: TimeBounds | None = None) -> Partial:
    """Summarise the complete `app` lines in ``data``, which starts at file offset ``base``.

    ``data`` holds whole lines only (the chunk rule of SPEC §2 is applied by the
    reader); its last line may lack ``\\n``. This is the exact per-line path;
    :func:`add_app_fast` gives the same result faster.
    """
    partial = Partial()
    partial.lines = add_lines(partial, data, base, file_index, window)
    return partial


def add_lines(partial: Partial, data: bytes, base: int, file_index: int,
              window: TimeBounds | None) -> int:
    """Classify and count every `app` line of ``data`` into ``partial``; the number of lines."""
    add_entry = partial.add_entry
    return each_line(partial, data, base, file_index, parse_app_line,
                      lambda entry, where: add_entry(entry[0], entry[1], entry[2], window, where=where))




def summarise_app_fast(data, base: int = 0, file_index: int = 0,
                       window: TimeBounds | None = None) -> Partial:
    """The same :class:`Partial` as :func:`summarise_app`, compiled."""
    partial = Partial()
    add_app_fast(partial, data, base, file_index, window)
    return partial


def add_app_fast(partial: Partial, data, base: int = 0, file_index: int = 0,
                 window: TimeBounds | None = None) -> int:
    """Add the lines of ``data`` (whole lines; bytes-like, at file offset ``base``) to ``partial``.

    Returns how many lines were left to the per-line path.
    """
    return add_block_once(lambda reading: APP.add_block(partial, data, base, reading, window), file_index)


def newest_app_entry(data) -> int | None:
    """The time of the newest `app` entry in ``data`` (whole lines), or None: the cheap
    first phase of ``--last``, timestamps and levels only."""
    times = app_entries(data)[0]
    return int(times.max()) if len(times) else None


def app_entries(data) -> Entries:
    """Every `app` entry of ``data`` (whole lines), from timestamps and levels only."""
    if not len(data):
        return no_entries()
    starts, kinds, stamps = scan_heads(data, GRAMMAR_APP)
    return scanned_entries(data, starts, kinds, stamps, parse_app_line)


class AppFormat(EntryFormat):
    """The `app` format (see :mod:`lograd.formats`)."""

    name = "app"
    grammar = GRAMMAR_APP
    example = "2024-01-24 10:15:32.123 INFO Request processed in 127ms"

    def parse_line(self, line: bytes, reference_ms: int = 0) -> tuple | None:
        return parse_app_line(line)

    def add_block(self, partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None) -> int:
        return add_compiled(partial, block, base, reading, window, GRAMMAR_APP,
                            lambda line, offset: add_lines(partial, line, offset, reading.file_index, window))

    def block_entries(self, block, reading: Reading) -> Entries:
        return app_entries(block)


APP = AppFormat()
