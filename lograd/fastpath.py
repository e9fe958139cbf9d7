"""The compiled path of the line formats: one pass over a block's bytes, no per-line Python objects.

A compiled scanner (Cython, :mod:`lograd._scanner`) reads every line of a
block once and decides it by SPEC §1's grammar: blank, malformed, or an entry with its time (fraction and
zone included), level, response time (the first match of the rule, found by
trying each keyword position in order, as a regular expression search does)
and ``key=value`` tokens (found from their ``=``). For the entry formats it adds
each decided entry straight into a :class:`~lograd._scanner.Tally`, the
chunk's accumulators (counts per level, second and minute, exact 128-bit sums,
sketch buckets, resources, templates, syslog hosts), which :func:`fold_tally`
turns into the partial's figures once the chunk ends: no row per line, no
second pass. The lines it does not decide come back per block as *exceptions*
for the format's Python code.

It is exact, not a heuristic: where a value cannot be held in an
int64 (a number of more than 18 significant digits once scaled) or a line is
longer than ``MAX_LINE``, the line is *undecided* and goes to the exact
per-line path of :mod:`lograd.aggregate`. Both paths fill the same
:class:`Partial`, so the result equals the per-line path's (property tests
compare them on generated and hostile input, for every format).

Access lines are a grammar of the Tally, whose :class:`~lograd._scanner.AccessCounters`
count their status codes, clients, paths and the rest beside; conn lines have a
counter of their own (:class:`~lograd._scanner.ConnRuns`).
"""
from __future__ import annotations

from array import array
from typing import TYPE_CHECKING, Callable

from .aggregate import SAMPLE_LIMIT, Partial, Resource, TimeBounds
from ._scanner import (ENTRY, GRAMMAR_ACCESS, GRAMMAR_APP, GRAMMAR_SYSLOG, MALFORMED, UNDECIDED,
                       TALLY_TEMPLATE_COLUMNS, WRAPPER_NONE, Tally)
from ._scanner import scan_heads as scanned_heads
from .access import AccessCounts
from .formats import Entries, Reading, entry_time
from .parsing import ERROR_LEVELS, LEVEL_ORDER, wide_sum
from .sketch import BOUNDS, COARSE, COARSE_SPAN, COARSE_ZERO, LOWEST_INDEX, MIN_POSITIVE
from .templates import GROUPS, TemplateFigures, group_of

if TYPE_CHECKING:
    import numpy as np

# The chunk's way (a tally, folded into a partial) makes no numpy array: the workers of
# every format but conn start without importing numpy (lograd.cli forks them first). The
# other ways (--last's scan, follow mode's time buckets) import it where they use it.
_BOUNDS = array("d", BOUNDS)
ERROR_IDS = array("B", [lvl in ERROR_LEVELS for lvl in LEVEL_ORDER])
GROUP_IDS = array("q", [group_of(lvl) for lvl in LEVEL_ORDER])
"""The template group (templates.GROUPS) of each scanner level id."""
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
OtherLines = Callable[[memoryview, Tally, "int | None"], int]
"""A format's reading of a block's exceptions: (the block, the tally that scanned it — its
``exceptions()``: (kind, start, end, next line's start) rows —, where its first entry
starts or None) -> how many lines went to the exact path."""


def block_lines(data) -> tuple[np.ndarray, np.ndarray, int]:
    """A block as bytes for a scanner: (the bytes, its newline positions, its number of lines)."""
    import numpy as np
    buf = np.frombuffer(data, dtype=np.uint8)
    newlines = np.flatnonzero(buf == 10)
    return buf, newlines, len(newlines) + (1 if len(buf) and buf[-1] != 10 else 0)


def window_bounds(window: TimeBounds | None) -> tuple[int, int]:
    """A window as the scanners take it: inclusive int64 bounds, open ends at the extremes
    (a bound past them, such as ``--to 1e20``, is an open end too)."""
    low, high = window if window is not None else (None, None)
    low = _INT64_MIN if low is None else min(max(low, _INT64_MIN), _INT64_MAX)
    high = _INT64_MAX if high is None else min(max(high, _INT64_MIN), _INT64_MAX)
    return low, high


def compiled_entries(data, grammar: int, reference_ms: int, parse: Callable[[bytes], tuple | None]) -> Entries:
    """Every entry of ``data`` (whole lines) by the scanner's ``grammar``, heads only; its
    undecided lines read by ``parse`` (the exact parser, giving (ms, ...) or None)."""
    import numpy as np
    if not len(data):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts, kinds, stamps = scan_heads(data, grammar, reference_ms)
    return scanned_entries(data, starts, kinds, stamps, parse)


def scan_heads(data, grammar: int = GRAMMAR_APP, reference_ms: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each line's start, kind and (entries) time in a block of whole lines, by ``grammar``."""
    import numpy as np
    buf, newlines, n = block_lines(data)
    starts, stamps, kinds = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.uint8)
    scanned_heads(buf, newlines, grammar, reference_ms, starts, kinds, stamps)
    return starts, kinds, stamps


