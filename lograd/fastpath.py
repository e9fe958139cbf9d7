"""The compiled path of the line formats: one pass over a block's bytes, no per-line Python objects.

A compiled scanner (Cython, :mod:`lograd._scanner`) reads every line of a
block once and decides it by SPEC §1's grammar: blank, malformed, or an entry with its time (fraction and
zone included), level, response time (the first match of the rule, found by
trying each keyword position in order, as a regular expression search does)
and ``key=value`` tokens (found from their ``=``). It writes one row per line
into arrays; numpy then aggregates the rows (bincount, grouping by minute).

It is exact, not a heuristic: where a value cannot be held in an
int64 (a number of more than 18 significant digits once scaled) or a line is
longer than ``MAX_LINE``, the line is *undecided* and goes to the exact
per-line path of :mod:`lograd.aggregate`. Both paths fill the same
:class:`Partial`, so the result equals the per-line path's (property tests
compare them on generated and hostile input).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .aggregate import SAMPLE_LIMIT, Partial, Resource, TimeBounds
from ._scanner import (BLANK, ENTRY, GRAMMAR_APP, GRAMMAR_JSON, GRAMMAR_LOGFMT, GRAMMAR_SYSLOG, MALFORMED,
                       TEMPLATE_COLUMNS, UNDECIDED, WRAPPER_NONE, SpanTable, scan_app, template_ids)
from .formats import Entries, entry_time
from .parsing import ERROR_LEVELS, LEVEL_ORDER
from .sketch import BOUNDS, COARSE, COARSE_ZERO, LOWEST_INDEX, MIN_POSITIVE
from .templates import GROUPS, TemplateCounts, TemplateFigures, group_of

_BOUNDS = np.array(BOUNDS)
ERROR_IDS = np.array([lvl in ERROR_LEVELS for lvl in LEVEL_ORDER])
LEVEL_IDS = {name: i for i, name in enumerate(LEVEL_ORDER)}
"""The scanner's id of each reported level."""
_DENSE_BINS = 1 << 16
"""Templates times minutes of a block up to which they are counted in one bincount."""
GROUP_IDS = np.array([group_of(lvl) for lvl in LEVEL_ORDER], np.int64)
"""The template group (templates.GROUPS) of each scanner level id."""
_EXACT_ROWS = 1 << 20
"""Rows per float64 bincount of 32-bit halves: every bin's sum stays below 2**53."""
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
KEYED_GRAMMARS = (GRAMMAR_LOGFMT, GRAMMAR_JSON)
"""Grammars of lines that carry keys: the scanner writes their metric rows line by line."""


def block_lines(data) -> tuple[np.ndarray, np.ndarray, int]:
    """A block as bytes for a scanner: (the bytes, its newline positions, its number of lines)."""
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


def add_scanned(partial: Partial, data, where: tuple[int, int], window: TimeBounds | None, grammar: int,
                reference_ms: int, other_lines: Callable, entries_hook: Callable | None = None,
                wrapper: int = WRAPPER_NONE) -> int:
    """Scan a block of whole lines (``where``: its file index and offset) by ``grammar`` and
    add its entries to ``partial``; ``other_lines(view, starts, ends, kinds)`` counts the rest and returns how many lines
    went to the exact path, which this returns. ``entries_hook(view, rows, spans, errors)`` sees the
    rows of the entries inside the window, and which are errors (syslog counts their hosts and
    programs). With ``wrapper`` each line is a container runtime's and ``grammar`` reads its content."""
    if not len(data):
        return 0
    (starts, ends, kinds, stamps, levels, inside, has_rt, rts, m_line, m_at, m_len, m_key, m_value, spans,
     messages, message_ends) = scan_block(data, window, False, grammar, reference_ms, wrapper)
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    undecided = other_lines(view, starts, ends, kinds)
    keep = None
    if partial.filters is not None:  # entries that do not pass: as if outside the window
        keep = partial.filters.keep_rows(view, kinds, levels, messages, message_ends, ENTRY)
        inside &= keep
        if len(m_line):
            kept = inside[m_line]
            m_line, m_at, m_len, m_key, m_value = (m_line[kept], m_at[kept], m_len[kept], m_key[kept],
                                                   m_value[kept])
    if partial.count_templates:
        before = (kinds == ENTRY) & (stamps < window_bounds(window)[0])
        if keep is not None:
            before &= keep
        add_template_rows(partial.templates, view, kinds, starts, stamps, levels, inside, before, messages,
                          message_ends, where)
    if entries_hook is not None:
        rows = np.flatnonzero(inside & (kinds == ENTRY))
        entries_hook(view, rows, spans, ERROR_IDS[levels[rows]])
    aggregate_rows(partial, stamps, kinds == ENTRY, inside, levels, has_rt, rts)
    if len(m_line):
        add_resource_rows(partial, view, stamps[m_line], m_at, m_len, m_key, m_value)
    return undecided


