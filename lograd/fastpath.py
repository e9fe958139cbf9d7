"""The vectorised `app` path: numpy over a block of lines, no per-line Python objects.

It decides the common lines — ``YYYY-MM-DD HH:MM:SS[.mmm] LEVEL message`` with
an upper-case level and one space after it — with a few operations per line:
the timestamp and the level are read as 64-bit words at fixed offsets from the
line start and checked against templates (SWAR); response times are found
from their unit (an ``s`` that ends a word) and parsed backwards to their
keyword; ``key=value`` tokens are found from their ``=``. Both parses are
exact, not heuristics: for these patterns a regular expression's match is
fixed by the unit (or ``=``) position, and every case a bounded scan cannot
settle (long numbers or space runs, long keys) makes the line *undecided*.

Undecided lines and lines of any other shape (zones, other fractions, tabs,
lower-case levels, blank and malformed lines) go to the exact per-line path
of :mod:`lograd.aggregate`; both paths fill the same :class:`Partial`, so the
result equals the per-line path's (property tests compare them).
"""
from __future__ import annotations

import numpy as np

from .aggregate import Partial, Resource, Window, add_lines
from .parsing import LEVEL_ORDER, MAX_LINE, parse_app_line
from .sketch import BOUNDS, LOWEST_INDEX, MIN_POSITIVE
from .swar import (LOW_NIBBLES, POW10, U64, digits_from_bottom, digits_from_top, first_flagged, last_flagged,
                   non_digits, words)
from .timestamps import days_from_civil, is_calendar_date

_BOUNDS = np.array(BOUNDS)
_ERROR_IDS = np.array([lvl in ("ERROR", "CRITICAL", "FATAL") for lvl in LEVEL_ORDER])


def _table(chars: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(chars)] = True
    return table


_LOWER = b"abcdefghijklmnopqrstuvwxyz"
_UPPER = _LOWER.upper()
_DIGIT = _table(b"0123456789")
_WORD = _table(_LOWER + _UPPER + b"0123456789_")  # \w on bytes
_KEY = _table(_LOWER + _UPPER + b"0123456789_.")
_KEY_FIRST = _table(_LOWER + _UPPER + b"_")
_LETTER = _table(_LOWER + _UPPER)
_SPACE = _table(b" \t\n\r\x0b\x0c")  # \s on bytes
_TOKEN_GAP = _table(b" \t\n\r\x0b\x0c,;")  # a metric token starts/ends at these

_PAD = 64
"""NUL bytes after (and before) the block: every gather and scan stays inside the array."""
_MAX_SPACES = 8  # a longer run of \\s inside a response time: undecided
_MAX_DIGITS = 18  # longer digit runs: undecided (18 digits fit an int64)
_MAX_KEY = 48
_MAX_UNIT = 32
_EXACT_ROWS = 1 << 20
"""Rows per float64 bincount of 32-bit halves: every bin's sum stays below 2**53."""


# -- 64-bit words at any byte offset ---------------------------------------------------


def _le(text: bytes) -> int:
    return int.from_bytes(text, "little")


def _template(text: str) -> tuple:
    """Masks that check 8 bytes against ``text``: ``d`` a digit, ``?`` anything, else literal."""
    keep = expect = add6 = high = 0
    for k, ch in enumerate(text):
        shift = 8 * k
        if ch == "d":
            keep |= 0xF0 << shift
            expect |= 0x30 << shift
            add6 |= 0x06 << shift
            high |= 0xF0 << shift
        elif ch != "?":
            keep |= 0xFF << shift
            expect |= ord(ch) << shift
    return U64(keep), U64(expect), U64(add6), U64(high), U64(expect & high)


def _fits(word: np.ndarray, template: tuple) -> np.ndarray:
    """Which words match a template: literal bytes equal, digit bytes in 0x30..0x39."""
    keep, expect, add6, high, digits = template
    # a digit byte is 0x3_ and stays 0x3_ after adding 6 (0x3A..0x3F become 0x4_)
    return ((word & keep) == expect) & (((word + add6) & high) == digits)


