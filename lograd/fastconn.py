"""The compiled `conn` path: a scanner over a block of lines, hosts counted without per-line objects.

The scanner (:func:`lograd._scanner.scan_conn`) decides every line by SPEC §1's
conn grammar; lines with a host longer than 16 bytes or holding a NUL byte
are undecided and go to the exact per-line path of
:func:`lograd.aggregate.add_conn_lines`. A host of up to 16 bytes is its own
128-bit key (two little-endian words, zero padded), so counting by key is
counting by name; the scanner counts the keys in hash tables as it goes
(:class:`lograd._scanner.HostTable`), and names are made once a chunk.
"""
from __future__ import annotations

import numpy as np

from .aggregate import Partial, Window, add_conn_lines
from ._scanner import ENTRY, HostTable, scan_conn
from .conn import ConnCounts, parse_conn_line
from .fastpath import NO_ENTRIES, Entries, count_into, add_other_lines, block_lines, scanned_entries, window_bounds

_HOST_BYTES = 16
_TALLIES = ("sources", "targets", "to_host", "from_host")


class HostTally:
    """Host counts of many blocks, kept as keys until a chunk ends: names are made once a chunk."""

    def __init__(self) -> None:
        self.tables = {which: HostTable() for which in _TALLIES}

    def into(self, counts: ConnCounts) -> None:
        """Add every tallied host, by name, to ``counts``."""
        for which, table in self.tables.items():
            mine = getattr(counts, which)
            for a, c, m in zip(*(x.tolist() for x in table.items())):
                name = (a.to_bytes(8, "little") + c.to_bytes(8, "little")).rstrip(b"\0")
                mine[name] = mine.get(name, 0) + m
            self.tables[which] = HostTable()


def _host_key(host: bytes | None) -> tuple[int, int]:
    """The host's key, or (0, 0) when the scanner cannot see it (none, long, holding NUL):
    such a host is then no key's name, and no entry counts as its peer."""
    if host is None or not 0 < len(host) <= _HOST_BYTES or b"\0" in host:
        return 0, 0
    return int.from_bytes(host[:8], "little"), int.from_bytes(host[8:16], "little")


def add_conn_fast(partial: Partial, data, base: int, file_index: int, window: Window | None,
                  counts: ConnCounts, tally: HostTally | None = None) -> int:
    """Add the `conn` lines of ``data`` (whole lines) to ``partial``; how many went the per-line way.

    With ``tally``, host counts wait there (``tally.into(partial.conn)`` names them).
    """
    if partial.conn is None:
        partial.conn = counts
    if not len(data):
        return 0
    own = tally is None
    tally = HostTally() if own else tally
    c = partial.conn
    buf, newlines, n = block_lines(data)
    starts, ends, stamps = (np.empty(n, np.int64) for _ in range(3))
    kinds = np.empty(n, np.uint8)
    c.in_window += scan_conn(buf, newlines, *window_bounds(window), starts, ends, kinds, stamps,
                             *tally.tables.values(), *_host_key(c.host))
    view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
    undecided = add_other_lines(partial, view, starts, ends, kinds, base, file_index,
                                lambda line, offset: add_conn_lines(partial, line, offset, file_index,
                                                                    window, counts))
    times = stamps[kinds == ENTRY]
    window_low, window_high = window_bounds(window)
    inside = times[(times >= window_low) & (times <= window_high)]
    if len(inside):
        count_into(c.per_minute, inside // 60_000)
    if len(times):
        partial.entries += len(times)
        low, high = int(times.min()), int(times.max())
        partial.first_ms = low if partial.first_ms is None else min(partial.first_ms, low)
        partial.last_ms = high if partial.last_ms is None else max(partial.last_ms, high)
    if own:
        tally.into(c)
    return undecided


def newest_conn_fast(data) -> int | None:
    """The time of the newest `conn` entry in ``data`` (whole lines), or None."""
    times = conn_entries(data)[0]
    return int(times.max()) if len(times) else None


def conn_entries(data) -> Entries:
    """Every `conn` entry of ``data`` (whole lines): time, first byte, newline."""
    if not len(data):
        return NO_ENTRIES
    tally = HostTally()
    buf, newlines, n = block_lines(data)
    starts, ends, stamps = (np.empty(n, np.int64) for _ in range(3))
    kinds = np.empty(n, np.uint8)
    scan_conn(buf, newlines, 1, 0, starts, ends, kinds, stamps, *tally.tables.values(), 0, 0)  # empty window
    return scanned_entries(data, starts, kinds, stamps, parse_conn_line)