def add_compiled(partial: Partial, data, base: int, file_index: int, window: TimeBounds | None, grammar: int,
                 reference_ms: int, exact: Callable[[bytes, int], object],
                 entries_hook: Callable | None = None) -> int:
    """Add a block of whole lines (at file offset ``base``) to ``partial`` by the scanner's
    ``grammar``; its blank and malformed lines counted, each undecided line given to
    ``exact(raw line, file offset)`` (the format's per-line path). How many lines were."""
    def other_lines(view, starts, ends, kinds) -> int:
        return add_other_lines(partial, view, starts, ends, kinds, base, file_index, exact)

    return add_scanned(partial, data, (file_index, base), window, grammar, reference_ms, other_lines, entries_hook)


def compiled_entries(data, grammar: int, reference_ms: int, parse: Callable[[bytes], tuple | None]) -> Entries:
    """Every entry of ``data`` (whole lines) by the scanner's ``grammar``, heads only; its
    undecided lines read by ``parse`` (the exact parser, giving (ms, ...) or None)."""
    if not len(data):
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64)
    starts, _, kinds, stamps, *_ = scan_block(data, None, True, grammar, reference_ms)
    return scanned_entries(data, starts, kinds, stamps, parse)


def scan_block(data, window: TimeBounds | None, heads_only: bool = False, grammar: int = GRAMMAR_APP,
               reference_ms: int = 0, wrapper: int = WRAPPER_NONE):
    """The scanner's rows for a block: (starts, ends, kinds, stamps, levels, inside, has
    response time, response times, the metric rows: line, key at, key length, key, value,
    for syslog each line's host and program spans, and where each entry's message starts
    and ends)."""
    buf, newlines, n = block_lines(data)
    no_rows = np.zeros(0, np.int64)
    if grammar in KEYED_GRAMMARS:  # rows written line by line: at most one per '=' (and ':' in json)
        equals = no_rows
        rows = 0 if heads_only else int(np.count_nonzero(buf == 61)) + (
            int(np.count_nonzero(buf == 58)) if grammar == GRAMMAR_JSON else 0)
    else:
        equals = no_rows if heads_only else np.flatnonzero(buf == 61)
        rows = len(equals)
    starts, ends, messages, message_ends, stamps, levels, rts = (np.empty(n, np.int64) for _ in range(7))
    kinds, inside, has_rt = (np.empty(n, np.uint8) for _ in range(3))
    metrics = [np.empty(rows, np.int64) for _ in range(5)]
    spans = np.zeros((n if grammar == GRAMMAR_SYSLOG else 1, 4), np.int64)
    m = scan_app(buf, newlines, equals, *window_bounds(window), heads_only, grammar, reference_ms,
                 starts, ends, messages, message_ends, kinds, stamps, levels, inside, has_rt, rts, *metrics, spans,
                 wrapper)
    return (starts, ends, kinds, stamps, levels, inside.view(bool), has_rt.view(bool), rts,
            *(column[:m] for column in metrics), spans, messages, message_ends)


