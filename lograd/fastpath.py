"""The vectorised `app` path: numpy over a chunk's bytes, no per-line Python objects.

It decides the common lines — ``YYYY-MM-DD HH:MM:SS[.mmm] LEVEL message`` with
an upper-case level and one space after it — column by column, and finds
response times and ``key=value`` tokens from sparse candidate positions
(keywords, ``=`` signs) checked with small gathers. Greedy parsing at a
candidate is exact here: for these two patterns a regex's backtracking can
never find a different match, so the first candidate that parses is the
regex's first match.

Every line it cannot decide for certain (zones, other fractions, tabs, odd
levels, long numbers, blank and malformed lines) goes to the exact per-line
path of :mod:`lograd.aggregate`; both paths fill the same :class:`Partial`, so
the result is identical to the per-line path's (tests compare them).
"""
from __future__ import annotations

import numpy as np

from .aggregate import Partial, Resource, Window, add_lines
from .parsing import LEVEL_ORDER
from .sketch import BOUNDS, LOWEST_INDEX, MIN_POSITIVE
from .timestamps import days_from_civil, is_calendar_date

_BOUNDS = np.array(BOUNDS)
_ERROR_IDS = np.array([lvl in ("ERROR", "CRITICAL", "FATAL") for lvl in LEVEL_ORDER])
_FAST_LEVELS = [(name.encode(), LEVEL_ORDER.index(name)) for name in LEVEL_ORDER]
_FAST_LEVELS.append((b"WARNING", LEVEL_ORDER.index("WARN")))


def _table(chars: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(chars)] = True
    return table


