"""`logfmt`: lines of ``key=value`` pairs, as Go's logfmt, logrus, Heroku and Grafana's tools write.

    time=2024-01-24T10:15:32.123Z level=error msg="upstream \\"db\\" timed out" duration=1.5s status=504

The grammar (a line, without its ``\\n`` and a dropped ``\\r``)::

    line   := [blanks] field (blanks field)* [blanks]
    field  := key ['=' value]              (a key alone is a flag, ignored)
    key    := one or more bytes other than blank, '=' and '"'
    value  := '"' (any byte but '"' and '\\', or '\\' and any byte)* '"'
            | zero or more bytes other than blank and '"'

A line is an entry when it has at least two ``key=value`` pairs and a valid
time: ``time|ts|timestamp|t|@timestamp``, an ISO 8601 string as in SPEC §1 or an
epoch number read by its magnitude (as json). The level is ``level|lvl|severity|loglevel``,
a word of the `text` list in any case; missing or unknown, it is ``NONE``. The
message is ``msg|message`` with ``\\"``, ``\\\\``, ``\\n``, ``\\t`` and ``\\r``
unescaped; missing, it is empty. The response time is the first of
``duration|latency|elapsed|took|response_time`` holding a Go duration (``1.5s``,
``12ms``, ``350µs``, ``2ns``, ``1m2.5s``) or of ``duration_ms|latency_ms|elapsed_ms|response_time_ms``
holding a number of milliseconds; without one, the message's rule (SPEC §1). Every
other pair whose value is a number with an optional unit (``-?\\d+(\\.\\d+)?`` then
``%`` or letters) is a resource, and so are the message's ``key=value`` tokens.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ..aggregate import Partial, TimeBounds, each_line
from ..parsing import MAX_LINE, resource_metrics, response_time, to_fixed
from ..timestamps import epoch_ms
from .._scanner import GRAMMAR_LOGFMT, set_aliases
from ..fastpath import add_block_once, compiled_entries
from . import Entries
from . import PerLineFormat
from . import Reading
from .app import parse_timestamp
from .jsonlines import JsonEntry, take_keyed
from .text import NONE, level_of_word
from ..patterns import lazy

TIME_KEYS = (b"time", b"ts", b"timestamp", b"t", b"@timestamp")
LEVEL_KEYS = (b"level", b"lvl", b"severity", b"loglevel")
MESSAGE_KEYS = (b"msg", b"message")
DURATION_KEYS = (b"duration", b"latency", b"elapsed", b"took", b"response_time")
MS_KEYS = (b"duration_ms", b"latency_ms", b"elapsed_ms", b"response_time_ms")
ALIASES = frozenset(TIME_KEYS + LEVEL_KEYS + MESSAGE_KEYS + DURATION_KEYS + MS_KEYS)
set_aliases(GRAMMAR_LOGFMT, [(k, 0, 0) for k in TIME_KEYS] + [(k, 1, 0) for k in LEVEL_KEYS]
            + [(k, 2, 0) for k in MESSAGE_KEYS] + [(k, 3, -1) for k in DURATION_KEYS] + [(k, 3, 9) for k in MS_KEYS])

_FIELD = lazy(rb'([^ \t="]+)(?:=("(?:[^"\\]|\\.)*"|[^ \t"]*))?(?=[ \t]|\Z)', re.S)
_BLANKS = lazy(rb"[ \t]*")
_ONE = rb'[^ \t="]+(?:=(?:"(?:[^"\\]|\\.)*"|[^ \t"]*))?'
_LINE = lazy(rb"[ \t]*(?:" + _ONE + rb"(?:[ \t]+|\Z))*", re.S)
"""A whole line of fields (each followed by blanks or the end)."""
_FIELDS = lazy(rb'([^ \t="]+)(=?)("(?:[^"\\]|\\.)*"|[^ \t"]*)', re.S)
_NUMBER = lazy(rb"-?(\d+(?:\.\d+)?)(?:%|[A-Za-z]+)?")
_EPOCH = lazy(rb"\d+(?:\.\d+)?")
_PLAIN = _EPOCH
_DURATION = lazy(rb"(?:(\d+(?:\.\d+)?)(ns|us|\xc2\xb5s|ms|s|m|h))+")
_DURATION_PART = lazy(rb"(\d+(?:\.\d+)?)(ns|us|\xc2\xb5s|ms|s|m|h)")
_UNITS = {b"ns": (-6, 1), b"us": (-3, 1), b"\xc2\xb5s": (-3, 1), b"ms": (0, 1), b"s": (3, 1),
          b"m": (3, 60), b"h": (3, 3600)}
"""Unit -> (power of ten, then a factor) to milliseconds."""
_ESCAPES = {b"n": b"\n", b"t": b"\t", b"r": b"\r"}
_ESCAPE = lazy(rb"\\(.)", re.S)


def fields(line: bytes) -> list[tuple[bytes, bytes | None]] | None:
    """The (key, raw value or None) fields of a line, or None when it is not logfmt."""
    if _LINE.fullmatch(line) is None:
        return None
    return [(key, value if has_value else None) for key, has_value, value in _FIELDS.findall(line)]


def unquoted(value: bytes) -> bytes:
    """A value as written, without its quotes and escapes."""
    if value[:1] != b'"':
        return value
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m[1], m[1]), value[1:-1])


def duration_ms(value: bytes) -> int | None:
    """A Go duration (``1m2.5s``) in fixed milliseconds, or None."""
    if not _DURATION.fullmatch(value):
        return None
    total = 0
    for number, unit in _DURATION_PART.findall(value):
        power, factor = _UNITS[unit]
        total += to_fixed(number, power) * factor
    return total


def _timestamp(value: bytes) -> int | None:
    if _EPOCH.fullmatch(value):
        try:
            return epoch_ms(Decimal(value.decode()))
        except InvalidOperation:
            return None
    return parse_timestamp(value)


def logfmt_fields(line: bytes, reference_ms: int = 0) -> tuple | None:
    """What a `logfmt` line says by its pairs: (time, level, message, the response time of a
    duration key or None, the resources of numeric pairs); None when it is not an entry."""
    if len(line) > MAX_LINE or b"=" not in line:
        return None
    found = fields(line)
    if found is None:
        return None
    pairs = {}
    for key, value in found:
        if value is not None:
            pairs.setdefault(key, value)  # the first of a repeated key, as for json's aliases
    if len(pairs) < 2:
        return None
    stamp = next((pairs[k] for k in TIME_KEYS if k in pairs), None)
    ms = None if stamp is None else _timestamp(unquoted(stamp))
    if ms is None:
        return None
    word = next((unquoted(pairs[k]) for k in LEVEL_KEYS if k in pairs), b"")
    level = (level_of_word(word) if word.isalpha() and word.isascii() else None) or NONE
    message = next((unquoted(pairs[k]) for k in MESSAGE_KEYS if k in pairs), b"")
    rt = None
    for key in DURATION_KEYS + MS_KEYS:
        if key in pairs:
            value = unquoted(pairs[key])
            rt = (duration_ms(value) if key in DURATION_KEYS
                  else (to_fixed(value) if _PLAIN.fullmatch(value) else None))
            if rt is not None:
                break
    metrics = []
    for key, value in found:
        if value is None or key in ALIASES:
            continue
        text = unquoted(value)
        m = _NUMBER.fullmatch(text)
        if m is not None:
            fixed = to_fixed(m[1])
            metrics.append((key.decode("utf-8", "replace"), -fixed if text[:1] == b"-" else fixed))
    return ms, level, message, rt, metrics


def parse_logfmt_line(line: bytes, reference_ms: int = 0) -> JsonEntry | None:
    """A `logfmt` entry (time, level, message, response time, resources), or None."""
    found = logfmt_fields(line, reference_ms)
    if found is None:
        return None
    ms, level, message, rt, metrics = found
    return JsonEntry(ms, level, message, response_time(message) if rt is None else rt,
                     metrics + resource_metrics(message))


def add_logfmt_fast(partial: Partial, data, base: int, file_index: int, window: TimeBounds | None,
                    reference_ms: int = 0) -> int:
    """Add the `logfmt` lines of ``data`` (whole lines, at file offset ``base``) to
    ``partial`` by the compiled scanner, a chunk of its own (``add_lines`` is the exact path it
    equals); how many lines went to the exact path."""
    return add_block_once(lambda reading: LOGFMT.add_block(partial, data, base, reading, window), file_index, reference_ms)


def add_logfmt_lines(partial: Partial, data: bytes, base: int, file_index: int, window: TimeBounds | None,
                     reference_ms: int = 0) -> int:
    """Classify and count every `logfmt` line of ``data`` into ``partial``; the number of lines."""
    return each_line(partial, data, base, file_index, lambda line: parse_logfmt_line(line, reference_ms),
                     lambda e, where: take_keyed(partial, e, window, where))


class LogfmtFormat(PerLineFormat):
    """The `logfmt` format (see :mod:`lograd.formats`): line by line, exact."""

    name = "logfmt"
    grammar = GRAMMAR_LOGFMT
    example = 'time=2024-01-24T10:15:32.123Z level=error msg="upstream timed out" duration=1.5s'

    def parse_line(self, line: bytes, reference_ms: int = 0) -> JsonEntry | None:
        return parse_logfmt_line(line, reference_ms)

    add_lines = staticmethod(add_logfmt_lines)

    def take(self, partial: Partial, entry: JsonEntry, window: TimeBounds | None,
             where: tuple[int, int] | None = None) -> None:
        take_keyed(partial, entry, window, where)


    def block_entries(self, block, reading: Reading) -> Entries:
        return compiled_entries(block, GRAMMAR_LOGFMT, 0, parse_logfmt_line)


LOGFMT = LogfmtFormat()