def add_template_rows(templates: TemplateCounts, view, kinds, starts, stamps, levels, inside, before, messages,
                      message_ends, where: tuple[int, int]) -> None:
    """Count the templates of a scanned block's entries (their messages masked and counted by
    the scanner) into ``templates``: per template and level group, the entries inside the
    window by minute, the first of them (``where`` is the block's file index and offset) and
    whether any lies before the window (``before``: a bool per line)."""
    groups = len(GROUPS)
    table = SpanTable(groups * TEMPLATE_COLUMNS)
    keys = np.empty(len(kinds), np.int64)
    template_ids(view, kinds, messages, message_ends, levels, stamps, inside.view(np.uint8), before.view(np.uint8),
                 GROUP_IDS, table, keys)
    if not len(table):
        return
    rows = np.flatnonzero(keys >= 0)
    per_minute: dict[int, dict[int, int]] = {}
    if len(rows):
        minutes = stamps[rows] // 60_000
        first, last = int(minutes.min()), int(minutes.max())
        if first < last:  # else each key's count inside the window is its count of that one minute
            span = last - first + 1
            pairs = keys[rows] * span + (minutes - first)
            if len(table) * groups * span <= _DENSE_BINS:  # a count per (key, minute): no sort
                n = np.bincount(pairs)
                pairs = np.flatnonzero(n)
                n = n[pairs]
            else:
                pairs, n = np.unique(pairs, return_counts=True)
            for pair, count in zip(pairs.tolist(), n.tolist()):
                per_minute.setdefault(pair // span, {})[pair % span + first] = count
    file_index, base = where
    for tid, (name, row) in enumerate(zip(table.keys(), table.counts().tolist())):
        for g in range(groups):
            counted, first_ms, last_ms, before, line = row[g * TEMPLATE_COLUMNS:(g + 1) * TEMPLATE_COLUMNS]
            if counted:
                templates.add_figures(g, name, TemplateFigures(
                    counted, first_ms, last_ms, (file_index, base + int(starts[line])),
                    per_minute.get(tid * groups + g) or {first: counted}, before > 0))
            elif before:
                templates.add_figures(g, name, TemplateFigures(before=True))


def add_other_lines(partial: Partial, view, starts, ends, kinds, base: int, file_index: int,
                    exact: Callable[[bytes, int], object]) -> int:
    """Count a scanned block's lines into ``partial``, with its blank and malformed lines;
    each undecided line goes to ``exact(raw line, file offset)``. Returns how many did."""
    partial.lines += len(kinds)
    partial.blank += int(np.count_nonzero(kinds == BLANK))
    malformed = np.flatnonzero(kinds == MALFORMED)
    if len(malformed):
        partial.malformed += len(malformed) - min(len(malformed), SAMPLE_LIMIT)
        for i in malformed[:SAMPLE_LIMIT].tolist():  # the lowest offsets: the only samples kept
            start = int(starts[i])
            partial.add_malformed(file_index, base + start, bytes(view[start:int(ends[i])]))
    undecided = np.flatnonzero(kinds == UNDECIDED).tolist()
    for i in undecided:
        start = int(starts[i])
        stop = int(ends[i])
        while stop < len(view) and view[stop] != 10:  # the raw line, its '\r' and '\n' included
            stop += 1
        exact(bytes(view[start:stop + 1]), base + start)
    return len(undecided)


def scanned_entries(data, starts, kinds, stamps, parse: Callable[[bytes], object]) -> Entries:
    """The entries of a scanned block: the scanner's, and the undecided lines read by
    ``parse`` (the exact parser, giving an entry or None)."""
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


# -- aggregation -----------------------------------------------------------------------------------


def _bins(values: np.ndarray) -> tuple[int, np.ndarray] | None:
    """(lowest, values - lowest) when the values span few bins; None when too spread out."""
    low, high = int(values.min()), int(values.max())
    if high - low > 4 * len(values) + 4096:
        return None
    return low, values - low


def _exact_bin_sums(index: np.ndarray, values: np.ndarray, nbins: int) -> list[int]:
    """Exact integer sums of int64 ``values`` per bin (float64 bincount of 32-bit halves)."""
    totals = [0] * nbins
    for at in range(0, len(values), _EXACT_ROWS):
        part, idx = values[at:at + _EXACT_ROWS], index[at:at + _EXACT_ROWS]
        high_sum = np.bincount(idx, weights=part >> 32, minlength=nbins)
        low_sum = np.bincount(idx, weights=part & 0xFFFFFFFF, minlength=nbins)
        for i, (h, lo) in enumerate(zip(high_sum.tolist(), low_sum.tolist())):
            if h or lo:
                totals[i] += (int(h) << 32) + int(lo)
    return totals


def exact_sum(values: np.ndarray) -> int:
    """The exact sum of int64 values (no overflow)."""
    return (int((values >> 32).sum()) << 32) + int((values & 0xFFFFFFFF).sum())


def count_into(counts: dict, keys: np.ndarray) -> None:
    """Add how often each key occurs to ``counts``."""
    spread = _bins(keys)
    if spread is None:
        distinct, n = np.unique(keys, return_counts=True)
        pairs = zip(distinct.tolist(), n.tolist())
    else:
        low, index = spread
        n = np.bincount(index)
        nz = np.flatnonzero(n)
        pairs = zip((nz + low).tolist(), n[nz].tolist())
    for k, c in pairs:
        counts[k] = counts.get(k, 0) + c


def _group(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, index of each row's key) — by bins when keys are close, else by sorting."""
    spread = _bins(keys)
    if spread is None:
        distinct, index = np.unique(keys, return_inverse=True)
        return distinct, index.reshape(-1)
    low, index = spread
    used = np.flatnonzero(np.bincount(index))
    remap = np.zeros(int(index.max()) + 1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    return used + low, remap[index]


def aggregate_rows(p: Partial, stamp, fast, inside, level_id, has_rt, rt_value) -> None:
    """Add the scanner's entry rows to ``p``: ``fast`` marks the entries, ``inside`` those
    inside the window; times, level ids, and response times where ``has_rt``."""
    entries = stamp[fast]
    if not len(entries):
        return
    p.entries += len(entries)
    low, high = int(entries.min()), int(entries.max())
    p.first_ms = low if p.first_ms is None else min(p.first_ms, low)
    p.last_ms = high if p.last_ms is None else max(p.last_ms, high)
    ms = stamp[inside]
    if not len(ms):
        return
    p.in_window += len(ms)
    lid = level_id[inside]
    levels = np.bincount(lid, minlength=len(LEVEL_ORDER))
    for i in np.flatnonzero(levels).tolist():
        p.levels[LEVEL_ORDER[i]] = p.levels.get(LEVEL_ORDER[i], 0) + int(levels[i])
    is_error = ERROR_IDS[lid]
    p.errors += int(np.count_nonzero(is_error))
    seconds = ms // 1000
    spread = _bins(seconds)
    if spread is None:
        for second, n in zip(*(a.tolist() for a in np.unique(seconds, return_counts=True))):
            p.per_second.add(second, n)
    else:
        p.per_second.add_run(spread[0], np.bincount(spread[1]))
    minutes, index = _group(seconds // 60)
    nbins = len(minutes)
    requests = np.bincount(index, minlength=nbins)
    errors = np.bincount(index[is_error], minlength=nbins)
    rt_mask = has_rt[inside]
    rts = rt_value[inside][rt_mask]
    rt_index = index[rt_mask]
    rt_n = np.bincount(rt_index, minlength=nbins)
    rt_sums = _exact_bin_sums(rt_index, rts, nbins)
    for m, req, err, n_rt, rt_sum in zip(minutes.tolist(), requests.tolist(), errors.tolist(),
                                         rt_n.tolist(), rt_sums):
        slot = p.per_minute.get(m)
        if slot is None:
            p.per_minute[m] = [req, err, n_rt, rt_sum]
        else:
            slot[0] += req
            slot[1] += err
            slot[2] += n_rt
            slot[3] += rt_sum
    if len(rts):
        low, high = int(rts.min()), int(rts.max())
        if p.rt_count == 0 or low < p.rt_low:
            p.rt_low = low
        if p.rt_count == 0 or high > p.rt_high:
            p.rt_high = high
        p.rt_count += len(rts)
        p.rt_total += exact_sum(rts)
        as_float = rts.astype(np.float64) / 1e9  # what aggregate.fixed_ms gives, bit for bit
        zeros = as_float < MIN_POSITIVE
        p.rt_sketch.zeros += int(np.count_nonzero(zeros))
        buckets = bucket_index(as_float[~zeros]) + LOWEST_INDEX
        if len(buckets):
            count_into(p.rt_sketch.buckets, buckets)
        coarse = np.full(len(rts), COARSE_ZERO, dtype=np.int64)
        coarse[~zeros] = buckets // COARSE
        p.rt_minutes.add_many(minutes[rt_index], coarse)


_LOG_GAMMA = float(np.log(_BOUNDS[1] / _BOUNDS[0]))


def bucket_index(values: np.ndarray) -> np.ndarray:
    """``searchsorted(BOUNDS, values, "left")`` capped at the last bucket, via a logarithm.

    The logarithm lands on the bucket or next to it; comparisons with the
    boundaries then settle it exactly, as a binary search would.
    """
    last = len(_BOUNDS) - 1
    guess = np.clip(np.ceil(np.log(values) / _LOG_GAMMA).astype(np.int64) - LOWEST_INDEX, 0, last)
    for _ in range(2):
        guess -= (guess > 0) & (_BOUNDS[np.maximum(guess - 1, 0)] >= values)
        guess += (guess < last) & (_BOUNDS[guess] < values)
    return guess


def _key_names(view, key_at: np.ndarray, key_len: np.ndarray,
               key_packed: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(distinct key names, index of each token's key)."""
    if (key_len <= 8).all():  # the common case: the scanner packed each key into one int64
        distinct, index = np.unique(key_packed, return_inverse=True)
        names = [int(k).to_bytes(8, "little").rstrip(b"\0").decode("ascii") for k in distinct.tolist()]
        return names, index.reshape(-1)
    ids: dict[str, int] = {}
    index = np.array([ids.setdefault(bytes(view[a:a + n]).decode("ascii"), len(ids))
                      for a, n in zip(key_at.tolist(), key_len.tolist())], dtype=np.int64)
    return list(ids), index


def add_resource_rows(p: Partial, view, stamps, key_at, key_len, key_packed, values) -> None:
    """Add the scanner's ``key=value`` rows (their entries' times ``stamps``) to ``p``."""
    names, key_index = _key_names(view, key_at, key_len, key_packed)
    minutes = stamps // 60_000
    for kid, name in enumerate(names):
        sel = key_index == kid
        add_resource_values(p, name, values[sel], minutes[sel])


def add_resource_values(p: Partial, name: str, values, minutes) -> None:
    """Add values of resource ``name`` (fixed int64s), each seen in the minute beside it."""
    v, mins = np.asarray(values, np.int64), np.asarray(minutes, np.int64)
    distinct, index = _group(mins)
    nbins = len(distinct)
    counts = np.bincount(index, minlength=nbins)
    sums = _exact_bin_sums(index, v, nbins)
    highs = np.full(nbins, np.iinfo(np.int64).min)
    np.maximum.at(highs, index, v)
    part = Resource(count=len(v), total=exact_sum(v), low=int(v.min()), high=int(v.max()))
    part.per_minute = {m: [c, s, h] for m, c, s, h in
                       zip(distinct.tolist(), counts.tolist(), sums, highs.tolist())}
    resource = p.resources.get(name)
    if resource is None:
        resource = p.resources[name] = Resource()
    resource.merge(part)