_DIGIT = _table(b"0123456789")
_WORD = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
_KEY = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.")
_KEY_FIRST = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_LETTER = _table(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_SPACE = _table(b" \t\n\r\x0b\x0c")  # \s on bytes
_TOKEN_GAP = _table(b" \t\n\r\x0b\x0c,;")  # a metric token starts/ends at these

_DIGIT_COLS = np.array([0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18])
_POW10 = 10 ** np.arange(19, dtype=np.int64)
_KEYWORDS = [(b"in", b""), (b"took", b""), (b"response_time", b"=:"), (b"latency", b"=:"),
             (b"duration", b"=:")]
_UNIT_SHIFT = {b"ms": 0, b"s": 3, b"us": -3}
_MAX_KEY = 48
_MAX_INT_DIGITS = 9


_PAD = 64
"""NUL bytes after the chunk: every gather (at most this wide) stays inside the array."""


def _sanitised(buf: np.ndarray, newlines: np.ndarray, dropped_cr: np.ndarray) -> np.ndarray:
    """The chunk with line terminators (``\\n`` and a dropped ``\\r``) as NUL, NUL-padded.

    NUL is no digit, space, letter, key or word character, so no scan runs past
    the end of its line, and gathers need no per-element bounds.
    """
    clean = np.zeros(len(buf) + _PAD, dtype=np.uint8)
    clean[:len(buf)] = buf
    clean[newlines] = 0
    clean[dropped_cr] = 0
    return clean


def _take(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    """``buf[pos + j]`` for j < width as a (len(pos), width) matrix (``buf`` is sanitised)."""
    return buf[pos[:, None] + np.arange(width)]


def _run(mask: np.ndarray) -> np.ndarray:
    """Length of the leading run of True in each row (the row's width if all True)."""
    width = mask.shape[1]
    stop = ~mask
    return np.where(stop.any(axis=1), stop.argmax(axis=1), width)


def _number(buf, pos):
    """Parse ``\\d+(\\.\\d+)?`` at ``pos``: (ok, undecided, whole, frac12, int digits, end).

    ``frac12`` is the fraction times 10**12, truncated; more than 9 integer
    digits or 20 fraction digits are left to the per-line path (undecided).
    """
    head = _take(buf, pos, _MAX_INT_DIGITS + 2)
    int_len = _run(_DIGIT[head])
    ok = int_len > 0
    undecided = ok & (int_len > _MAX_INT_DIGITS)
    whole = _digits_value(head[:, :_MAX_INT_DIGITS], np.minimum(int_len, _MAX_INT_DIGITS), None)
    after = pos + int_len
    dot = buf[after] == ord(".")
    frac_head = _take(buf, after + 1, 21)
    frac_len = np.where(dot, _run(_DIGIT[frac_head]), 0)
    undecided |= ok & (frac_len > 20)
    frac12 = _digits_value(frac_head[:, :12], np.minimum(frac_len, 12), 12)
    end = np.where(frac_len > 0, after + 1 + frac_len, after)
    return ok & ~undecided, undecided, whole, frac12, int_len, end


def _digits_value(head: np.ndarray, count: np.ndarray, places: int | None) -> np.ndarray:
    """The number in each row's first ``count`` digit columns; with ``places``, as a
    fraction scaled by 10**places (digits past ``places`` dropped). Horner's rule."""
    value = np.zeros(len(head), dtype=np.int64)
    digits = head.astype(np.int64) - 48
    for j in range(head.shape[1] if places is None else places):
        used = j < count
        if not used.any():
            if places is None:
                break
            value *= 10
            continue
        value = np.where(used, value * 10 + digits[:, j], value if places is None else value * 10)
    return value


def _skip_spaces(buf, pos):
    """Position after ``\\s*`` from ``pos``; undecided when 8 spaces in a row continue."""
    head = _take(buf, pos, 8)
    run = _run(_SPACE[head])
    return pos + run, run >= 8


def _response_times(buf, line_of, msg_start, msg_end, active):
    """Per line: (has response time, undecided, fixed ms) by SPEC §1's first-match rule."""
    n_lines = len(msg_start)
    positions, ends = [], []
    pairs = {}
    for word, tail in _KEYWORDS:
        key = word[:2]
        if key not in pairs:  # two full-buffer compares per keyword prefix, then sparse checks
            pairs[key] = np.flatnonzero((buf[:-1] == key[0]) & (buf[1:] == key[1]))
        pos = pairs[key]
        for j in range(2, len(word)):
            pos = pos[buf[np.minimum(pos + j, len(buf) - 1)] == word[j]]
            pos = pos[pos + j < len(buf)]
        if tail:
            at = pos + len(word)
            pos = pos[(at < len(buf)) & np.isin(buf[np.minimum(at, len(buf) - 1)], list(tail))]
        positions.append(pos)
        ends.append(pos + len(word) + (1 if tail else 0))
    pos = np.concatenate(positions)
    kw_end = np.concatenate(ends)
    order = np.argsort(pos, kind="stable")
    pos, kw_end = pos[order], kw_end[order]
    line = line_of(pos)
    keep = (line >= 0) & (line < n_lines)
    pos, kw_end, line = pos[keep], kw_end[keep], line[keep]
    inside = active[line] & (pos >= msg_start[line]) & (kw_end <= msg_end[line])
    boundary = (pos == msg_start[line]) | ~_WORD[buf[np.maximum(pos - 1, 0)]]
    keep = inside & boundary
    pos, kw_end, line = pos[keep], kw_end[keep], line[keep]
    num_at, undecided = _skip_spaces(buf, kw_end)
    ok, num_undecided, whole, frac12, int_len, num_end = _number(buf, num_at)
    undecided |= num_undecided
    unit_at, more = _skip_spaces(buf, num_end)
    undecided |= more & ok
    unit = _take(buf, unit_at, 3)
    word_after = _WORD[unit]
    is_ms = (unit[:, 0] == ord("m")) & (unit[:, 1] == ord("s")) & ~word_after[:, 2]
    is_s = ~is_ms & (unit[:, 0] == ord("s")) & ~word_after[:, 1]
    is_us = ~is_ms & ~is_s & (unit[:, 0] == ord("u")) & (unit[:, 1] == ord("s")) & ~word_after[:, 2]
    matched = ok & (is_ms | is_s | is_us) & ~undecided
    undecided |= matched & is_s & (int_len > 6)  # whole seconds * 10**12 must fit in int64
    matched &= ~undecided
    # fixed ms = number * 10**(9 + shift), truncated: s 12 places, ms 9, us 6
    fixed = np.where(is_s, whole * 10**12 + frac12,
                     np.where(is_ms, whole * 10**9 + frac12 // 1000, whole * 10**6 + frac12 // 10**6))
    decisive = matched | undecided
    # the first decisive candidate of each line wins
    pos_d, line_d = pos[decisive], line[decisive]
    first_of_line = np.unique(line_d, return_index=True)[1]
    lines = line_d[first_of_line]
    winner = np.flatnonzero(decisive)[first_of_line]
    has = np.zeros(n_lines, dtype=bool)
    undec = np.zeros(n_lines, dtype=bool)
    value = np.zeros(n_lines, dtype=np.int64)
    has[lines] = matched[winner] & ~undecided[winner]
    undec[lines] = undecided[winner]
    value[lines] = fixed[winner]
    return has, undec, value


def _metrics(buf, line_of, msg_start, msg_end, active):
    """Every key=number token: (line, key bytes, fixed value) arrays and undecided lines."""
    n_lines = len(msg_start)
    eq = np.flatnonzero(buf == ord("="))
    line = line_of(eq)
    keep = (line >= 0) & (line < n_lines)
    eq, line = eq[keep], line[keep]
    keep = active[line] & (eq >= msg_start[line]) & (eq < msg_end[line])
    eq, line = eq[keep], line[keep]
    start, end = msg_start[line], msg_end[line]
    # the key: the run of key characters just before '=' (read backwards)
    # (the byte before a fast line's message is the space after its level: the run stops there)
    behind = buf[np.maximum(eq[:, None] - 1 - np.arange(_MAX_KEY), 0)]
    key_len = _run(_KEY[behind])
    key_unseen = key_len >= _MAX_KEY  # its start is further back than we looked
    key_start = eq - key_len
    before = buf[np.maximum(key_start - 1, 0)]
    at_token_start = (key_start == start) | _TOKEN_GAP[before]
    first_ok = _KEY_FIRST[buf[np.minimum(key_start, len(buf) - 1)]]
    is_key = (key_len > 0) & at_token_start & first_ok
    # the value: -?\\d+(\\.\\d+)? then % or letters, then a token end
    neg = buf[eq + 1] == ord("-")
    num_at = eq + 1 + neg
    ok, num_undecided, whole, frac12, _, num_end = _number(buf, num_at)
    pct = buf[num_end] == ord("%")
    letters = _run(_LETTER[_take(buf, num_end, 16)])
    token_end = np.where(pct, num_end + 1, num_end + letters)
    ends_ok = (token_end >= end) | _TOKEN_GAP[buf[token_end]]
    undecided = key_unseen | (is_key & (num_undecided | (letters >= 16)))
    good = is_key & ok & ends_ok & ~undecided
    value = whole * 10**9 + frac12 // 1000
    line_undecided = np.zeros(n_lines, dtype=bool)
    line_undecided[line[undecided]] = True
    sel = np.flatnonzero(good)
    keys = _take(buf, key_start[sel], _MAX_KEY)
    keys[np.arange(_MAX_KEY)[None, :] >= key_len[sel][:, None]] = 0  # NUL-padded: 'S' drops it
    keys = np.ascontiguousarray(keys).view(f"S{_MAX_KEY}").reshape(-1)
    values = np.where(neg, -value, value)[sel]
    return line[sel], keys, values, line_undecided


def summarise_app_fast(data: bytes, base: int = 0, file_index: int = 0,
                       window: Window | None = None) -> Partial:
    """The same :class:`Partial` as :func:`lograd.aggregate.summarise_app`, vectorised."""
    buf = np.frombuffer(data, dtype=np.uint8)
    size = len(buf)
    partial = Partial()
    if size == 0:
        return partial
    newlines = np.flatnonzero(buf == 10)
    starts = np.concatenate(([0], newlines + 1)).astype(np.int64)
    raw_ends = np.concatenate((newlines, [size])).astype(np.int64)
    if buf[-1] == 10:
        starts, raw_ends = starts[:-1], raw_ends[:-1]
    n = len(starts)
    cr = (raw_ends > starts) & (buf[np.maximum(raw_ends - 1, 0)] == 13)
    ends = raw_ends - cr
    length = ends - starts
    buf = _sanitised(buf, newlines, ends[cr])

    # -- the timestamp template, column by column ---------------------------------
    cols = _take(buf, starts, 24)
    digits_ok = _DIGIT[cols[:, _DIGIT_COLS]].all(axis=1)
    shape_ok = (digits_ok & (cols[:, 4] == 45) & (cols[:, 7] == 45) & (cols[:, 13] == 58)
                & (cols[:, 16] == 58) & ((cols[:, 10] == 32) | (cols[:, 10] == 84)) & (length >= 24))
    with_ms = shape_ok & (cols[:, 19] == 46) & _DIGIT[cols[:, 20:23]].all(axis=1) & (cols[:, 23] == 32)
    plain = shape_ok & (cols[:, 19] == 32)
    fast = with_ms | plain
    level_at = starts + np.where(with_ms, 24, 20)

    # -- the level: an upper-case word, one space, then not a space ---------------------
    head = _take(buf, level_at, 10)
    level_id = np.full(n, -1)
    msg_start = ends.copy()
    for word, lid in _FAST_LEVELS:
        w = len(word)
        match = fast & (head[:, :w] == np.frombuffer(word, np.uint8)).all(axis=1)
        at_end = level_at + w == ends
        spaced = (head[:, w] == 32) & ~np.isin(head[:, w + 1], (32, 9))
        hit = match & (at_end | spaced)
        level_id[hit] = lid
        msg_start[hit & spaced] = level_at[hit & spaced] + w + 1
    fast &= level_id >= 0

    # -- times: fields in columns, calendar checks once per distinct date ----------------
    d = cols.astype(np.int64) - 48
    date_key = (d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]) * 10000 + \
        (d[:, 5] * 10 + d[:, 6]) * 100 + d[:, 8] * 10 + d[:, 9]
    hh, mi, ss = d[:, 11] * 10 + d[:, 12], d[:, 14] * 10 + d[:, 15], d[:, 17] * 10 + d[:, 18]
    fast &= (hh <= 23) & (mi <= 59) & (ss <= 59)
    unique_dates, date_index = np.unique(np.where(fast, date_key, 0), return_inverse=True)
    day_of = np.array([days_from_civil(k // 10000, k // 100 % 100, k % 100)
                       if is_calendar_date(k // 10000, k // 100 % 100, k % 100) else -10**9
                       for k in unique_dates.tolist()], dtype=np.int64)
    days = day_of[date_index.reshape(-1)]
    fast &= days != -10**9
    millis = np.where(with_ms, d[:, 20] * 100 + d[:, 21] * 10 + d[:, 22], 0)
    stamp = days * 86_400_000 + (hh * 3600 + mi * 60 + ss) * 1000 + millis

    inside = fast.copy()
    if window is not None:
        low, high = window
        if low is not None:
            inside &= stamp >= low
        if high is not None:
            inside &= stamp <= high

    # -- response times and metrics, for entries inside the window -------------------
    def line_of(pos):
        return np.searchsorted(starts, pos, side="right") - 1

    has_rt, rt_undecided, rt_value = _response_times(buf, line_of, msg_start, ends, inside)
    m_line, m_keys, m_values, m_undecided = _metrics(buf, line_of, msg_start, ends, inside)
    slow = ~fast | rt_undecided | m_undecided
    fast &= ~slow
    inside &= fast

    # -- the per-line path for the rest ------------------------------------------------------
    for i in np.flatnonzero(slow).tolist():
        add_lines(partial, data[starts[i]:raw_ends[i] + 1], base + int(starts[i]), file_index, window)
    partial.lines = n

    # -- aggregate the fast lines ----------------------------------------------------------------
    _aggregate(partial, stamp, fast, inside, level_id, has_rt & inside, rt_value,
               m_line, m_keys, m_values, inside)
    return partial


def _group_sum(keys: np.ndarray, values: np.ndarray):
    """(distinct keys, exact int64 sums, counts, maxima) of values grouped by key."""
    order = np.argsort(keys, kind="stable")
    k, v = keys[order], values[order]
    uniq, first = np.unique(k, return_index=True)
    counts = np.diff(np.append(first, len(k)))
    return uniq, np.add.reduceat(v, first), counts, np.maximum.reduceat(v, first)


def _exact_sum_ok(values: np.ndarray) -> bool:
    return len(values) == 0 or float(np.abs(values).max()) * len(values) < 2.0 ** 62


def _aggregate(p: Partial, stamp, fast, inside, level_id, has_rt, rt_value, m_line, m_keys, m_values,
               active) -> None:
    entries = stamp[fast]
    if len(entries):
        p.entries += len(entries)
        low, high = int(entries.min()), int(entries.max())
        p.first_ms = low if p.first_ms is None else min(p.first_ms, low)
        p.last_ms = high if p.last_ms is None else max(p.last_ms, high)
    ms = stamp[inside]
    if not len(ms):
        return
    p.in_window += len(ms)
    levels = np.bincount(level_id[inside], minlength=len(LEVEL_ORDER))
    for lid in np.flatnonzero(levels).tolist():
        p.levels[LEVEL_ORDER[lid]] = p.levels.get(LEVEL_ORDER[lid], 0) + int(levels[lid])
    is_error = _ERROR_IDS[level_id[inside]]
    p.errors += int(is_error.sum())
    seconds, counts = np.unique(ms // 1000, return_counts=True)
    for s_, c in zip(seconds.tolist(), counts.tolist()):
        p.per_second[s_] = p.per_second.get(s_, 0) + c
    minute = ms // 60_000
    rt_mask = has_rt[inside]
    rts = rt_value[inside]
    if not _exact_sum_ok(rts[rt_mask]):
        rts = rts.astype(object)  # exact Python ints: slower, never wrong
    columns = np.stack([np.ones(len(ms), dtype=np.int64), is_error.astype(np.int64),
                        rt_mask.astype(np.int64)], axis=1)
    order = np.argsort(minute, kind="stable")
    uniq, first = np.unique(minute[order], return_index=True)
    sums = np.add.reduceat(columns[order], first, axis=0)
    rt_sums = np.add.reduceat(np.where(rt_mask, rts, 0)[order], first)
    for m, (req, err, n_rt), rt_sum in zip(uniq.tolist(), sums.tolist(), rt_sums.tolist()):
        slot = p.per_minute.get(m)
        if slot is None:
            slot = p.per_minute[m] = [0, 0, 0, 0]
        slot[0] += req
        slot[1] += err
        slot[2] += n_rt
        slot[3] += int(rt_sum)
    values = rts[rt_mask]
    if len(values):
        low, high = int(values.min()), int(values.max())
        if p.rt_count == 0 or low < p.rt_low:
            p.rt_low = low
        if p.rt_count == 0 or high > p.rt_high:
            p.rt_high = high
        p.rt_count += len(values)
        p.rt_total += int(values.sum())
        as_float = np.asarray(values, dtype=np.int64).astype(np.float64) / 1e9
        zeros = as_float < MIN_POSITIVE
        p.rt_sketch.zeros += int(zeros.sum())
        index = np.minimum(np.searchsorted(_BOUNDS, as_float[~zeros], side="left"), len(_BOUNDS) - 1)
        buckets, counts = np.unique(index, return_counts=True)
        for b, c in zip((buckets + LOWEST_INDEX).tolist(), counts.tolist()):
            p.rt_sketch.buckets[b] = p.rt_sketch.buckets.get(b, 0) + c
    if len(m_keys):
        _add_resources(p, stamp, m_line, m_keys, m_values, active)


def _add_resources(p: Partial, stamp, m_line, m_keys, m_values, active) -> None:
    keep = active[m_line]
    if not keep.any():
        return
    lines = m_line[keep]
    values = m_values[keep]
    minutes = stamp[lines] // 60_000
    names, key_id = np.unique(m_keys[keep], return_inverse=True)
    key_id = key_id.reshape(-1)
    for kid, name in enumerate(names.tolist()):
        sel = key_id == kid
        v, mins = values[sel], minutes[sel]
        if not _exact_sum_ok(v):
            v = v.astype(object)
        resource = p.resources.get(name.decode("ascii"))
        if resource is None:
            resource = p.resources[name.decode("ascii")] = Resource()
        part = Resource(count=len(v), total=int(v.sum()), low=int(v.min()), high=int(v.max()))
        uniq, sums, counts, highs = _group_sum(mins, v)
        part.per_minute = {m: [c, int(s_), int(h)] for m, s_, c, h in
                           zip(uniq.tolist(), sums.tolist(), counts.tolist(), highs.tolist())}
        resource.merge(part)
