"""The compiled `app` path: one pass over a block's bytes, no per-line Python objects.

A numba-compiled scanner reads every line of a block once and decides it by
SPEC §1's grammar: blank, malformed, or an entry with its time (fraction and
zone included), level, response time (the first match of the rule, found by
trying each keyword position in order, as a regular expression search does)
and ``key=value`` tokens (found from their ``=``). It writes one row per line
into arrays; numpy then aggregates the rows (bincount, grouping by minute).

The scanner is exact, not a heuristic: where a value cannot be held in an
int64 (a number of more than 18 significant digits once scaled) or a line is
longer than ``MAX_LINE``, the line is *undecided* and goes to the exact
per-line path of :mod:`lograd.aggregate`. Both paths fill the same
:class:`Partial`, so the result equals the per-line path's (property tests
compare them on generated and hostile input).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from .aggregate import SAMPLE_LIMIT, Partial, Resource, Window, add_lines
from .parsing import LEVEL_ORDER, MAX_LINE, parse_app_line
from .sketch import BOUNDS, LOWEST_INDEX, MIN_POSITIVE

_BOUNDS = np.array(BOUNDS)
_ERROR_IDS = np.array([lvl in ("ERROR", "CRITICAL", "FATAL") for lvl in LEVEL_ORDER])
_EXACT_ROWS = 1 << 20
"""Rows per float64 bincount of 32-bit halves: every bin's sum stays below 2**53."""

ENTRY, BLANK, MALFORMED, UNDECIDED = 0, 1, 2, 3
"""What the scanner made of a line."""


def _table(chars: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=np.bool_)
    table[list(chars)] = True
    return table


_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
_DIGITS = b"0123456789"
_WORD = _table(_LOWER + _UPPER + _DIGITS + b"_")  # \w on bytes
_KEY = _table(_LOWER + _UPPER + _DIGITS + b"_.")
_KEY_FIRST = _table(_LOWER + _UPPER + b"_")
_LETTER = _table(_LOWER + _UPPER)
_SPACE = _table(b" \t\n\r\x0b\x0c")  # \s on bytes
_TOKEN_GAP = _table(b" \t\n\r\x0b\x0c,;")  # a metric token starts/ends at these
_MAX_FIXED_DIGITS = 18  # a fixed value of more digits may not fit an int64: undecided


def _packed(word: bytes) -> int:
    return int.from_bytes(word, "little")


(_TRACE, _DEBUG, _INFO, _NOTICE, _WARN, _ERROR, _CRITICAL, _FATAL, _WARNING) = (
    _packed(name) for name in (b"TRACE", b"DEBUG", b"INFO", b"NOTICE", b"WARN", b"ERROR", b"CRITICAL", b"FATAL",
                               b"WARNING"))
(_TRACE_ID, _DEBUG_ID, _INFO_ID, _NOTICE_ID, _WARN_ID, _ERROR_ID, _CRITICAL_ID, _FATAL_ID) = (
    LEVEL_ORDER.index(name) for name in ("TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRITICAL", "FATAL"))
_TOOK, _RESPONSE_TIME, _LATENCY, _DURATION = (np.frombuffer(w, dtype=np.uint8)
                                               for w in (b"took", b"response_time", b"latency", b"duration"))


@njit(cache=True, nogil=True, inline="always")
def _is_digit(c) -> bool:
    return 48 <= c <= 57


@njit(cache=True, nogil=True, inline="always")
def _two(buf, at) -> int:
    return (buf[at] - 48) * 10 + (buf[at + 1] - 48)


@njit(cache=True, nogil=True, inline="always")
def _days_from_civil(year, month, day) -> int:
    if month <= 2:
        year -= 1
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month - 3 if month > 2 else month + 9) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


@njit(cache=True, nogil=True, inline="always")
def _month_days(year, month) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


@njit(cache=True, nogil=True, inline="always")
def _fixed(buf, int_start, int_end, frac_start, frac_end, places):
    """``to_fixed`` of the digits [int_start, int_end) '.' [frac_start, frac_end):
    (value * 10**places truncated, fits) — fits is False past 18 digits."""
    while int_start < int_end and buf[int_start] == 48:
        int_start += 1
    if int_end - int_start + places > _MAX_FIXED_DIGITS:
        return 0, False
    value = 0
    for k in range(int_start, int_end):
        value = value * 10 + (buf[k] - 48)
    for k in range(places):
        at = frac_start + k
        value = value * 10 + (buf[at] - 48 if at < frac_end else 0)
    return value, True


