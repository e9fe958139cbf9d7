"""The vectorised `conn` path: numpy over a block of lines, hosts counted without per-line objects.

It decides the common lines — ``DIGITS SOURCE TARGET`` with one space or tab
between the fields, hosts of at most 16 bytes — and hands every other line
(more spaces, long hosts, trailing spaces, NUL bytes, malformed and blank
lines) to the exact per-line path of :func:`lograd.aggregate.add_conn_lines`.
A host of up to 16 bytes is its own 128-bit key (two little-endian words, zero
padded: a host holds no NUL here), so counting by key is counting by name;
keys are grouped through a hash table whose every slot is checked against the
key it holds, and rows that met a collision are grouped by sorting.
"""
from __future__ import annotations

import numpy as np

from .aggregate import Partial, Window, add_conn_lines
from .conn import MAX_MS, MS_THRESHOLD, ConnCounts
from .swar import POW10, U64, digits_from_bottom, equal_bytes, first_flagged, non_digits, words

_PAD = 64
"""NUL bytes after (and before) the block: every gather stays inside the array."""
_HOST_BYTES = 16
_TABLE_BITS = 16
_MIX0, _MIX1 = U64(0x9E3779B97F4A7C15), U64(0xC2B2AE3D27D4EB4F)


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


def _gaps(word: np.ndarray) -> np.ndarray:
    """Flags on the bytes that end a host: space or tab. (A host read past its
    line's end is caught by the lengths: the target would end before it starts.)"""
    return equal_bytes(word, 32) | equal_bytes(word, 9)


def _timestamps(b: _Block):
    """(digit count, epoch ms) of the leading number of each line (up to 16 digits)."""
    w0, w1 = b.words[b.starts], b.words[b.starts + 8]
    run0 = first_flagged(non_digits(w0))
    run1 = np.where(run0 == 8, first_flagged(non_digits(w1)), 0)
    number = digits_from_bottom(w0, run0) * POW10[run1] + digits_from_bottom(w1, run1)
    ms = np.where(number >= MS_THRESHOLD, number, number * 1000)
    return run0 + run1, ms


_MASK0 = np.array([(1 << 8 * min(n, 8)) - 1 for n in range(_HOST_BYTES + 1)], dtype=np.uint64)
_MASK1 = np.array([(1 << 8 * max(n - 8, 0)) - 1 for n in range(_HOST_BYTES + 1)], dtype=np.uint64)


