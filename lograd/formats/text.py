"""`text`: the lines frameworks write — a timestamp, a level among the first fields, a message.

    2015-10-18 18:01:47,978 INFO [main] o.a.h.m.MRAppMaster: Created MRAppMaster     (log4j, logback)
    2024-01-24 10:15:33,001 - db - ERROR - Database connection failed               (Python logging)
    Jun 14 15:16:01 combo sshd[19939]: authentication failure; rhost=218.188.2.4    (syslog, RFC 3164)
    17/06/09 20:10:40 INFO executor.Executor: Running task 0.0                       (Spark)
    E0124 10:15:32.123456    1234 server.go:42] connection refused                   (klog / glog)
    [Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6       (Apache error log)
    2024/01/24 10:15:32 [error] 1234#0: *5 open() failed                             (nginx error log, Go)
    03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogs         (Android logcat)
    20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579                  (HealthApp)

The grammar (a line, without its ``\\n`` and a dropped ``\\r``)::

    line    := ['['] stamp [']'] [(',' | '|')] [spaces rest]     the ']' only after a '['
    stamp   := iso | slashed | spark | bsd | klog | ctime | compact | logcat
    iso     := YYYY-MM-DD ('T'|' ') HH:MM:SS [('.'|',') 1-9 digits] [zone]
    slashed := YYYY/MM/DD ' ' HH:MM:SS ['.' 1-9 digits]
    spark   := yy/MM/dd ' ' HH:MM:SS                      (the year 20yy)
    bsd     := Mmm ' ' (' 'd | dd) ' ' HH:MM:SS ['.' 1-9 digits]      (no year)
    klog    := [IWEF] MMDD ' ' HH:MM:SS ['.' 1-9 digits]             (no year; the letter is the level)
    ctime   := Www ' ' Mmm ' ' dd ' ' HH:MM:SS ['.' 1-9 digits] ' ' YYYY
    compact := YYYYMMDD '-' HH:MM:SS ':' 3 digits
    logcat  := MM-DD ' ' HH:MM:SS '.' 3 digits                       (no year)

Month and weekday names are English with a capital first letter (``Jan``, ``Sun``).
A stamp without a year takes the latest year that puts it no more than a day
after the file's reference time (its modification time when the job was planned;
up to eight years back, for 29 February), so a file written on 3 January holds
``Dec 31`` of the year before.

The level (not for klog) is the first level word among the first three fields of
``rest`` (fields are split at spaces and tabs; a field made only of ``-``, ``|``
and ``:`` is a separator and not counted), bare or as ``[WORD]``, ``[WORD ]``,
``[module:WORD]``, ``<WORD>``, ``(WORD)``, ``WORD:``, ``WORD,``, ``level=WORD``, ``lvl=WORD`` or
``severity=WORD``. The message is what follows that field (and one separator
field after it); with no level word the level is ``NONE`` and the message is
``rest``. Level words, in any letter case (single letters upper-case only)::

    TRACE FINEST FINER VERBOSE V -> TRACE        ERROR ERR SEVERE E  -> ERROR
    DEBUG FINE D                 -> DEBUG        CRITICAL CRIT       -> CRITICAL
    INFO INFORMATION I           -> INFO         FATAL EMERG EMERGENCY ALERT PANIC F -> FATAL
    NOTICE                       -> NOTICE
    WARN WARNING W               -> WARN

Lines that are not entries and come after an entry of the same file (stack
traces, tracebacks, any multi-line message) are *continuation lines* of it;
before a file's first entry they are malformed (:class:`lograd.aggregate.Partial`
settles which across chunks).
"""
from __future__ import annotations

import re

from .._scanner import GRAMMAR_TEXT, MALFORMED, UNDECIDED
from ..aggregate import SAMPLE_LIMIT, Partial, TimeBounds
from ..fastpath import add_block_once, add_tallied, scan_heads, scanned_entries
from ..parsing import BLANK_BYTES, MAX_LINE
from ..timestamps import MS_PER_DAY, civil_from_days, days_from_civil, is_calendar_date, zone_offset_ms
from . import no_entries
from . import EntryFormat
from . import Entries
from . import Reading
from ..patterns import lazy

NONE = "NONE"
"""The level of an entry whose line names none."""