@njit(cache=True, nogil=True, inline="always")
def _number(buf, at, end):
    r"""``\d+(?:\.\d+)?`` from ``at``: (end of the digits, fraction start, fraction end);
    no digits: the digits end at ``at``; no fraction: both fraction bounds at the digits' end."""
    k = at
    while k < end and _is_digit(buf[k]):
        k += 1
    if k == at or not (k + 1 < end and buf[k] == 46 and _is_digit(buf[k + 1])):
        return k, k, k
    f = k + 1
    while f < end and _is_digit(buf[f]):
        f += 1
    return k, k + 1, f


@njit(cache=True, nogil=True, inline="always")
def _word_at(buf, at, end, word) -> bool:
    """``buf[at:at+len(word)] == word``, inside ``end``."""
    if at + len(word) > end:
        return False
    for k in range(len(word)):
        if buf[at + k] != word[k]:
            return False
    return True


@njit(cache=True, nogil=True, inline="always")
def _named_keyword(buf, at, end, word) -> int:
    """Where the number may start after ``word`` and ``=`` or ``:`` at ``at``; -1 if none."""
    after = at + len(word)
    if after < end and (buf[after] == 61 or buf[after] == 58) and _word_at(buf, at, end, word):
        return after + 1
    return -1


@njit(cache=True, nogil=True, inline="always")
def _level(buf, start, stop) -> int:
    """The level id of the letters [start, stop) in any case, or -1."""
    n = stop - start
    if n < 4 or n > 8:
        return -1
    key = 0
    for k in range(n):
        key |= np.int64(buf[start + k] & 0xDF) << (8 * k)  # letters only: & 0xDF upper-cases
    if n == 4:
        return _INFO_ID if key == _INFO else _WARN_ID if key == _WARN else -1
    if n == 5:
        return (_TRACE_ID if key == _TRACE else _DEBUG_ID if key == _DEBUG else
                _ERROR_ID if key == _ERROR else _FATAL_ID if key == _FATAL else -1)
    if n == 6:
        return _NOTICE_ID if key == _NOTICE else -1
    if n == 7:
        return _WARN_ID if key == _WARNING else -1
    return _CRITICAL_ID if key == _CRITICAL else -1


