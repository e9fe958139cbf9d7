"""JSON lines (SPEC §1 `json`): one object per line, then analysed exactly like `app`.

    {"ts": "2024-01-24T10:15:32.123Z", "level": "info", "msg": "done", "latency_ms": 12.5, "cpu": 80}

Keys are looked up by alias, the first present wins. Numbers keep their JSON
text so values become fixed-point exactly (no float rounding on the way).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np

from ..aggregate import Partial, Window, each_line
from ..conn import MAX_MS, MS_THRESHOLD
from ..parsing import (FIXED_DIGITS, FIXED_MAX_INT_DIGITS, MAX_LINE, level_name, resource_metrics,
                       response_time)
from . import EntryFormat, Entries, Reading
from .app import parse_timestamp

TIME_KEYS = ("timestamp", "time", "ts", "@timestamp")
LEVEL_KEYS = ("level", "severity", "lvl")
MESSAGE_KEYS = ("message", "msg")
RESPONSE_KEYS = ("response_time_ms", "duration_ms", "latency_ms")
ALIASES = frozenset(TIME_KEYS + LEVEL_KEYS + MESSAGE_KEYS + RESPONSE_KEYS)


class Number(str):
    """A JSON number, kept as its text."""


def _reject(name: str):
    raise ValueError(f"{name} is not a number")


def _decode(line: bytes):
    return json.loads(line, parse_float=Number, parse_int=Number, parse_constant=_reject)


def number_fixed(text: str) -> int:
    """A JSON number's exact value times 10**9, truncated toward zero (like ``to_fixed``)."""
    value = Decimal(text)  # exact: no context rounding on construction
    sign = -1 if value.is_signed() else 1
    if value.adjusted() >= FIXED_MAX_INT_DIGITS:  # saturate, as the app path does
        return sign * 10 ** (FIXED_MAX_INT_DIGITS + FIXED_DIGITS)
    _, digits, exponent = value.as_tuple()
    if value.adjusted() < -FIXED_DIGITS - 1:
        return 0
    whole = int("".join(map(str, digits)) or "0")
    shift = exponent + FIXED_DIGITS
    return sign * (whole * 10 ** shift if shift >= 0 else whole // 10 ** -shift)


@dataclass(frozen=True)
class JsonEntry:
    """The parts of a JSON line that the app metrics need."""

    timestamp_ms: int
    level: str
    message: bytes
    response_time: int | None  # fixed ms
    metrics: list[tuple[str, int]]


def _first(obj: dict, keys: tuple[str, ...]):
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None, None


def _timestamp(value) -> int | None:
    if isinstance(value, Number):
        if not value.isdigit():  # as in conn: a non-negative integer
            return None
        n = int(value)
        ms = n if n >= MS_THRESHOLD else n * 1000
        return ms if ms < MAX_MS else None
    if isinstance(value, str):
        return parse_timestamp(value.encode("utf-8", "surrogatepass"))
    return None


def parse_json_line(line: bytes) -> JsonEntry | None:
    """A `json` entry, or None when the line is malformed.

    Malformed: not a JSON object, invalid UTF-8, NaN or Infinity, no valid
    timestamp; and (decisions, see the README) a missing or unknown level, or a
    message that is neither a string nor null.
    """
    if len(line) > MAX_LINE or not line.lstrip(b" \t").startswith(b"{"):
        return None
    try:
        obj = _decode(line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(obj, dict):
        return None
    ms = _timestamp(_first(obj, TIME_KEYS)[1])
    if ms is None:
        return None
    word = _first(obj, LEVEL_KEYS)[1]
    level = (level_name(word.encode("utf-8", "surrogatepass"))
             if isinstance(word, str) and not isinstance(word, Number) else None)
    if level is None:
        return None
    text = _first(obj, MESSAGE_KEYS)[1]
    if text is not None and (not isinstance(text, str) or isinstance(text, Number)):
        return None
    message = (text or "").encode("utf-8", "surrogatepass")
    key, value = _first(obj, RESPONSE_KEYS)
    try:
        rt = number_fixed(value) if isinstance(value, Number) else response_time(message)
        metrics = [(k, number_fixed(v)) for k, v in obj.items()
                   if isinstance(v, Number) and k not in ALIASES]
    except (InvalidOperation, ValueError):
        return None
    return JsonEntry(ms, level, message, rt, metrics + resource_metrics(message))


def newest_json_entry(data: bytes) -> int | None:
    """The time of the newest `json` entry in ``data`` (whole lines), or None."""
    return max(json_entries(data)[0], default=None)


def json_entries(data: bytes) -> tuple[list[int], list[int], list[int]]:
    """Every `json` entry of ``data`` (whole lines): times, first bytes, newlines."""
    times, firsts, stops = [], [], []
    at = 0
    for raw in data.split(b"\n"):
        entry = parse_json_line(raw[:-1] if raw.endswith(b"\r") else raw)
        if entry is not None:
            times.append(entry.timestamp_ms)
            firsts.append(at)
            stops.append(at + len(raw))
        at += len(raw) + 1
    return times, firsts, stops


def add_json_lines(partial: Partial, data: bytes, base: int, file_index: int,
                   window: Window | None) -> int:
    """Classify and count every `json` line of ``data`` into ``partial``; the number of lines."""
    add_entry = partial.add_entry
    return each_line(partial, data, base, file_index, parse_json_line,
                      lambda e: add_entry(e.timestamp_ms, e.level, e.message, window, e.response_time, e.metrics))


class JsonFormat(EntryFormat):
    """The `json` format (see :mod:`lograd.formats`): line by line, the standard library's parser."""

    name = "json"
    example = '{"ts": "2024-01-24T10:15:32.123Z", "level": "info", "msg": "done", "latency_ms": 12.5}'

    def parse_line(self, line: bytes, reference_ms: int = 0) -> JsonEntry | None:
        return parse_json_line(line)

    def add_block(self, partial: Partial, block, base: int, reading: Reading, window: Window | None) -> None:
        partial.lines += add_json_lines(partial, bytes(block), base, reading.file_index, window)

    def block_entries(self, block, reading: Reading) -> Entries:
        return tuple(np.array(column, dtype=np.int64) for column in json_entries(bytes(block)))


JSON = JsonFormat()