LEVEL_WORDS = {
    "TRACE": "TRACE", "FINEST": "TRACE", "FINER": "TRACE",
    "DEBUG": "DEBUG", "FINE": "DEBUG",
    "INFO": "INFO", "INFORMATION": "INFO", "VERBOSE": "TRACE",
    "NOTICE": "NOTICE",
    "WARN": "WARN", "WARNING": "WARN",
    "ERROR": "ERROR", "ERR": "ERROR", "SEVERE": "ERROR",
    "CRITICAL": "CRITICAL", "CRIT": "CRITICAL",
    "FATAL": "FATAL", "EMERG": "FATAL", "EMERGENCY": "FATAL", "ALERT": "FATAL", "PANIC": "FATAL",
}
LEVEL_LETTERS = {"V": "TRACE", "D": "DEBUG", "I": "INFO", "W": "WARN", "E": "ERROR", "F": "FATAL"}
KLOG_LETTERS = "IWEF"
LEVEL_FIELDS = 3
"""Fields of the rest of the line searched for a level word."""
FUTURE_MS = MS_PER_DAY
"""How far past the reference time a stamp without a year may lie."""
YEARS_BACK = 8

MONTHS = {name.encode(): i + 1 for i, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}
WEEKDAYS = frozenset(name.encode() for name in ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))