@njit(cache=True, nogil=True, inline="always")
def _head(buf, s, e, day_cache):
    """Classify line [s, e): (kind, epoch ms, level id, message start).

    ``day_cache`` holds the last valid date seen (YYYYMMDD) and its day number."""
    if e - s > MAX_LINE:
        return UNDECIDED, 0, -1, e
    p = s
    while p < e and (buf[p] == 32 or buf[p] == 9):
        p += 1
    if p == e:
        return BLANK, 0, -1, e
    if e - s < 19:
        return MALFORMED, 0, -1, e
    ok = True
    for k in range(19):  # YYYY-MM-DD?HH:MM:SS
        c = buf[s + k]
        if k == 4 or k == 7:
            ok &= c == 45
        elif k == 10:
            ok &= c == 32 or c == 84
        elif k == 13 or k == 16:
            ok &= c == 58
        else:
            ok &= 48 <= c <= 57
    if not ok:
        return MALFORMED, 0, -1, e
    year = _two(buf, s) * 100 + _two(buf, s + 2)
    month, day = _two(buf, s + 5), _two(buf, s + 8)
    hour, minute, second = _two(buf, s + 11), _two(buf, s + 14), _two(buf, s + 17)
    if hour > 23 or minute > 59 or second > 59:
        return MALFORMED, 0, -1, e
    date = (year * 100 + month) * 100 + day
    if date != day_cache[0]:  # lines share their date: check and convert it once
        if month < 1 or month > 12 or day < 1 or day > _month_days(year, month):
            return MALFORMED, 0, -1, e
        day_cache[0] = date
        day_cache[1] = _days_from_civil(year, month, day)
    ms = (day_cache[1] * 86400 + hour * 3600 + minute * 60 + second) * 1000
    p = s + 19
    if p < e and buf[p] == 46:  # '.' and 1-9 digits, the first three are milliseconds
        q = p + 1
        frac = 0
        while q < e and _is_digit(buf[q]):
            if q - p <= 3:
                frac = frac * 10 + (buf[q] - 48)
            q += 1
        n = q - p - 1
        if n < 1 or n > 9:
            return MALFORMED, 0, -1, e
        for _ in range(n, 3):
            frac *= 10
        ms += frac
        p = q
    if p < e and buf[p] == 90:  # 'Z'
        p += 1
    elif p < e and (buf[p] == 43 or buf[p] == 45):  # +HH[:]MM
        q = p + 3
        if q < e and buf[q] == 58:
            q += 1
        if q + 2 > e or not (_is_digit(buf[p + 1]) and _is_digit(buf[p + 2])
                             and _is_digit(buf[q]) and _is_digit(buf[q + 1])):
            return MALFORMED, 0, -1, e
        zh, zm = _two(buf, p + 1), _two(buf, q)
        if zh > 23 or zm > 59:
            return MALFORMED, 0, -1, e
        offset = zh * 3_600_000 + zm * 60_000
        ms += offset if buf[p] == 45 else -offset
        p = q + 2
    if p >= e or (buf[p] != 32 and buf[p] != 9):
        return MALFORMED, 0, -1, e
    while p < e and (buf[p] == 32 or buf[p] == 9):
        p += 1
    q = p
    while q < e and _LETTER[buf[q]]:
        q += 1
    if q == p or (q < e and buf[q] != 32 and buf[q] != 9):
        return MALFORMED, 0, -1, e
    level = _level(buf, p, q)
    if level < 0:
        return MALFORMED, 0, -1, e
    while q < e and (buf[q] == 32 or buf[q] == 9):
        q += 1
    return ENTRY, ms, level, q


@njit(cache=True, nogil=True, inline="always")
def _response_time(buf, msg, e):
    """The first response-time match in [msg, e): (found, fixed ms, decided)."""
    for i in range(msg, e):
        c = buf[i]
        if i > msg and _WORD[buf[i - 1]]:
            continue
        j = -1
        if c == 105:  # in
            if i + 1 < e and buf[i + 1] == 110:
                j = i + 2
        elif c == 116:  # took
            if _word_at(buf, i, e, _TOOK):
                j = i + 4
        elif c == 114:  # response_time[=:]
            j = _named_keyword(buf, i, e, _RESPONSE_TIME)
        elif c == 108:  # latency[=:]
            j = _named_keyword(buf, i, e, _LATENCY)
        elif c == 100:  # duration[=:]
            j = _named_keyword(buf, i, e, _DURATION)
        if j < 0:
            continue
        while j < e and _SPACE[buf[j]]:
            j += 1
        int_end, frac_start, frac_end = _number(buf, j, e)
        if int_end == j:
            continue
        k = frac_end
        while k < e and _SPACE[buf[k]]:
            k += 1
        places = -1
        if k < e:
            u = buf[k]
            if u == 115:  # s
                if k + 1 == e or not _WORD[buf[k + 1]]:
                    places = 12
            elif (u == 109 or u == 117) and k + 1 < e and buf[k + 1] == 115:  # ms, us
                if k + 2 == e or not _WORD[buf[k + 2]]:
                    places = 9 if u == 109 else 6
        if places < 0:
            continue
        value, fits = _fixed(buf, j, int_end, frac_start, frac_end, places)
        return fits, value, fits
    return False, 0, True


@njit(cache=True, nogil=True, inline="always")
def _metric(buf, i, msg, e):
    """The key=number token around the ``=`` at ``i`` in message [msg, e):
    (found, key start, fixed value, decided)."""
    k = i
    while k > msg and _KEY[buf[k - 1]]:
        k -= 1
    if k == i or not _KEY_FIRST[buf[k]] or (k > msg and not _TOKEN_GAP[buf[k - 1]]):
        return False, k, 0, True
    j = i + 1
    negative = j < e and buf[j] == 45
    if negative:
        j += 1
    int_start = j
    int_end, frac_start, frac_end = _number(buf, j, e)
    if int_end == int_start:
        return False, k, 0, True
    j = frac_end
    if j < e and buf[j] == 37:  # '%'
        j += 1
    else:
        while j < e and _LETTER[buf[j]]:
            j += 1
    if j < e and not _TOKEN_GAP[buf[j]]:
        return False, k, 0, True
    value, fits = _fixed(buf, int_start, int_end, frac_start, frac_end, 9)
    return fits, k, -value if negative else value, fits