def _key(b: _Block, at: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A host's two words, zero past its length (hosts of 1..16 bytes)."""
    return b.words[at] & _MASK0[length], b.words[at + 8] & _MASK1[length]


def _distinct(k0: np.ndarray, k1: np.ndarray, n: np.ndarray | None = None):
    """(keys, keys, counts) of the distinct hosts among the rows (each row counting ``n``)."""
    if not len(k0):
        return k0, k1, np.zeros(0, dtype=np.int64)
    weights = np.ones(len(k0), dtype=np.int64) if n is None else n
    slot = (((k0 * _MIX0) ^ (k1 * _MIX1)) >> U64(64 - _TABLE_BITS)).astype(np.int64)
    held0 = np.zeros(1 << _TABLE_BITS, dtype=np.uint64)
    held1 = np.zeros(1 << _TABLE_BITS, dtype=np.uint64)
    held0[slot], held1[slot] = k0, k1  # one key per slot wins ...
    mine = (held0[slot] == k0) & (held1[slot] == k1)  # ... and rows with another key are counted apart
    counts = np.bincount(slot[mine], weights=weights[mine], minlength=1 << _TABLE_BITS).astype(np.int64)
    used = np.flatnonzero(counts)
    out0, out1, out_n = [held0[used]], [held1[used]], [counts[used]]
    if not mine.all():
        keys = np.stack([k0[~mine], k1[~mine]], axis=1)
        distinct, inverse = np.unique(keys, axis=0, return_inverse=True)
        out0.append(distinct[:, 0])
        out1.append(distinct[:, 1])
        out_n.append(np.bincount(inverse.reshape(-1), weights=weights[~mine]).astype(np.int64))
    return np.concatenate(out0), np.concatenate(out1), np.concatenate(out_n)


class HostTally:
    """Host counts of many blocks, kept as keys until a chunk ends: names are made once a chunk."""

    def __init__(self) -> None:
        self.parts: dict[str, list] = {"sources": [], "targets": [], "to_host": [], "from_host": []}

    def add(self, which: str, k0: np.ndarray, k1: np.ndarray) -> None:
        if len(k0):
            self.parts[which].append(_distinct(k0, k1))

    def into(self, counts: ConnCounts) -> None:
        """Add every tallied host, by name, to ``counts``."""
        for which, parts in self.parts.items():
            if not parts:
                continue
            k0, k1, n = (np.concatenate(x) for x in zip(*parts))
            mine = getattr(counts, which)
            for a, c, m in zip(*(x.tolist() for x in _distinct(k0, k1, n))):
                name = (a.to_bytes(8, "little") + c.to_bytes(8, "little")).rstrip(b"\0")
                mine[name] = mine.get(name, 0) + m
            parts.clear()


def _decided(b: _Block):
    """Per line: decided, ms, and the source and target keys of the common shape."""
    n = len(b.starts)
    digits, ms = _timestamps(b)
    clean = b.clean
    gap1 = b.starts + digits
    sep1 = clean[gap1]
    # (a number of 17 digits or more is read as 16 and then fails the separator test)
    ok = (digits > 0) & ((sep1 == 32) | (sep1 == 9)) & (ms < MAX_MS)
    # the source ends at the first space or tab within 16 bytes after the first gap
    words = b.words
    src = gap1 + 1
    src_len = first_flagged(_gaps(words[src]))
    long = np.flatnonzero(src_len == 8)  # hosts of 8 bytes or more: look at the next word too
    src_len[long] += first_flagged(_gaps(words[src[long] + 8]))
    gap2 = src + src_len
    sep2 = clean[gap2]
    dst = gap2 + 1
    dst_len = b.ends - dst
    ok &= (src_len >= 1) & (src_len <= _HOST_BYTES) & ((sep2 == 32) | (sep2 == 9))
    ok &= (dst_len >= 1) & (dst_len <= _HOST_BYTES)
    # ... and the target, up to the line's end, holds no space or tab
    length = np.clip(dst_len, 0, _HOST_BYTES)
    ok &= (_gaps(words[dst]) & _MASK0[length]) == 0
    long = np.flatnonzero(length > 8)
    ok[long] &= (_gaps(words[dst[long] + 8]) & _MASK1[length[long]]) == 0
    rows = np.flatnonzero(ok)
    s0, s1 = _key(b, src[rows], src_len[rows])
    t0, t1 = _key(b, dst[rows], dst_len[rows])
    return ok, rows, ms, (s0, s1), (t0, t1), n


def add_conn_fast(partial: Partial, data, base: int, file_index: int, window: Window | None,
                  counts: ConnCounts, tally: HostTally | None = None) -> int:
    """Add the `conn` lines of ``data`` (whole lines) to ``partial``; how many went the per-line way.

    With ``tally``, host counts wait there (``tally.into(partial.conn)`` names them).
    """
    if partial.conn is None:
        partial.conn = counts
    if not len(data):
        return 0
    raw = data if isinstance(data, bytes) else bytes(data)
    if b"\0" in raw:  # a NUL would read as a line end here: the exact path for the block
        lines = add_conn_lines(partial, raw, base, file_index, window, counts)
        partial.lines += lines
        return lines
    b = _Block(raw)
    ok, rows, ms, (s0, s1), (t0, t1), n = _decided(b)
    for i in np.flatnonzero(~ok).tolist():
        start, stop = int(b.starts[i]) - _PAD, int(b.raw_ends[i]) - _PAD
        add_conn_lines(partial, raw[start:stop + 1], base + start, file_index, window, counts)
    partial.lines += n
    if not len(rows):
        return int(n)
    times = ms[rows]
    partial.entries += len(rows)
    low, high = int(times.min()), int(times.max())
    partial.first_ms = low if partial.first_ms is None else min(partial.first_ms, low)
    partial.last_ms = high if partial.last_ms is None else max(partial.last_ms, high)
    inside = np.ones(len(rows), dtype=bool)
    if window is not None:
        if window[0] is not None:
            inside &= times >= window[0]
        if window[1] is not None:
            inside &= times <= window[1]
    s0, s1, t0, t1 = s0[inside], s1[inside], t0[inside], t1[inside]
    c = partial.conn
    c.in_window += len(s0)
    own = tally is None
    tally = HostTally() if own else tally
    tally.add("sources", s0, s1)
    tally.add("targets", t0, t1)
    if c.host is not None and 0 < len(c.host) <= _HOST_BYTES and b"\0" not in c.host:
        h0 = U64(int.from_bytes(c.host[:8], "little"))
        h1 = U64(int.from_bytes(c.host[8:16], "little"))
        to_host = (t0 == h0) & (t1 == h1)
        from_host = (s0 == h0) & (s1 == h1)
        tally.add("to_host", s0[to_host], s1[to_host])
        tally.add("from_host", t0[from_host], t1[from_host])
    if own:
        tally.into(c)
    return int(np.count_nonzero(~ok))


def newest_conn_fast(data) -> int | None:
    """The time of the newest `conn` entry in ``data`` (whole lines), or None."""
    from .conn import newest_conn_entry
    raw = data if isinstance(data, bytes) else bytes(data)
    if not raw:
        return None
    if b"\0" in raw:
        return newest_conn_entry(raw)
    b = _Block(raw)
    ok, rows, ms, *_ = _decided(b)
    newest = int(ms[rows].max()) if len(rows) else None
    for i in np.flatnonzero(~ok).tolist():
        start, stop = int(b.starts[i]) - _PAD, int(b.raw_ends[i]) - _PAD
        t = newest_conn_entry(raw[start:stop + 1])
        if t is not None and (newest is None or t > newest):
            newest = t
    return newest
