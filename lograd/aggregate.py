"""Partial aggregates: a chunk's lines summarised into something mergeable.

Pure: bytes of a chunk in, a :class:`Partial` out, no sockets, no files.
Everything in a partial merges exactly (integer counts and fixed-point sums,
min/max, bucket counts), so the merged report is the same for every chunking
and every merge order (SPEC §2).
"""
from __future__ import annotations

from itertools import chain
from operator import itemgetter

import msgspec

from .access import AccessCounts
from .conn import ConnCounts
from .parsing import (ERROR_LEVELS, MAX_LINE, BLANK_BYTES, checked_count as _count, plain_ints, resource_metrics,
                      response_time)
from .seconds import SecondCounts
from .filters import EntryFilter
from .templates import TemplateCounts, group_of, template_bytes
from .sketch import MinuteSketches, Sketch, coarse_of

SAMPLE_LIMIT = 5
SAMPLE_CHARS = 200

TimeBounds = tuple
"""The times an entry must lie between to count (--from/--to, or --last once the newest entry
is known): (first ms or None, last ms or None), inclusive. Not a SlidingWindow (follow mode)."""
FROM_MESSAGE = object()
"""An entry's response time is to be found in its message."""


class Resource(msgspec.Struct):
    """One resource key: count, fixed sum/min/max, and per minute [count, sum, max]."""

    count: int = 0
    total: int = 0
    low: int = 0
    high: int = 0
    per_minute: dict[int, list[int]] = msgspec.field(default_factory=dict)

    def add(self, value: int, minute: int) -> None:
        """Count one value seen in a minute."""
        if self.count == 0 or value < self.low:
            self.low = value
        if self.count == 0 or value > self.high:
            self.high = value
        self.count += 1
        self.total += value
        slot = self.per_minute.get(minute)
        if slot is None:
            self.per_minute[minute] = [1, value, value]
        else:
            slot[0] += 1
            slot[1] += value
            if value > slot[2]:
                slot[2] = value

    def merge(self, other: Resource) -> None:
        """Add another resource's values."""
        if other.count == 0:
            return
        if self.count == 0 or other.low < self.low:
            self.low = other.low
        if self.count == 0 or other.high > self.high:
            self.high = other.high
        self.count += other.count
        self.total += other.total
        for minute, (n, total, high) in other.per_minute.items():
            slot = self.per_minute.get(minute)
            if slot is None:
                self.per_minute[minute] = [n, total, high]
            else:
                slot[0] += n
                slot[1] += total
                if high > slot[2]:
                    slot[2] = high