def line_kinds(lines: list[bytes], grammar: int, reference_ms: int = 0) -> bytes:
    """Each line's kind by ``grammar`` (lines without their newline; a few, as detection
    reads): no numpy, so the command line detects formats before it has imported it."""
    ends, at = array("q"), -1
    for line in lines:
        at += len(line) + 1
        ends.append(at)
    kinds = bytearray(len(lines))
    starts, stamps = array("q", bytes(8 * len(lines))), array("q", bytes(8 * len(lines)))
    scanned_heads(b"\n".join(lines) + b"\n", ends, grammar, reference_ms, starts, kinds, stamps)
    return bytes(kinds)


def scanned_entries(data, starts, kinds, stamps, parse: Callable[[bytes], object]) -> Entries:
    """The entries of a scanned block: the scanner's, and the undecided lines read by
    ``parse`` (the exact parser, giving an entry or None)."""
    import numpy as np
    # a line ends where the next starts, but for its newline; the last at the block's end
    size = len(data)
    last = size - 1 if size and memoryview(data).cast("B")[size - 1] == 10 else size
    stops = np.append(starts[1:] - 1, last) if len(starts) else starts
    entry = kinds == ENTRY
    times, firsts, lasts = stamps[entry], starts[entry], stops[entry]
    undecided = np.flatnonzero(kinds == UNDECIDED).tolist()
    if not undecided:
        return times, firsts, lasts
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    extra = []
    for i in undecided:
        line = bytes(view[int(starts[i]):int(stops[i])])
        parsed = parse(line[:-1] if line.endswith(b"\r") else line)
        if parsed is not None:
            extra.append((entry_time(parsed), int(starts[i]), int(stops[i])))
    if not extra:
        return times, firsts, lasts
    more = np.array(extra, dtype=np.int64).T
    return tuple(np.concatenate([a, b]) for a, b in zip((times, firsts, lasts), more))



# -- the entry formats: a tally per chunk ----------------------------------------------------------


def new_tally(partial: Partial, window: TimeBounds | None, grammar: int, reference_ms: int = 0,
              wrapper: int = WRAPPER_NONE) -> Tally:
    """A tally that counts lines of ``grammar`` into figures for ``partial`` (its filters and
    whether it counts templates) inside ``window``."""
    tally = Tally(ERROR_IDS, GROUP_IDS, len(GROUPS), _BOUNDS, LOWEST_INDEX, COARSE, COARSE_ZERO,
                  COARSE_SPAN, MIN_POSITIVE, grammar, wrapper, reference_ms, *window_bounds(window),
                  partial.count_templates, grammar == GRAMMAR_SYSLOG)
    if partial.filters is not None:
        tally.filter(*partial.filters.scanner_terms())
    if grammar == GRAMMAR_ACCESS:
        tally.count_access()
    return tally


def add_tallied(partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None, grammar: int,
                other_lines: OtherLines, wrapper: int = WRAPPER_NONE) -> int:
    """Add a block of whole lines (at file offset ``base``) to ``partial`` by the scanner's
    ``grammar``: its entries into the chunk's tally (kept in ``reading`` until
    :func:`finish_tally`), its other lines to ``other_lines``. How many lines went to the
    exact path."""
    low_high = window_bounds(window)
    held = reading.tally
    if held is None or held[0] is not partial or held[1].window != low_high:
        finish_tally(reading)
        held = reading.tally = (partial, new_tally(partial, window, grammar, reading.reference_ms, wrapper))
    tally = held[1]
    tally.scan(block, base)
    view = memoryview(block).cast("B") if not isinstance(block, bytes) else block
    return other_lines(view, tally, None if tally.first_entry < 0 else tally.first_entry)


def finish_tally(reading: Reading) -> None:
    """Add the figures of the reading's tally, if any, to the partial it counts for."""
    if reading.tally is not None:
        partial, tally = reading.tally
        reading.tally = None
        fold_tally(partial, tally, reading.file_index)


def add_compiled(partial: Partial, data, base: int, reading: Reading, window: TimeBounds | None, grammar: int,
                 exact: Callable[[bytes, int], object]) -> int:
    """:func:`add_tallied` for the formats whose only exceptions are malformed lines and
    undecided ones, each given to ``exact(raw line, file offset)`` (the format's per-line
    path). How many lines were."""
    def other_lines(view, tally, first_entry) -> int:
        return add_exceptions(partial, view, tally.exceptions(), base, reading.file_index, exact)

    return add_tallied(partial, data, base, reading, window, grammar, other_lines)


def add_block_once(add_block: Callable[[Reading], int], file_index: int = 0, reference_ms: int = 0) -> int:
    """``add_block(reading)`` for one block that is all there is (a chunk of its own): its
    tally folded at once. What it returns."""
    reading = Reading(file_index, (), reference_ms)
    undecided = add_block(reading)
    finish_tally(reading)
    return undecided


