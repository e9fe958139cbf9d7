"""JSON lines (SPEC §1 `json`, widened by issue #14): one object per line, then analysed like `app`.

    {"ts": "2024-01-24T10:15:32.123Z", "level": "info", "msg": "done", "latency_ms": 12.5, "cpu": 80}
    {"level":30,"time":1706091332123,"pid":42,"msg":"request completed","responseTime":12}     (pino)
    {"level":"error","ts":1706091332.123456,"caller":"srv/h.go:42","msg":"failed"}           (zap)
    {"@timestamp":"2024-01-24T10:15:32.123456789Z","log.level":"warn","message":"slow",
     "event":{"duration":1500000}}                                                          (ECS)

Keys are looked up by alias, the first present wins; a dotted alias (``log.level``)
is a top-level key of that name or the nested value. Numbers keep their JSON
text (msgspec hands over a float's text, integers are exact) so values become
fixed-point exactly (no float rounding on the way).
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec

from ..aggregate import Partial, TimeBounds, each_line
from .._scanner import GRAMMAR_JSON, set_aliases
from ..fastpath import add_block_once, compiled_entries
from ..parsing import FIXED_DIGITS, FIXED_MAX_INT_DIGITS, MAX_LINE, resource_metrics, response_time
from . import Entries
from . import PerLineFormat
from . import Reading
from ..timestamps import epoch_ms
from .app import parse_timestamp
from .text import level_of_word

TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "@t")
LEVEL_KEYS = ("level", "severity", "lvl", "log.level", "@l", "levelname")
MESSAGE_KEYS = ("message", "msg", "@m")
RESPONSE_KEYS = ("response_time_ms", "duration_ms", "latency_ms", "elapsed_ms", "responseTime", "event.duration")
"""Response-time keys in milliseconds, but ``event.duration`` (ECS) in nanoseconds."""
_RESPONSE_SHIFT = {"event.duration": -6}
ALIASES = frozenset(TIME_KEYS + LEVEL_KEYS + MESSAGE_KEYS + RESPONSE_KEYS)
set_aliases(GRAMMAR_JSON, [(k.encode(), 0, 0) for k in TIME_KEYS] + [(k.encode(), 1, 0) for k in LEVEL_KEYS]
            + [(k.encode(), 2, 0) for k in MESSAGE_KEYS]
            + [(k.encode(), 3, 9 + _RESPONSE_SHIFT.get(k, 0)) for k in RESPONSE_KEYS])
NUMERIC_LEVELS = {10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARN", 50: "ERROR", 60: "FATAL"}
"""pino's and bunyan's level numbers."""


class Number(str):
    """A JSON number with a fraction or exponent, kept as its text (integers are ints)."""


_DECODER = msgspec.json.Decoder(float_hook=Number)


def _decode(line: bytes):
    return _DECODER.decode(line)


def number_fixed(text: str | int, shift: int = 0) -> int:
    """A JSON number's exact value (its text, or an int) times 10**(9 + shift), truncated
    toward zero (like ``to_fixed``)."""
    if type(text) is int and shift >= -FIXED_DIGITS and abs(text) < 10 ** FIXED_MAX_INT_DIGITS:
        return text * 10 ** (FIXED_DIGITS + shift)  # exact without Decimal
    value = Decimal(text)  # exact: no context rounding on construction
    sign = -1 if value.is_signed() else 1
    magnitude = value.adjusted() + shift  # the power of ten of its first digit, shifted
    if magnitude >= FIXED_MAX_INT_DIGITS:  # saturate, as the app path does (``1e999999`` too)
        return sign * 10 ** (FIXED_MAX_INT_DIGITS + FIXED_DIGITS)
    _, digits, exponent = value.as_tuple()
    if magnitude < -FIXED_DIGITS - 1:
        return 0
    whole = int("".join(map(str, digits)) or "0")
    shift = exponent + shift + FIXED_DIGITS
    return sign * (whole * 10 ** shift if shift >= 0 else whole // 10 ** -shift)


class JsonEntry(msgspec.Struct, frozen=True):
    """The parts of a JSON line that the app metrics need."""

    timestamp_ms: int
    level: str
    message: bytes
    response_time: int | None  # fixed ms
    metrics: list[tuple[str, int]]


_MISSING = object()


def _lookup(obj: dict, key: str):
    """``obj[key]``, or for a dotted key (``log.level``) the nested value; _MISSING if absent."""
    if key in obj:
        return obj[key]
    if "." not in key:
        return _MISSING
    node = obj
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _first(obj: dict, keys: tuple[str, ...]):
    """(key, value) of the first alias present, or (None, None)."""
    for key in keys:
        if key in obj:  # the common case first: a plain top-level key
            return key, obj[key]
        if "." in key:
            value = _lookup(obj, key)
            if value is not _MISSING:
                return key, value
    return None, None


_NUMBERS = (int, Number)


def _is_number(value) -> bool:
    return type(value) in _NUMBERS


def _timestamp(value) -> int | None:
    """Epoch ms of an ISO 8601 string, or of a non-negative epoch number by its magnitude."""
    kind = type(value)
    if kind is int:
        return epoch_ms(value)
    if kind is Number:
        try:
            return epoch_ms(Decimal(value))
        except InvalidOperation:  # an exponent past what Decimal holds: no time
            return None
    if kind is str:
        return parse_timestamp(value.encode("utf-8", "surrogatepass"))
    return None


_LEVELS: dict = {}
"""Level values seen, and what they mean (lines repeat a handful of them)."""


def _level(value) -> str | None:
    kind = type(value)
    if kind is not int and kind is not str:
        return None
    known = _LEVELS.get((kind, value), _MISSING)
    if known is _MISSING:
        if kind is int:
            known = NUMERIC_LEVELS.get(value)
        else:
            known = level_of_word(value.encode()) if value.isascii() and value.isalpha() else None
        if len(_LEVELS) < 4096:
            _LEVELS[(kind, value)] = known
    return known


def json_fields(line: bytes) -> tuple[int, str, bytes, int | None, list[tuple[str, int]]] | None:
    """What a `json` line says by its keys: (time, level, message, the response time of a
    response-time key or None, the resources of numeric keys); None when malformed.

    Malformed: not a JSON object, invalid UTF-8, NaN or Infinity, no valid
    timestamp; and (decisions, see the README) a missing or unknown level, or a
    message that is neither a string nor null.
    """
    if len(line) > MAX_LINE or not line.lstrip(b" \t").startswith(b"{"):
        return None
    try:
        obj = _decode(line)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    ms = _timestamp(_first(obj, TIME_KEYS)[1])
    if ms is None:
        return None
    level = _level(_first(obj, LEVEL_KEYS)[1])
    if level is None:
        return None
    text = _first(obj, MESSAGE_KEYS)[1]
    if text is not None and (not isinstance(text, str) or isinstance(text, Number)):
        return None
    message = (text or "").encode("utf-8", "surrogatepass")
    key, value = _first(obj, RESPONSE_KEYS)
    try:
        rt = number_fixed(value, _RESPONSE_SHIFT.get(key, 0)) if _is_number(value) else None
        metrics = [(k, number_fixed(v)) for k, v in obj.items() if type(v) in _NUMBERS and k not in ALIASES]
    except (InvalidOperation, ValueError):
        return None
    return ms, level, message, rt, metrics


def parse_json_line(line: bytes) -> JsonEntry | None:
    """A `json` entry (:func:`json_fields`, and the message's rules where no key gave a
    response time, and its ``key=value`` resources), or None when the line is malformed."""
    fields = json_fields(line)
    if fields is None:
        return None
    ms, level, message, rt, metrics = fields
    return JsonEntry(ms, level, message, response_time(message) if rt is None else rt,
                     metrics + resource_metrics(message))


def add_json_fast(partial: Partial, data, base: int, file_index: int, window: TimeBounds | None) -> int:
    """Add the `json` lines of ``data`` (whole lines, at file offset ``base``) to
    ``partial`` by the compiled scanner, a chunk of its own (``add_lines`` is the exact path it
    equals); how many lines went to the exact path."""
    return add_block_once(lambda reading: JSON.add_block(partial, data, base, reading, window), file_index)


def newest_json_entry(data: bytes) -> int | None:
    """The time of the newest `json` entry in ``data`` (whole lines), or None."""
    times = json_entries(data)[0]
    return int(times.max()) if len(times) else None


def json_entries(data) -> Entries:
    """Every `json` entry of ``data`` (whole lines): times, first bytes, newlines."""
    return compiled_entries(data, GRAMMAR_JSON, 0, parse_json_line)


def take_keyed(partial: Partial, e: JsonEntry, window: TimeBounds | None, where: tuple[int, int] | None = None) -> None:
    """Count an entry whose response time and resources were found by key (json, logfmt)."""
    partial.add_entry(e.timestamp_ms, e.level, e.message, window, e.response_time, e.metrics, where)


def add_json_lines(partial: Partial, data: bytes, base: int, file_index: int,
                   window: TimeBounds | None, reference_ms: int = 0) -> int:
    """Classify and count every `json` line of ``data`` into ``partial``; the number of lines."""
    return each_line(partial, data, base, file_index, parse_json_line,
                     lambda e, where: take_keyed(partial, e, window, where))


class JsonFormat(PerLineFormat):
    """The `json` format (see :mod:`lograd.formats`): line by line, decoded by msgspec."""

    name = "json"
    grammar = GRAMMAR_JSON
    example = '{"ts": "2024-01-24T10:15:32.123Z", "level": "info", "msg": "done", "latency_ms": 12.5}'

    def parse_line(self, line: bytes, reference_ms: int = 0) -> JsonEntry | None:
        return parse_json_line(line)

    add_lines = staticmethod(add_json_lines)


    def block_entries(self, block, reading: Reading) -> Entries:
        return json_entries(block)

    def take(self, partial: Partial, entry: JsonEntry, window: TimeBounds | None,
             where: tuple[int, int] | None = None) -> None:
        take_keyed(partial, entry, window, where)


JSON = JsonFormat()