class Partial(msgspec.Struct):
    """Mergeable summary of some lines of the input (one chunk, or many merged).

    Line counts and first/last cover every line; the metrics below
    ``in_window`` cover only entries inside the job's window.
    """

    lines: int = 0
    entries: int = 0
    malformed: int = 0
    blank: int = 0
    continuation: int = 0
    samples: list[tuple[int, int, str]] = msgspec.field(default_factory=list)
    # lines that are no entries, before any entry known in their file: continuation lines
    # if an entry of the file comes before them, else malformed (see add_unattached)
    first_entry: dict[int, int] = msgspec.field(default_factory=dict)  # file -> offset of its first entry
    unattached: dict[int, list[list[int]]] = msgspec.field(default_factory=dict)  # file -> [[offset, lines]]
    unattached_samples: dict[int, list[tuple[int, str]]] = msgspec.field(default_factory=dict)
    first_ms: int | None = None
    last_ms: int | None = None
    in_window: int = 0
    errors: int = 0
    levels: dict[str, int] = msgspec.field(default_factory=dict)
    per_second: SecondCounts = msgspec.field(default_factory=SecondCounts)
    per_minute: dict[int, list[int]] = msgspec.field(default_factory=dict)  # [requests, errors, rt n, rt sum]
    rt_count: int = 0
    rt_total: int = 0
    rt_low: int = 0
    rt_high: int = 0
    rt_sketch: Sketch = msgspec.field(default_factory=Sketch)
    rt_minutes: MinuteSketches = msgspec.field(default_factory=MinuteSketches)  # each minute's percentiles
    resources: dict[str, Resource] = msgspec.field(default_factory=dict)
    conn: ConnCounts | None = None  # the conn answers, when conn lines were read
    access: AccessCounts | None = None  # status codes, paths, clients, when access lines were read
    labels: dict[str, dict[str, list[int]]] = msgspec.field(default_factory=dict)
    """Entries inside the window by what a format names in them (syslog: ``host``, ``program``):
    kind -> name -> [entries, errors]."""
    templates: TemplateCounts = msgspec.field(default_factory=TemplateCounts)
    """Entries by the template of their message (entries with an empty message are not)."""
    filters: EntryFilter | None = None
    """What entries must pass besides the window to be counted (the job's --level, --grep,
    --template): how this partial is built, not part of what it holds (not sent)."""
    count_templates: bool = True
    """Whether entries' templates are counted (``--no-templates``: not; how it is built, not sent)."""

    def __eq__(self, other: object) -> bool:
        """Whether two partials hold the same figures (``filters`` and ``count_templates`` say
        how a partial is built, not what it holds: not compared)."""
        if type(other) is not Partial:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in _HELD)

    # -- building -----------------------------------------------------------

    def add_malformed(self, file_index: int, offset: int, line: bytes) -> None:
        """Count a malformed line and keep it as a sample if among the lowest offsets."""
        self.malformed += 1
        samples = self.samples
        key = (file_index, offset)
        if len(samples) < SAMPLE_LIMIT or key < samples[-1][:2]:
            samples.append((file_index, offset, _sample_text(line)))
            samples.sort()
            del samples[SAMPLE_LIMIT:]

    def add_unattached(self, file_index: int, offset: int, count: int,
                       samples: list[tuple[int, bytes]]) -> None:
        """Count ``count`` lines that are not entries, the first at ``offset``, and no entry
        between them: continuation lines when an entry of the file comes before ``offset``,
        else held until the report (malformed if none ever does). ``samples`` are the
        first few of them as (offset, line)."""
        self.add_held(file_index, [[offset, count]],
                      [(o, _sample_text(line)) for o, line in samples[:SAMPLE_LIMIT]])

    def note_entry(self, file_index: int, offset: int) -> None:
        """An entry of a file that has continuation lines starts at ``offset``."""
        first = self.first_entry.get(file_index)
        if first is None or offset < first:
            self.first_entry[file_index] = offset
            self._attach(file_index)

    def _attach(self, file_index: int) -> None:
        """Lines held in a file that now has an entry before them continue it."""
        groups = self.unattached.get(file_index)
        if not groups:
            return
        first = self.first_entry[file_index]
        held = [g for g in groups if g[0] < first]
        self.continuation += sum(n for o, n in groups if o > first)
        if held:
            self.unattached[file_index] = held
            self.unattached_samples[file_index] = [s for s in self.unattached_samples[file_index] if s[0] < first]
        else:
            del self.unattached[file_index]
            self.unattached_samples.pop(file_index, None)

    def settled(self) -> tuple[int, list[tuple[int, int, str]]]:
        """(malformed lines, samples) once every chunk is in: held lines with no entry
        before them in their file are malformed."""
        held = sum(n for groups in self.unattached.values() for _, n in groups)
        if not held:
            return self.malformed, self.samples
        extra = [(f, o, t) for f, kept in self.unattached_samples.items() for o, t in kept]
        return self.malformed + held, sorted(self.samples + extra)[:SAMPLE_LIMIT]

    def add_entry(self, ms: int, level: str, message: bytes, window: TimeBounds | None,
                  rt: int | None | object = FROM_MESSAGE, metrics: list | None = None,
                  where: tuple[int, int] | None = None) -> None:
        """Count one entry (its first line at ``where``: file index, offset); metrics only
        when it lies inside the window.

        The response time and resource metrics come from the message unless
        given (JSON lines carry them as keys).
        """
        self.entries += 1
        if self.first_ms is None or ms < self.first_ms:
            self.first_ms = ms
        if self.last_ms is None or ms > self.last_ms:
            self.last_ms = ms
        if self.filters is not None and not self.filters.passes(level, message):
            return  # as an entry outside the window, and not one before it either
        counted = window is None or inside(ms, window)
        if message and self.count_templates and (counted or (window[0] is not None and ms < window[0])):
            template = template_bytes(message)
            if template:
                self.templates.add(group_of(level), template, ms, counted, where)
        if not counted:
            return
        self.in_window += 1
        self.levels[level] = self.levels.get(level, 0) + 1
        self.per_second.add(ms // 1000)
        minute = ms // 60_000
        slot = self.per_minute.get(minute)
        if slot is None:
            slot = self.per_minute[minute] = [0, 0, 0, 0]
        slot[0] += 1
        if level in ERROR_LEVELS:
            self.errors += 1
            slot[1] += 1
        if rt is FROM_MESSAGE:
            rt = response_time(message)
        if rt is not None:
            if self.rt_count == 0 or rt < self.rt_low:
                self.rt_low = rt
            if self.rt_count == 0 or rt > self.rt_high:
                self.rt_high = rt
            self.rt_count += 1
            self.rt_total += rt
            self.rt_sketch.add(fixed_ms(rt))
            self.rt_minutes.add(minute, coarse_of(fixed_ms(rt)))
            slot[2] += 1
            slot[3] += rt
        for key, value in resource_metrics(message) if metrics is None else metrics:
            resource = self.resources.get(key)
            if resource is None:
                resource = self.resources[key] = Resource()
            resource.add(value, minute)

    def add_entries(self, count: int, first_ms: int, last_ms: int) -> None:
        """Count ``count`` entries (``count`` > 0), the oldest at ``first_ms``, the newest at ``last_ms``."""
        self.entries += count
        self.first_ms = first_ms if self.first_ms is None else min(self.first_ms, first_ms)
        self.last_ms = last_ms if self.last_ms is None else max(self.last_ms, last_ms)

    def add_minute(self, minute: int, requests: int, errors: int, timed: int, time_sum: int) -> None:
        """Add entries, errors, response times and their fixed sum to one minute."""
        slot = self.per_minute.get(minute)
        if slot is None:
            self.per_minute[minute] = [requests, errors, timed, time_sum]
        else:
            slot[0] += requests
            slot[1] += errors
            slot[2] += timed
            slot[3] += time_sum

    def add_response_times(self, count: int, total: int, low: int, high: int) -> None:
        """Add ``count`` response times (``count`` > 0) of fixed sum ``total``, least ``low``
        and greatest ``high`` to the totals (the sketch apart)."""
        if self.rt_count == 0 or low < self.rt_low:
            self.rt_low = low
        if self.rt_count == 0 or high > self.rt_high:
            self.rt_high = high
        self.rt_count += count
        self.rt_total += total

    def add_held(self, file_index: int, groups: list[list[int]], samples: list[tuple[int, str]]) -> None:
        """Take another partial's held lines of a file (see :meth:`add_unattached`)."""
        first = self.first_entry.get(file_index)
        for offset, count in groups:
            if first is not None and first < offset:
                self.continuation += count
            else:
                self.unattached.setdefault(file_index, []).append([offset, count])
        kept = self.unattached_samples.setdefault(file_index, [])
        kept.extend(s for s in samples if first is None or s[0] < first)
        kept.sort()
        del kept[SAMPLE_LIMIT:]
        if not kept:
            del self.unattached_samples[file_index]

    def add_label(self, kind: str, name: str, n: int = 1, errors: int = 0) -> None:
        """Count ``n`` entries inside the window (``errors`` of them errors) under ``name``
        of ``kind`` (a syslog host, say)."""
        mine = self.labels.setdefault(kind, {})
        slot = mine.get(name)
        if slot is None:
            mine[name] = [n, errors]
        else:
            slot[0] += n
            slot[1] += errors

    def metrics_only(self) -> Partial:
        """This partial without its line counts (lines, entries, malformed, blank,
        samples, first and last time) and which templates came before the window: the
        metrics of a time bucket. Returns self."""
        self.lines = self.entries = self.malformed = self.blank = self.continuation = 0
        self.samples = []
        self.first_entry, self.unattached, self.unattached_samples = {}, {}, {}
        self.first_ms = self.last_ms = None
        self.templates.metrics_only()
        return self

    # -- merging ------------------------------------------------------------

    def merge(self, other: Partial) -> None:
        """Add another partial; the result does not depend on merge order."""
        self.lines += other.lines
        self.entries += other.entries
        self.malformed += other.malformed
        self.blank += other.blank
        self.continuation += other.continuation
        if other.samples:
            self.samples = sorted(self.samples + other.samples)[:SAMPLE_LIMIT]
        for f, groups in other.unattached.items():
            self.add_held(f, groups, other.unattached_samples.get(f, []))
        for f, offset in other.first_entry.items():
            self.note_entry(f, offset)
        if other.first_ms is not None and (self.first_ms is None or other.first_ms < self.first_ms):
            self.first_ms = other.first_ms
        if other.last_ms is not None and (self.last_ms is None or other.last_ms > self.last_ms):
            self.last_ms = other.last_ms
        self.in_window += other.in_window
        self.errors += other.errors
        _add_counts(self.levels, other.levels)
        self.per_second.merge(other.per_second)
        for minute, values in other.per_minute.items():
            self.add_minute(minute, *values)
        if other.rt_count:
            self.add_response_times(other.rt_count, other.rt_total, other.rt_low, other.rt_high)
            self.rt_sketch.merge(other.rt_sketch)
            self.rt_minutes.merge(other.rt_minutes)
        for key, resource in other.resources.items():
            mine = self.resources.get(key)
            if mine is None:
                mine = self.resources[key] = Resource()
            mine.merge(resource)
        for kind, names in other.labels.items():
            for name, (n, errors) in names.items():
                self.add_label(kind, name, n, errors)
        if other.conn is not None:
            if self.conn is None:
                self.conn = ConnCounts(other.conn.hosts)
            self.conn.merge(other.conn)
        if other.access is not None:
            if self.access is None:
                self.access = AccessCounts()
            self.access.merge(other.access)
        if other.templates:
            self.templates.merge(other.templates)

    # -- wire form ----------------------------------------------------------

    def to_wire(self) -> dict:
        """Plain msgpack-able values; fixed-point numbers beyond 64 bits become strings."""
        return {
            "n": [self.lines, self.entries, self.malformed, self.blank, self.in_window, self.errors],
            "cont": [self.continuation, [[f, o] for f, o in self.first_entry.items()],
                     [[f, groups, [list(s) for s in self.unattached_samples.get(f, [])]]
                      for f, groups in self.unattached.items()]],
            "samples": [list(s) for s in self.samples],
            "span": [self.first_ms, self.last_ms],
            "levels": self.levels,
            "seconds": self.per_second.to_wire(),
            "minutes": [[m, *(_wide(v) for v in vals)] for m, vals in sorted(self.per_minute.items())],
            "rt": [self.rt_count, _wide(self.rt_total), _wide(self.rt_low), _wide(self.rt_high),
                   self.rt_sketch.to_wire()],
            "rtm": self.rt_minutes.to_wire(),
            "res": {k: [r.count, _wide(r.total), _wide(r.low), _wide(r.high),
                        [[m, c, _wide(t), _wide(h)] for m, (c, t, h) in sorted(r.per_minute.items())]]
                    for k, r in self.resources.items()},
            "conn": None if self.conn is None else self.conn.to_wire(),
            "access": None if self.access is None else self.access.to_wire(),
            "labels": {kind: [[name, n, e] for name, (n, e) in names.items()] for kind, names in self.labels.items()},
            "templates": self.templates.to_wire() if self.templates else None,
        }

    @classmethod
    def from_wire(cls, data: dict) -> Partial:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        try:
            p = cls()
            p.lines, p.entries, p.malformed, p.blank, p.in_window, p.errors = (
                _count(v) for v in data["n"])
            p.samples = sorted((_count(f), _count(o), str(t)[:SAMPLE_CHARS])
                               for f, o, t in data["samples"])[:SAMPLE_LIMIT]
            if "cont" in data:
                continuation, firsts, held = data["cont"]
                p.continuation = _count(continuation)
                for f, offset in firsts:
                    p.note_entry(_count(f), _count(offset))
                for f, groups, samples in held:
                    p.add_held(_count(f), [[_count(o), _positive(n)] for o, n in groups],
                               [(_count(o), str(t)[:SAMPLE_CHARS]) for o, t in samples])
            first, last = data["span"]
            p.first_ms = None if first is None else _narrow(first)
            p.last_ms = None if last is None else _narrow(last)
            p.levels = {str(k): _count(v) for k, v in data["levels"].items()}
            p.per_second = SecondCounts.from_wire(data["seconds"])
            rows = data["minutes"]
            if plain_ints(chain.from_iterable(rows)):  # (sums past 64 bits come as strings)
                p.per_minute = {m: vals for m, *vals in rows}
            else:
                p.per_minute = {_narrow(m): [_narrow(v) for v in vals] for m, *vals in rows}
            if any(len(v) != 4 for v in p.per_minute.values()):
                raise ValueError("minute entry of the wrong length")
            n, total, low, high, sketch = data["rt"]
            p.rt_count, p.rt_total, p.rt_low, p.rt_high = _count(n), _narrow(total), _narrow(low), _narrow(high)
            p.rt_sketch = Sketch.from_wire(sketch)
            p.rt_minutes = MinuteSketches.from_wire(data["rtm"])
            for key, (n, total, low, high, minutes) in data["res"].items():
                if minutes and plain_ints(chain.from_iterable(minutes)) and min(map(itemgetter(1), minutes)) > 0:
                    per_minute = {m: [c, t, h] for m, c, t, h in minutes}
                else:
                    per_minute = {_narrow(m): [_positive(c), _narrow(t), _narrow(h)] for m, c, t, h in minutes}
                p.resources[str(key)] = Resource(  # a key or minute without values is no resource
                    _positive(n), _narrow(total), _narrow(low), _narrow(high), per_minute)
            for kind, names in data.get("labels", {}).items():
                p.labels[str(kind)] = {str(name): [_positive(n), _count(e)] for name, n, e in names}
            if data.get("conn") is not None:
                p.conn = ConnCounts.from_wire(data["conn"])
            if data.get("access") is not None:
                p.access = AccessCounts.from_wire(data["access"])
            if data.get("templates") is not None:
                p.templates = TemplateCounts.from_wire(data["templates"])
            return p
        except (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError) as exc:
            raise ValueError(f"malformed partial: {exc!r}") from None


def each_line(partial: Partial, data: bytes, base: int, file_index: int, parse, take) -> int:
    """Each line of ``data``: ``take(parse(line), (file_index, offset))`` for entries, else
    blank or malformed."""
    parts = data.split(b"\n")
    if parts[-1] == b"":
        parts.pop()
    offset = base
    for raw in parts:
        line = raw[:-1] if raw[-1:] == b"\r" else raw
        parsed = parse(line)
        if parsed is not None:
            take(parsed, (file_index, offset))
        elif len(line) <= MAX_LINE and not line.strip(BLANK_BYTES):
            partial.blank += 1
        else:
            partial.add_malformed(file_index, offset, line)
        offset += len(raw) + 1
    return len(parts)


def _sample_text(line: bytes) -> str:
    """A line as a sample shows it: decoded with replacement characters, cut to SAMPLE_CHARS."""
    return line[:4 * SAMPLE_CHARS].decode("utf-8", "replace")[:SAMPLE_CHARS]


def fixed_ms(value: int) -> float:
    """A fixed value as the float the sketch buckets (the same rounding numpy uses)."""
    return float(value) / 1e9


def inside(ms: int, window: TimeBounds) -> bool:
    low, high = window
    return (low is None or ms >= low) and (high is None or ms <= high)


def _add_counts(mine: dict, other: dict) -> None:
    for key, n in other.items():
        mine[key] = mine.get(key, 0) + n


_INT64 = 1 << 63


def _wide(value: int) -> int | str:
    """An exact integer as msgpack can carry it: a string past 64 bits."""
    return value if -_INT64 <= value < _INT64 else str(value)


def _narrow(value: int | str) -> int:
    if isinstance(value, str):
        if len(value) > 80:
            raise ValueError("number too long")
        return int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"not an integer: {value!r}")
    return value


def _positive(value) -> int:
    if _count(value) == 0:
        raise ValueError("a count of 0 where values were promised")
    return value


_HELD = tuple(name for name in Partial.__struct_fields__ if name not in ("filters", "count_templates"))
"""The fields of a Partial that hold figures (what equality compares)."""