_DATE = _template("dddd-dd-")          # bytes 0..7
_CLOCK = _template("dd?dd:dd")         # bytes 8..15: day, separator, hour, minute
_SECONDS_MS = _template(":dd.ddd ")    # bytes 16..23, with milliseconds
_SECONDS = _template(":dd ")           # bytes 16..19, no fraction
_BYTE = U64(0xFF)

_LEVELS = [(name, LEVEL_ORDER.index(name)) for name in LEVEL_ORDER]
_LEVELS.append(("WARNING", LEVEL_ORDER.index("WARN")))  # after WARN: its matches override
_LEVEL_TESTS = [(U64((1 << 8 * len(name)) - 1), U64(_le(name.encode())), len(name), lid)
                for name, lid in _LEVELS]


def _pairs(word: np.ndarray) -> np.ndarray:
    """Byte k of the result is 10 * digit k + digit k+1 (bytes are checked digits)."""
    nib = word & LOW_NIBBLES
    return nib * U64(10) + (nib >> U64(8))


def _byte(word: np.ndarray, k: int) -> np.ndarray:
    return ((word >> U64(8 * k)) & _BYTE).astype(np.int64)


# -- bounded scans over shrinking sets of positions ----------------------------------------


def _run(table: np.ndarray, clean: np.ndarray, pos: np.ndarray, limit: int, step: int) -> np.ndarray:
    """Length of the run of ``table`` bytes from ``pos`` going by ``step`` (capped at ``limit``)."""
    length = np.zeros(len(pos), dtype=np.int64)
    live = np.arange(len(pos))
    at = pos.copy()
    for _ in range(limit):
        ok = table[clean[at]]
        live, at = live[ok], at[ok] + step
        if not len(live):
            break
        length[live] += 1
    return length