@njit(cache=True, nogil=True)
def _scan(buf, newlines, equals, low, high, heads_only):
    """Every line of ``buf``: its kind, time, level, window, response time; and its metrics.

    ``newlines`` and ``equals`` are the positions of the block's ``\\n`` and ``=``
    bytes; ``low``/``high`` bound the window (inclusive). With ``heads_only`` only
    the kind, time and level are read (the newest-entry scan of ``--last``).
    """
    size = len(buf)
    n = len(newlines) + (1 if size and buf[size - 1] != 10 else 0)
    starts = np.empty(n, np.int64)
    ends = np.empty(n, np.int64)
    messages = np.empty(n, np.int64)
    kinds = np.empty(n, np.uint8)
    stamps = np.zeros(n, np.int64)
    levels = np.zeros(n, np.int64)
    inside = np.zeros(n, np.bool_)
    has_rt = np.zeros(n, np.bool_)
    rts = np.zeros(n, np.int64)
    day_cache = np.full(2, -1, np.int64)
    s = 0
    for line in range(n):
        nl = newlines[line] if line < len(newlines) else size
        e = nl - 1 if nl > s and buf[nl - 1] == 13 else nl
        starts[line] = s
        ends[line] = e
        kind, ms, level, msg = _head(buf, s, e, day_cache)
        s = nl + 1
        kinds[line] = kind
        messages[line] = msg
        stamps[line] = ms
        levels[line] = level
        inside[line] = kind == ENTRY and low <= ms <= high and not heads_only
    for line in range(n):
        if inside[line]:
            found, value, decided = _response_time(buf, messages[line], ends[line])
            if decided:
                has_rt[line] = found
                rts[line] = value
            else:
                kinds[line] = UNDECIDED
                inside[line] = False
    cap = len(equals)
    m_line = np.empty(cap, np.int64)
    m_at = np.empty(cap, np.int64)
    m_len = np.empty(cap, np.int64)
    m_key = np.empty(cap, np.int64)
    m_value = np.empty(cap, np.int64)
    m = 0
    line = 0
    for i in equals:  # both in position order: walk them together
        while ends[line] < i:
            line += 1
        if not inside[line] or i < messages[line]:
            continue
        found, k, value, decided = _metric(buf, i, messages[line], ends[line])
        if not decided:  # the line goes to the exact path, with none of its metrics here
            kinds[line] = UNDECIDED
            inside[line] = False
            has_rt[line] = False
            while m > 0 and m_line[m - 1] == line:
                m -= 1
            continue
        if not found:
            continue
        key = 0
        if i - k <= 8:
            for t in range(k, i):
                key |= np.int64(buf[t]) << (8 * (t - k))
        m_line[m] = line
        m_at[m] = k
        m_len[m] = i - k
        m_key[m] = key
        m_value[m] = value
        m += 1
    return (starts, ends, kinds, stamps, levels, inside, has_rt, rts,
            m_line[:m], m_at[:m], m_len[:m], m_key[:m], m_value[:m])


_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


def _scan_block(data, window: Window | None, heads_only: bool = False):
    buf = np.frombuffer(data, dtype=np.uint8)
    low, high = window if window is not None else (None, None)
    equals = np.zeros(0, np.int64) if heads_only else np.flatnonzero(buf == 61)
    return _scan(buf, np.flatnonzero(buf == 10), equals, _INT64_MIN if low is None else low, _INT64_MAX if high is None else high,
                 heads_only)


# -- the entry point --------------------------------------------------------------------------


def summarise_app_fast(data, base: int = 0, file_index: int = 0,
                       window: Window | None = None) -> Partial:
    """The same :class:`Partial` as :func:`lograd.aggregate.summarise_app`, compiled."""
    partial = Partial()
    add_app_fast(partial, data, base, file_index, window)
    return partial