def add_exceptions(partial: Partial, view, exceptions: list[tuple[int, int, int, int]], base: int,
                   file_index: int, exact: Callable[[bytes, int], object]) -> int:
    """Count a block's malformed lines into ``partial`` (the lowest offsets kept as samples);
    each undecided line goes to ``exact(raw line, file offset)``. Returns how many did.
    ``exceptions``: the block's (kind, start, end, next line's start) rows, in order."""
    malformed = [row for row in exceptions if row[0] == MALFORMED]
    if malformed:
        partial.malformed += len(malformed) - min(len(malformed), SAMPLE_LIMIT)
        for _, start, end, _ in malformed[:SAMPLE_LIMIT]:  # the lowest offsets: the only samples kept
            partial.add_malformed(file_index, base + start, bytes(view[start:end]))
    undecided = 0
    for kind, start, _, stop in exceptions:
        if kind == UNDECIDED:  # the raw line, its '\r' and '\n' included
            exact(bytes(view[start:stop]), base + start)
            undecided += 1
    return undecided


def fold_tally(p: Partial, tally: Tally, file_index: int) -> None:
    """Add everything ``tally`` counted to ``p`` (its template examples in file ``file_index``)."""
    tally.close()
    f = tally.figures()
    p.lines += tally.lines
    p.blank += tally.blank
    if tally.entries:
        p.add_entries(tally.entries, tally.first_ms, tally.last_ms)
    if tally.in_window:
        p.in_window += tally.in_window
        p.errors += tally.errors
        for level, n in zip(LEVEL_ORDER, f["levels"]):
            if n:
                p.levels[level] = p.levels.get(level, 0) + n
        p.per_second.add_wire(f["second_runs"], f["loose_seconds"])
        for minute, n, errors, rt_n, high, low in f["minutes"]:
            p.add_minute(minute, n, errors, rt_n, wide_sum(high, low))
    if tally.rt_count:
        p.add_response_times(tally.rt_count, wide_sum(*f["rt_total"]), tally.rt_low, tally.rt_high)
        p.rt_sketch.zeros += tally.rt_zeros
        buckets = p.rt_sketch.buckets
        for offset, n in f["buckets"]:
            index = offset + LOWEST_INDEX
            buckets[index] = buckets.get(index, 0) + n
        p.rt_minutes.add_wire(f["coarse_runs"])
    if len(tally.resources):
        _fold_resources(p, tally, f["resource_minutes"])
    if len(tally.templates):
        _fold_templates(p, tally, f["template_minutes"], file_index)
    if tally.access is not None:
        _fold_access(p, tally.access)
    for kind, table in (("host", tally.hosts), ("program", tally.programs)):
        for name, (n, errors) in zip(table.keys(), table.counts()):
            p.add_label(kind, name.decode("utf-8", "replace"), n, errors)


def _fold_access(p: Partial, counters) -> None:
    """Add a tally's access counters to ``p.access`` (made when an entry was inside the window)."""
    counts = AccessCounts.from_counters(counters)
    if counts.status:
        if p.access is None:
            p.access = counts
        else:
            p.access.merge(counts)


def _fold_resources(p: Partial, tally: Tally, runs: list[tuple]) -> None:
    """Add a tally's resources (totals per key; (key, minute, values, greatest, sum) runs)."""
    names = [key.decode("ascii") for key in tally.resources.keys()]
    per_minute: list[dict[int, list[int]]] = [{} for _ in names]
    for rid, minute, n, high, sum_high, sum_low in runs:
        minutes = per_minute[rid]
        total = wide_sum(sum_high, sum_low)
        slot = minutes.get(minute)
        if slot is None:
            minutes[minute] = [n, total, high]
        else:
            slot[0] += n
            slot[1] += total
            slot[2] = max(slot[2], high)
    for name, row, minutes in zip(names, tally.resources.counts(), per_minute):
        if not row[0]:  # known to a message's shape, its line then filtered out: not counted
            continue
        part = Resource(count=row[0], total=wide_sum(row[3], row[4]), low=row[1], high=row[2])
        part.per_minute = minutes
        resource = p.resources.get(name)
        if resource is None:
            p.resources[name] = part
        else:
            resource.merge(part)


def _fold_templates(p: Partial, tally: Tally, runs: list[tuple[int, int, int]], file_index: int) -> None:
    """Add a tally's templates (per template and group: counts, times, first offset, whether
    any came before the window; (template * groups + group, minute, entries) runs)."""
    groups = len(GROUPS)
    per_minute: dict[int, dict[int, int]] = {}
    for key, minute, n in runs:  # a few per template and minute: thousands in a chunk
        minutes = per_minute.get(key)
        if minutes is None:
            minutes = per_minute[key] = {}
        minutes[minute] = minutes.get(minute, 0) + n
    width = TALLY_TEMPLATE_COLUMNS
    for tid, (name, row) in enumerate(zip(tally.templates.keys(), tally.templates.counts())):
        for g in range(groups):
            counted, first_ms, last_ms, before, offset = row[g * width:g * width + 5]
            if counted:
                p.templates.add_figures(g, name, TemplateFigures(
                    counted, first_ms, last_ms, (file_index, offset), per_minute.get(tid * groups + g, {}), before > 0))
            elif before:
                p.templates.add_figures(g, name, TemplateFigures(before=True))