def _digits(b: _Block, pos: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """(run length, value) of the digit run from ``pos`` by ``step`` (+1 forwards, -1 back).

    A length above ``_MAX_DIGITS`` means "too long" (the value is then meaningless).
    Eight bytes are read at once; runs of eight digits or more are followed byte by byte.
    """
    if step < 0:
        word = b.words[pos - 7]  # the run ends at the word's top byte
        length = 7 - last_flagged(non_digits(word))
        value = digits_from_top(word, length)
    else:
        word = b.words[pos]
        length = first_flagged(non_digits(word))
        value = digits_from_bottom(word, length)
    long = np.flatnonzero(length == 8)
    if len(long):
        length[long], value[long] = _digit_loop(b.clean, pos[long], step)
    return length, value


def _digit_loop(clean: np.ndarray, pos: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """``_digits`` a byte at a time (for long runs)."""
    n = len(pos)
    length = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.int64)
    live = np.arange(n)
    at = pos.copy()
    for j in range(_MAX_DIGITS + 1):
        c = clean[at]
        ok = (c >= 48) & (c <= 57)
        live, at, c = live[ok], at[ok], c[ok]
        if not len(live):
            break
        length[live] += 1
        if j < _MAX_DIGITS:
            digit = c.astype(np.int64) - 48
            if step < 0:
                value[live] += digit * POW10[j]
            else:
                value[live] = value[live] * 10 + digit
        at += step
    return length, value


def _scaled(value: np.ndarray, digits: np.ndarray, places: np.ndarray | int) -> np.ndarray:
    """A fraction's digits (``value`` has ``digits`` of them) as an integer of ``places`` digits, truncated."""
    shift = places - digits
    up = POW10[np.clip(shift, 0, 18)]
    down = POW10[np.clip(-shift, 0, 18)]
    return np.where(shift >= 0, value * up, value // down)


# -- the block ----------------------------------------------------------------------------------


class _Block:
    """One block of whole lines, sanitised: line terminators are NUL, NUL padding around.

    NUL is no digit, space, letter, key or word character, so no scan runs past
    the end of its line, and gathers need no bounds checks.
    """

    def __init__(self, data) -> None:
        buf = np.frombuffer(data, dtype=np.uint8)
        size = len(buf)
        newlines = np.flatnonzero(buf == 10)
        starts = np.empty(len(newlines) + 1, dtype=np.int64)
        starts[0] = 0
        starts[1:] = newlines + 1
        raw_ends = np.append(newlines, size).astype(np.int64)
        if size and buf[-1] == 10:
            starts, raw_ends = starts[:-1], raw_ends[:-1]
        clean = np.zeros(size + 2 * _PAD, dtype=np.uint8)
        clean[_PAD:_PAD + size] = buf
        clean[newlines + _PAD] = 0
        # positions below are in `clean` coordinates (shifted by _PAD)
        self.size = size
        self.starts = starts + _PAD
        self.raw_ends = raw_ends + _PAD
        cr = (raw_ends > starts) & (clean[np.maximum(self.raw_ends - 1, 0)] == 13)
        self.ends = self.raw_ends - cr
        clean[self.ends[cr]] = 0
        self.clean = clean
        self.words = words(clean)

    def line_of(self, pos: np.ndarray) -> np.ndarray:
        """The line holding each position."""
        return np.searchsorted(self.starts, pos, side="right") - 1

    def found(self, byte: int) -> np.ndarray:
        """Positions of ``byte`` in the block's lines."""
        return np.flatnonzero(self.clean[_PAD:_PAD + self.size] == byte) + _PAD


def _timestamps(b: _Block):
    """(decided, stamp ms, level start) per line, for the two common timestamp shapes."""
    starts, words = b.starts, b.words
    w0, w1, w2 = words[starts], words[starts + 8], words[starts + 16]
    sep = (w1 >> U64(16)) & _BYTE
    shape = _fits(w0, _DATE) & _fits(w1, _CLOCK) & ((sep == 32) | (sep == 84))
    with_ms = shape & _fits(w2, _SECONDS_MS)
    plain = shape & ~with_ms & _fits(w2 & U64(0xFFFFFFFF), _SECONDS)
    ok = with_ms | plain
    p1, p2 = _pairs(w1), _pairs(w2)
    hh, mi, ss = _byte(p1, 3), _byte(p1, 6), _byte(p2, 1)
    ok &= (hh <= 23) & (mi <= 59) & (ss <= 59)
    millis = np.where(with_ms, _byte(p2, 4) * 10 + _byte(w2 & LOW_NIBBLES, 6), 0)
    # the date: bytes 0..7 of w0 with the day digits in place of its two '-' bytes
    date = (w0 & U64(0x00FFFF00FFFFFFFF)) | ((w1 & _BYTE) << U64(32)) | (((w1 >> U64(8)) & _BYTE) << U64(56))
    days = _days(date, ok)
    ok &= days != _NO_DAY
    stamp = days * 86_400_000 + (hh * 3600 + mi * 60 + ss) * 1000 + millis
    return ok, stamp, starts + np.where(with_ms, 24, 20)


_NO_DAY = -(10 ** 9)


def _day_number(key: int) -> int:
    text = key.to_bytes(8, "little")
    y, mo, d = int(text[0:4]), int(text[5:7]), int(bytes((text[4], text[7])))
    return days_from_civil(y, mo, d) if is_calendar_date(y, mo, d) else _NO_DAY


def _days(date: np.ndarray, ok: np.ndarray) -> np.ndarray:
    """Days since 1970 per line (``_NO_DAY`` for impossible dates); one check per distinct date."""
    rows = np.flatnonzero(ok)
    days = np.full(len(date), _NO_DAY, dtype=np.int64)
    if not len(rows):
        return days
    first = date[rows[0]]
    same = date[rows] == first
    if same.all():  # the common case: the whole block is one day
        days[rows] = _day_number(int(first))
        return days
    distinct, index = np.unique(date[rows], return_inverse=True)
    table = np.array([_day_number(k) for k in distinct.tolist()], dtype=np.int64)
    days[rows] = table[index.reshape(-1)]
    return days


def _levels(b: _Block, ok: np.ndarray, level_at: np.ndarray):
    """(level id or -1, message start) per line: an upper-case level, then end of line
    or one space and no second space or tab."""
    word = b.words[level_at]
    level_id = np.full(len(level_at), -1, dtype=np.int64)
    length = np.zeros(len(level_at), dtype=np.int64)
    for mask, pattern, n, lid in _LEVEL_TESTS:
        hit = (word & mask) == pattern
        level_id[hit] = lid
        length[hit] = n
    after = level_at + length
    a, c = b.clean[after], b.clean[after + 1]
    spaced = (a == 32) & (c != 32) & (c != 9)
    good = ok & (level_id >= 0) & (spaced | (after == b.ends))
    level_id[~good] = -1
    return level_id, np.where(spaced, after + 1, b.ends)


_IN, _TOOK = _le(b"in"), _le(b"took")
_RESPONSE, _TIME = _le(b"response"), _le(b"_time")
_LATENCY, _DURATION = _le(b"latency"), _le(b"duration")


def _response_times(b: _Block, msg_start: np.ndarray, active: np.ndarray):
    """Per line: (has response time, undecided, fixed ms), by SPEC §1's first-match rule.

    Every match ends with a unit ``ms|s|us`` followed by a non-word byte, so the
    candidates are the ``s`` bytes that end a word; from each, the unit,
    ``\\s*``, the number and ``\\s*`` are read backwards to the keyword.
    """
    clean, words = b.clean, b.words
    n_lines = len(msg_start)
    pos = b.found(ord("s"))
    pos = pos[~_WORD[clean[pos + 1]]]
    prev = clean[pos - 1]
    two = (prev == ord("m")) | (prev == ord("u"))
    before = clean[pos - two - 1]
    pos = pos[_DIGIT[before] | _SPACE[before]]  # a number or \\s must come before the unit
    line = b.line_of(pos)
    keep = active[line]
    pos, line = pos[keep], line[keep]
    keep = pos > msg_start[line]  # a unit needs a number before it in the message
    pos, line = pos[keep], line[keep]
    start = msg_start[line]
    prev = clean[pos - 1]
    two = (prev == ord("m")) | (prev == ord("u"))
    places = np.where(two, np.where(prev == ord("m"), 9, 6), 12)
    gap = _run(_SPACE, clean, pos - two - 1, _MAX_SPACES, -1)
    undecided = gap >= _MAX_SPACES  # where the number ends is unknown
    last = pos - two - 1 - gap  # the number's last digit
    tail_len, tail = _digits(b, last, -1)
    dot = (tail_len > 0) & (clean[last - tail_len] == ord("."))
    whole_len = np.zeros(len(pos), dtype=np.int64)
    whole = np.zeros(len(pos), dtype=np.int64)
    rows = np.flatnonzero(dot)
    whole_len[rows], whole[rows] = _digits(b, (last - tail_len - 1)[rows], -1)
    undecided |= (tail_len > _MAX_DIGITS) | (whole_len > _MAX_DIGITS)  # where it starts is unknown
    has_fraction = whole_len > 0
    int_len = np.where(has_fraction, whole_len, tail_len)
    int_value = np.where(has_fraction, whole, tail)
    frac_len = np.where(has_fraction, tail_len, 0)
    first = last - np.where(has_fraction, tail_len + 1 + whole_len, tail_len) + 1
    gap = _run(_SPACE, clean, first - 1, _MAX_SPACES, -1)
    undecided |= (gap >= _MAX_SPACES) & (tail_len > 0)  # where the keyword ends is unknown
    kw_end = first - gap  # one past the keyword
    kw_start = np.full(len(pos), -1, dtype=np.int64)
    is_in = (words[kw_end - 2] & U64(0xFFFF)) == U64(_IN)
    is_took = (words[kw_end - 4] & U64(0xFFFFFFFF)) == U64(_TOOK)
    kw_start[is_in] = kw_end[is_in] - 2
    kw_start[is_took] = kw_end[is_took] - 4
    word_start = kw_start.copy()  # the keyword's \\b: no word byte before it
    sign = clean[kw_end - 1]
    named = (sign == ord("=")) | (sign == ord(":"))
    if named.any():
        rows = np.flatnonzero(named)
        name_len = _run(_WORD, clean, kw_end[rows] - 2, 14, -1)
        at = kw_end[rows] - 1 - name_len
        w = words[at]
        known = (((name_len == 13) & (w == U64(_RESPONSE))
                  & ((words[at + 8] & U64(0xFFFFFFFFFF)) == U64(_TIME)))
                 | ((name_len == 7) & ((w & U64(0xFFFFFFFFFFFFFF)) == U64(_LATENCY)))
                 | ((name_len == 8) & (w == U64(_DURATION))))
        kw_start[rows[known]] = at[known]
        word_start[rows[known]] = at[known]
    found = (kw_start >= start) & (tail_len > 0)
    found &= ~_WORD[clean[word_start - 1]] | (word_start == start)
    # fixed ms = number * 10**places, truncated: the whole part must leave room in an int64
    undecided |= found & (int_len > 18 - places)
    matched = found & ~undecided
    fixed = int_value * POW10[np.clip(places, 0, 18)]
    rows = np.flatnonzero(has_fraction & matched)
    fixed[rows] += _scaled(tail[rows], frac_len[rows], places[rows])
    has = np.zeros(n_lines, dtype=bool)
    unsure = np.zeros(n_lines, dtype=bool)
    value = np.zeros(n_lines, dtype=np.int64)
    unsure[line[undecided]] = True
    # candidates are in position order, and matches cannot interleave: a line's
    # first matching candidate is its first match
    rows = np.flatnonzero(matched)
    lines = line[rows]
    first_of_line = np.ones(len(rows), dtype=bool)
    first_of_line[1:] = lines[1:] != lines[:-1]
    rows, lines = rows[first_of_line], lines[first_of_line]
    has[lines] = True
    value[lines] = fixed[rows]
    return has, unsure, value


def _metrics(b: _Block, msg_start: np.ndarray, active: np.ndarray):
    """Every key=number token: (line, key start, key length, fixed value), and undecided lines."""
    clean = b.clean
    n_lines = len(msg_start)
    eq = b.found(ord("="))
    line = b.line_of(eq)
    keep = active[line]
    eq, line = eq[keep], line[keep]
    keep = eq >= msg_start[line]
    eq, line = eq[keep], line[keep]
    start, end = msg_start[line], b.ends[line]
    key_len = _run(_KEY, clean, eq - 1, _MAX_KEY, -1)
    undecided = key_len >= _MAX_KEY
    key_start = eq - key_len
    is_key = ((key_len > 0) & _KEY_FIRST[clean[key_start]]
              & ((key_start == start) | _TOKEN_GAP[clean[key_start - 1]]))
    neg = clean[eq + 1] == ord("-")
    num_at = eq + 1 + neg
    int_len, int_value = _digits(b, num_at, 1)
    after = num_at + int_len
    dot = (int_len > 0) & (clean[after] == ord(".")) & _DIGIT[clean[after + 1]]
    frac_len, frac = _digits(b, np.where(dot, after + 1, after), 1)
    frac_len = np.where(dot, frac_len, 0)
    num_end = np.where(dot, after + 1 + frac_len, after)
    pct = clean[num_end] == ord("%")
    letters = _run(_LETTER, clean, num_end, _MAX_UNIT, 1)
    token_end = np.where(pct, num_end + 1, num_end + letters)
    ends_ok = (token_end == end) | _TOKEN_GAP[clean[token_end]]
    undecided |= is_key & ((int_len > 9) | (frac_len > _MAX_DIGITS) | (letters >= _MAX_UNIT))
    good = is_key & (int_len > 0) & ends_ok & ~undecided
    value = int_value * 1_000_000_000 + _scaled(frac, frac_len, 9)
    value = np.where(neg, -value, value)
    unsure = np.zeros(n_lines, dtype=bool)
    unsure[line[undecided]] = True
    return line[good], key_start[good], key_len[good], value[good], unsure


# -- the entry point --------------------------------------------------------------------------


def summarise_app_fast(data, base: int = 0, file_index: int = 0,
                       window: Window | None = None) -> Partial:
    """The same :class:`Partial` as :func:`lograd.aggregate.summarise_app`, vectorised."""
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
    b = _Block(data)
    ok, stamp, level_at = _timestamps(b)
    level_id, msg_start = _levels(b, ok, level_at)
    fast = (level_id >= 0) & (b.ends - b.starts <= MAX_LINE)
    inside = fast.copy()
    if window is not None:
        low, high = window
        if low is not None:
            inside &= stamp >= low
        if high is not None:
            inside &= stamp <= high
    has_rt, rt_unsure, rt_value = _response_times(b, msg_start, inside)
    m_line, m_key_at, m_key_len, m_value, m_unsure = _metrics(b, msg_start, inside)
    slow = ~fast | rt_unsure | m_unsure
    fast &= ~slow
    inside &= fast

    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    for i in np.flatnonzero(slow).tolist():
        start, stop = int(b.starts[i]) - _PAD, int(b.raw_ends[i]) - _PAD
        add_lines(partial, bytes(view[start:stop + 1]), base + start, file_index, window)
    partial.lines += len(b.starts)

    keep = inside[m_line]
    _aggregate(partial, stamp, fast, inside, level_id, has_rt & inside, rt_value)
    if keep.any():
        _add_resources(partial, b, stamp[m_line[keep]], m_key_at[keep], m_key_len[keep], m_value[keep])
    return int(np.count_nonzero(slow))


def newest_app_entry(data) -> int | None:
    """The time of the newest `app` entry in ``data`` (whole lines), or None: the cheap
    first phase of ``--last``, timestamps and levels only."""
    if not len(data):
        return None
    b = _Block(data)
    ok, stamp, level_at = _timestamps(b)
    level_id, _ = _levels(b, ok, level_at)
    fast = (level_id >= 0) & (b.ends - b.starts <= MAX_LINE)
    newest = int(stamp[fast].max()) if fast.any() else None
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    for i in np.flatnonzero(~fast).tolist():
        line = bytes(view[int(b.starts[i]) - _PAD:int(b.ends[i]) - _PAD])
        parsed = parse_app_line(line)
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


def _key_names(b: _Block, key_at: np.ndarray, key_len: np.ndarray) -> tuple[list[str], np.ndarray]:
    """(distinct key names, index of each token's key)."""
    short = key_len <= 8
    if short.all():  # the common case: one masked 64-bit word is the whole key
        masks = (U64(1) << (key_len.astype(np.uint64) * U64(8))) - U64(1)
        masks[key_len == 8] = U64(0xFFFFFFFFFFFFFFFF)
        ids = b.words[key_at] & masks
        distinct, index = np.unique(ids, return_inverse=True)
        names = [int(k).to_bytes(8, "little").rstrip(b"\0").decode("ascii") for k in distinct.tolist()]
        return names, index.reshape(-1)
    cols = b.clean[key_at[:, None] + np.arange(_MAX_KEY)]
    cols[np.arange(_MAX_KEY)[None, :] >= key_len[:, None]] = 0  # NUL-padded: 'S' drops it
    keys = np.ascontiguousarray(cols).view(f"S{_MAX_KEY}").reshape(-1)
    distinct, index = np.unique(keys, return_inverse=True)
    return [k.decode("ascii") for k in distinct.tolist()], index.reshape(-1)


def _add_resources(p: Partial, b: _Block, stamps, key_at, key_len, values) -> None:
    names, key_index = _key_names(b, key_at, key_len)
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