def add_app_fast(partial: Partial, data, base: int = 0, file_index: int = 0,
                 window: Window | None = None) -> int:
    """Add the lines of ``data`` (whole lines; bytes-like, at file offset ``base``) to ``partial``.

    Returns how many lines were left to the per-line path.
    """
    if not len(data):
        return 0
    (starts, ends, kinds, stamps, levels, inside, has_rt, rts,
     m_line, m_at, m_len, m_key, m_value) = _scan_block(data, window)
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    partial.lines += len(kinds)
    partial.blank += int(np.count_nonzero(kinds == BLANK))
    malformed = np.flatnonzero(kinds == MALFORMED)
    if len(malformed):
        partial.malformed += len(malformed) - min(len(malformed), SAMPLE_LIMIT)
        for i in malformed[:SAMPLE_LIMIT].tolist():  # the lowest offsets: the only samples kept
            start = int(starts[i])
            partial.add_malformed(file_index, base + start, bytes(view[start:int(ends[i])]))
    undecided = np.flatnonzero(kinds == UNDECIDED)
    for i in undecided.tolist():
        start = int(starts[i])
        stop = int(ends[i])
        while stop < len(view) and view[stop] != 10:  # the raw line, its '\r' and '\n' included
            stop += 1
        add_lines(partial, bytes(view[start:stop + 1]), base + start, file_index, window)
    entries = kinds == ENTRY
    _aggregate(partial, stamps, entries, inside, levels, has_rt, rts)
    if len(m_line):
        _add_resources(partial, view, stamps[m_line], m_at, m_len, m_key, m_value)
    return len(undecided)


def newest_app_entry(data) -> int | None:
    """The time of the newest `app` entry in ``data`` (whole lines), or None: the cheap
    first phase of ``--last``, timestamps and levels only."""
    if not len(data):
        return None
    starts, ends, kinds, stamps, *_ = _scan_block(data, None, heads_only=True)
    entries = kinds == ENTRY
    newest = int(stamps[entries].max()) if entries.any() else None
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    for i in np.flatnonzero(kinds == UNDECIDED).tolist():
        parsed = parse_app_line(bytes(view[int(starts[i]):int(ends[i])]))
        if parsed is not None and (newest is None or parsed[0] > newest):
            newest = parsed[0]
    return newest


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


def _exact_sum(values: np.ndarray) -> int:
    """The exact sum of int64 values (no overflow)."""
    return (int((values >> 32).sum()) << 32) + int((values & 0xFFFFFFFF).sum())


def _count_into(counts: dict, keys: np.ndarray) -> None:
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


def _aggregate(p: Partial, stamp, fast, inside, level_id, has_rt, rt_value) -> None:
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
    is_error = _ERROR_IDS[lid]
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
        p.rt_total += _exact_sum(rts)
        as_float = rts.astype(np.float64) / 1e9  # what aggregate.fixed_ms gives, bit for bit
        zeros = as_float < MIN_POSITIVE
        p.rt_sketch.zeros += int(np.count_nonzero(zeros))
        index = _bucket_index(as_float[~zeros])
        if len(index):
            _count_into(p.rt_sketch.buckets, index + LOWEST_INDEX)


_LOG_GAMMA = float(np.log(_BOUNDS[1] / _BOUNDS[0]))


def _bucket_index(values: np.ndarray) -> np.ndarray:
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


def _add_resources(p: Partial, view, stamps, key_at, key_len, key_packed, values) -> None:
    names, key_index = _key_names(view, key_at, key_len, key_packed)
    minutes = stamps // 60_000
    for kid, name in enumerate(names):
        sel = key_index == kid
        v, mins = values[sel], minutes[sel]
        distinct, index = _group(mins)
        nbins = len(distinct)
        counts = np.bincount(index, minlength=nbins)
        sums = _exact_bin_sums(index, v, nbins)
        highs = np.full(nbins, np.iinfo(np.int64).min)
        np.maximum.at(highs, index, v)
        part = Resource(count=len(v), total=_exact_sum(v), low=int(v.min()), high=int(v.max()))
        part.per_minute = {m: [c, s, h] for m, c, s, h in
                           zip(distinct.tolist(), counts.tolist(), sums, highs.tolist())}
        resource = p.resources.get(name)
        if resource is None:
            resource = p.resources[name] = Resource()
        resource.merge(part)