_T = rb"(\d\d):(\d\d):(\d\d)"
_FRAC = rb"(?:\.(\d{1,9}))?"
_MON = rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# each shape: (pattern, how its groups give (year, month, day, h, m, s, fraction, zone))
_SHAPES = [
    ("iso", lazy(rb"(\d{4})-(\d\d)-(\d\d)[T ]" + _T + rb"(?:[.,](\d{1,9}))?(Z|[+-]\d\d:?\d\d)?")),
    ("slashed", lazy(rb"(\d{4})/(\d\d)/(\d\d) " + _T + _FRAC)),
    ("spark", lazy(rb"(\d\d)/(\d\d)/(\d\d) " + _T)),
    ("bsd", lazy(_MON + rb" ( \d|\d\d) " + _T + _FRAC)),
    ("klog", lazy(rb"([IWEF])(\d\d)(\d\d) " + _T + _FRAC)),
    ("ctime", lazy(rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) " + _MON + rb" (\d\d) " + _T + _FRAC + rb" (\d{4})")),
    ("compact", lazy(rb"(\d{4})(\d\d)(\d\d)-" + _T + rb":(\d{3})")),
    ("logcat", lazy(rb"(\d\d)-(\d\d) " + _T + rb"\.(\d{3})")),
]
_SEPARATOR = lazy(rb"[-|:]+")
_CLOSE = {b"[": b"]", b"<": b">", b"(": b")"}
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KEYED = lazy(rb"(?:level|lvl|severity)=([A-Za-z]+)")


def level_of_word(word: bytes) -> str | None:
    """The reported level of a level word (any case; single letters upper-case only)."""
    if len(word) == 1:
        return LEVEL_LETTERS.get(word.decode("latin-1"))
    return LEVEL_WORDS.get(word.decode("latin-1").upper())


def stamp_at(line: bytes, reference_ms: int, shapes: tuple[str, ...] | None = None):
    """(epoch ms, where the stamp ends, klog level or None) of the stamp at the line's
    start (of one of ``shapes``, by default any), or None."""
    for shape, pattern in _SHAPES:
        if shapes is not None and shape not in shapes:
            continue
        m = pattern.match(line)
        if m is None:
            continue
        g = m.groups()
        zone = None
        klog = None
        if shape == "iso":
            year, month, day, h, mi, s, frac, zone = int(g[0]), int(g[1]), int(g[2]), *g[3:6], g[6], g[7]
        elif shape == "slashed":
            year, month, day, h, mi, s, frac = int(g[0]), int(g[1]), int(g[2]), *g[3:6], g[6]
        elif shape == "spark":
            year, month, day, h, mi, s, frac = 2000 + int(g[0]), int(g[1]), int(g[2]), *g[3:6], None
        elif shape == "bsd":
            year, month, day, h, mi, s, frac = None, MONTHS[g[0]], int(g[1]), *g[2:5], g[5]
        elif shape == "klog":
            klog = LEVEL_LETTERS[g[0].decode()]
            year, month, day, h, mi, s, frac = None, int(g[1]), int(g[2]), *g[3:6], g[6]
        elif shape == "ctime":
            year, month, day, h, mi, s, frac = int(g[6]), MONTHS[g[0]], int(g[1]), *g[2:5], g[5]
        elif shape == "compact":
            year, month, day, h, mi, s, frac = int(g[0]), int(g[1]), int(g[2]), *g[3:6], g[6]
        else:  # logcat
            year, month, day, h, mi, s, frac = None, int(g[0]), int(g[1]), *g[2:5], g[5]
        h, mi, s = int(h), int(mi), int(s)
        if h > 23 or mi > 59 or s > 59:
            return None
        clock = (h * 3600 + mi * 60 + s) * 1000 + (int(frac[:3].ljust(3, b"0")) if frac else 0)
        if zone is not None and zone != b"Z":
            zh, zm = int(zone[1:3]), int(zone[-2:])
            if zh > 23 or zm > 59:
                return None
        if year is None:
            ms = yearless(month, day, clock, reference_ms)
        elif is_calendar_date(year, month, day):
            ms = days_from_civil(year, month, day) * MS_PER_DAY + clock
        else:
            ms = None
        if ms is None:
            return None
        if zone is not None:
            ms -= zone_offset_ms(zone)
        return ms, m.end(), klog
    return None


def yearless(month: int, day: int, clock: int, reference_ms: int) -> int | None:
    """The latest time on ``month``/``day`` at ``clock`` no more than FUTURE_MS past the reference."""
    year = civil_from_days(reference_ms // MS_PER_DAY)[0]
    for y in range(year, year - YEARS_BACK - 1, -1):
        if is_calendar_date(y, month, day):
            ms = days_from_civil(y, month, day) * MS_PER_DAY + clock
            if ms <= reference_ms + FUTURE_MS:
                return ms
    return None


def _blank_at(line: bytes, at: int) -> bool:
    return at < len(line) and line[at] in b" \t"


def _skip_blanks(line: bytes, at: int) -> int:
    while _blank_at(line, at):
        at += 1
    return at


def _field_end(line: bytes, at: int) -> int:
    while at < len(line) and line[at] not in b" \t":
        at += 1
    return at


def _level_field(line: bytes, at: int) -> tuple[str, int] | None:
    """The level of the field starting at ``at`` and where it ends, or None."""
    n = len(line)
    keyed = _KEYED.match(line, at)
    if keyed is not None:
        end = keyed.end()
        level = LEVEL_WORDS.get(keyed[1].decode("latin-1").upper()) if len(keyed[1]) > 1 else None
        return (level, end) if level and (end == n or _blank_at(line, end)) else None
    p = at
    closing = _CLOSE.get(line[p:p + 1])
    if closing is not None:
        p += 1
    q = p
    while q < n and line[q] in _LETTERS:
        q += 1
    if q == p:
        return None
    if closing is not None and q + 1 < n and line[q] == 58 and line[q + 1] in _LETTERS:
        p = q = q + 1  # Apache 2.4's [module:level]
        while q < n and line[q] in _LETTERS:
            q += 1
    word = line[p:q]
    if closing is not None:
        while q < n and line[q] == 32:
            q += 1
        if line[q:q + 1] != closing:
            return None
        q += 1
    if q < n and line[q] in b":,":
        q += 1
    if q < n and not _blank_at(line, q):
        return None
    level = level_of_word(word)
    return (level, q) if level else None


def parse_text_line(line: bytes, reference_ms: int = 0) -> tuple[int, str, bytes] | None:
    """(epoch ms, level, message) of a `text` entry, or None when the line is not one.

    ``line`` has no ``\\n`` and no trailing ``\\r``; ``reference_ms`` dates stamps
    without a year.
    """
    if len(line) > MAX_LINE:
        return None
    bracket = line[:1] == b"["
    found = stamp_at(line[1:] if bracket else line, reference_ms)
    if found is None:
        return None
    ms, at, klog = found
    at += bracket
    if bracket:
        if line[at:at + 1] != b"]":
            return None
        at += 1
    separated = line[at:at + 1] in (b",", b"|")
    at += separated
    if at < len(line) and not separated and not _blank_at(line, at):
        return None
    at = _skip_blanks(line, at)
    if klog is not None:
        return ms, klog, line[at:]
    level, at = level_among_fields(line, at)
    return ms, level, line[at:]


def level_among_fields(line: bytes, at: int) -> tuple[str, int]:
    """The level named among the first fields of ``line`` from ``at`` (see the module
    docstring) and where the message starts; (NONE, at) when none is."""
    rest = at
    fields = 0
    while at < len(line) and fields < LEVEL_FIELDS:
        end = _field_end(line, at)
        if _SEPARATOR.fullmatch(line, at, end) is None:
            fields += 1
            found_level = _level_field(line, at)
            if found_level is not None:
                level, end = found_level
                at = _skip_blanks(line, end)
                end = _field_end(line, at)
                if at < end and _SEPARATOR.fullmatch(line, at, end):
                    at = _skip_blanks(line, end)
                return level, at
        at = _skip_blanks(line, end)
    return NONE, rest


# -- counting lines into partials ----------------------------------------------------------------

_NO_ENTRY = (1 << 63) - 1
"""Where a block's first entry starts when it has none: after every line."""


def attach_lines(partial: Partial, file_index: int, base: int, view, count: int, cut: int,
                 first: list[tuple[int, int]], first_entry: int | None) -> None:
    """Count a block's ``count`` lines that are not entries (``first``: the (start, end) of
    the first SAMPLE_LIMIT of them, in order): the ``cut`` of them before the block's first
    entry (starting at ``first_entry``) continue one only if the file has an entry before
    them (the partial settles that); those after it continue an entry."""
    if cut:
        samples = [(base + start, bytes(view[start:end])) for start, end in first[:SAMPLE_LIMIT]]
        partial.add_unattached(file_index, base + first[0][0], cut, samples)
    if first_entry is not None:
        partial.note_entry(file_index, base + first_entry)
    partial.continuation += count - cut


def add_text_lines(partial: Partial, data: bytes, base: int, file_index: int, window: TimeBounds | None,
                   reference_ms: int = 0) -> int:
    """The exact per-line path: classify and count every `text` line of ``data`` (whole
    lines, at file offset ``base``) into ``partial``; the number of lines."""
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    starts, ends, others = [], [], []
    first_entry = None
    at = 0
    for i, raw in enumerate(parts):
        line = raw[:-1] if raw[-1:] == b"\r" else raw
        starts.append(at)
        ends.append(at + len(line))
        entry = parse_text_line(line, reference_ms)
        if entry is not None:
            if first_entry is None:
                first_entry = i
            partial.add_entry(entry[0], entry[1], entry[2], window, where=(file_index, base + at))
        elif len(line) > MAX_LINE:
            partial.add_malformed(file_index, base + at, line)
        elif line.strip(BLANK_BYTES):
            others.append(i)
        else:
            partial.blank += 1
        at += len(raw) + 1
    cut = len(others) if first_entry is None else sum(1 for i in others if i < first_entry)
    attach_lines(partial, file_index, base, data, len(others), cut,
                 [(starts[i], ends[i]) for i in others[:SAMPLE_LIMIT]], None if first_entry is None else starts[first_entry])
    partial.lines += len(parts)
    return len(parts)


def add_text_fast(partial: Partial, data, base: int = 0, file_index: int = 0,
                  window: TimeBounds | None = None, reference_ms: int = 0) -> int:
    """Add the `text` lines of ``data`` (whole lines, at file offset ``base``) to ``partial``
    by the compiled scanner, a chunk of its own; how many lines went to the exact path."""
    return add_block_once(lambda reading: TEXT.add_block(partial, data, base, reading, window), file_index, reference_ms)


def text_block(partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None) -> int:
    """Add a block of `text` lines (whole lines, at file offset ``base``) to ``partial`` by
    the compiled scanner: lines that are no entries continue the entry before them; how many
    lines went to the exact path."""
    file_index, reference_ms = reading.file_index, reading.reference_ms

    def other_lines(view, tally, first_entry) -> int:
        undecided = tally.exceptions(UNDECIDED)  # few: over-long lines, numbers too big
        long = [row for row in undecided if row[2] - row[1] > MAX_LINE]
        for _, start, end, _ in long[:SAMPLE_LIMIT]:
            partial.add_malformed(file_index, base + start, bytes(view[start:end]))
        partial.malformed += max(0, len(long) - SAMPLE_LIMIT)
        for _, start, end, _ in undecided:
            if end - start <= MAX_LINE:  # entries whose numbers overflow
                ms, level, message = parse_text_line(bytes(view[start:end]), reference_ms)
                partial.add_entry(ms, level, message, window, where=(file_index, base + start))
        # the others, continuation lines (thousands a block), counted by the scanner
        count, cut = tally.exception_count(MALFORMED, _NO_ENTRY if first_entry is None else first_entry)
        first = [(start, end) for _, start, end, _ in tally.exceptions(MALFORMED, SAMPLE_LIMIT)]
        attach_lines(partial, file_index, base, view, count, cut, first, first_entry)
        return len(undecided)

    return add_tallied(partial, block, base, reading, window, GRAMMAR_TEXT, other_lines)


def text_entries(data, reference_ms: int = 0) -> Entries:
    """Every `text` entry of ``data`` (whole lines), from heads only."""
    if not len(data):
        return no_entries()
    starts, kinds, stamps = scan_heads(data, GRAMMAR_TEXT, reference_ms)
    return scanned_entries(data, starts, kinds, stamps, lambda line: parse_text_line(line, reference_ms))


class TextFormat(EntryFormat):
    """The `text` format (see :mod:`lograd.formats`)."""

    name = "text"
    example = "2015-10-18 18:01:47,978 INFO [main] o.a.h.m.MRAppMaster: Created MRAppMaster"
    continues = True
    grammar = GRAMMAR_TEXT
    entry_metrics = True

    def parse_line(self, line: bytes, reference_ms: int = 0) -> tuple | None:
        return parse_text_line(line, reference_ms)

    def add_block(self, partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None) -> int:
        return text_block(partial, block, base, reading, window)

    def block_entries(self, block, reading: Reading) -> Entries:
        return text_entries(block, reading.reference_ms)


TEXT = TextFormat()
