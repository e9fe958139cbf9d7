"""`conn`: connection logs (SPEC §1), who connected to whom.

    1565647204351 Aadvik Matina        (milliseconds: the number is >= 10**11)
    1565647205 quark garak             (seconds)

The exact per-line grammar (a regular expression), and the compiled path: a
scanner over a block of lines, no row or Python object per line.

The scanner (:class:`lograd._scanner.ConnRuns`) decides every line by SPEC §1's
conn grammar and counts it as it goes (lines, entries, minutes as runs); lines
with a host longer than 16 bytes or holding a NUL byte are undecided and go to
the exact per-line path of :func:`add_conn_lines`. A host of up to 16 bytes is
its own 128-bit key (two little-endian words, zero padded, found a word at a
time), so counting by key is counting by name; the scanner counts the keys in
hash tables (:class:`lograd._scanner.HostTable`), and names are made once a
chunk. :func:`lograd._scanner.scan_conn` reads only times, for ``--last`` and
follow mode.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..aggregate import Partial, TimeBounds, each_line, inside
from .._scanner import ConnRuns, HostTable, scan_conn
from ..conn import MAX_HOST, MAX_MS, MS_THRESHOLD, ConnCounts, conn_report
from ..fastpath import add_exceptions, block_lines, scanned_entries, window_bounds
from ..parsing import MAX_LINE
from . import no_entries
from . import Entries
from . import Reading
from ..patterns import lazy

if TYPE_CHECKING:
    import numpy as np

_CONN_LINE = lazy(rb"(\d+)[ \t]+([^ \t]+)[ \t]+([^ \t]+)[ \t]*")


def parse_conn_line(line: bytes) -> tuple[int, bytes, bytes] | None:
    """(epoch ms, source, target) of a `conn` entry, or None when malformed.

    ``line`` has no ``\\n`` and no trailing ``\\r``.
    """
    if len(line) > MAX_LINE:
        return None
    m = _CONN_LINE.fullmatch(line)
    if m is None or len(m[1]) > 16 or len(m[2]) > MAX_HOST or len(m[3]) > MAX_HOST:
        return None
    number = int(m[1])
    ms = number if number >= MS_THRESHOLD else number * 1000
    if ms >= MAX_MS:
        return None
    return ms, m[2], m[3]


def newest_conn_entry(data: bytes) -> int | None:
    """The time of the newest `conn` entry in ``data`` (whole lines), or None."""
    newest = None
    for raw in data.split(b"\n"):
        entry = parse_conn_line(raw[:-1] if raw.endswith(b"\r") else raw)
        if entry is not None and (newest is None or entry[0] > newest):
            newest = entry[0]
    return newest


def add_conn_lines(partial: Partial, data: bytes, base: int, file_index: int, window: TimeBounds | None,
                   counts: ConnCounts) -> int:
    """Classify and count every `conn` line of ``data`` into ``partial``; the number of lines.

    ``counts`` (for a host) becomes ``partial.conn`` if it has none yet.
    """
    if partial.conn is None:
        partial.conn = counts
    conn = partial.conn

    def take(entry: tuple[int, bytes, bytes], where: tuple[int, int]) -> None:
        ms = entry[0]
        partial.entries += 1
        if partial.first_ms is None or ms < partial.first_ms:
            partial.first_ms = ms
        if partial.last_ms is None or ms > partial.last_ms:
            partial.last_ms = ms
        if window is None or inside(ms, window):
            conn.add(entry[1], entry[2], minute=ms // 60_000)

    return each_line(partial, data, base, file_index, parse_conn_line, take)

_HOST_BYTES = 16


class HostTally:
    """A chunk's conn counts until it ends, in the scanner's tables: lines, entries and
    minutes (:class:`~lograd._scanner.ConnRuns`), hosts as keys; names are made once a chunk
    (:meth:`into`)."""

    def __init__(self, hosts: tuple[bytes, ...] = ()) -> None:
        import numpy as np
        self.hosts = hosts
        self.keys = np.array([_host_key(h) for h in hosts], dtype=np.uint64).reshape(-1, 2)
        self._empty()

    def _empty(self) -> None:
        self.sources, self.targets = HostTable(), HostTable()
        self.to_hosts = [HostTable() for _ in self.hosts]
        self.from_hosts = [HostTable() for _ in self.hosts]
        self.runs: ConnRuns | None = None

    def scan_arguments(self) -> tuple:
        """The tables and host keys :meth:`ConnRuns.scan` counts into."""
        return self.sources, self.targets, self.to_hosts, self.from_hosts, self.keys

    def runs_for(self, window: TimeBounds | None, partial: Partial) -> ConnRuns:
        """The chunk's line counts inside ``window`` (those of another window go into
        ``partial`` first: a tally counts one window)."""
        low_high = window_bounds(window)
        if self.runs is not None and (self.runs.low, self.runs.high) != low_high:
            self._fold_runs(partial)
        if self.runs is None:
            self.runs = ConnRuns(*low_high)
        return self.runs

    def _fold_runs(self, partial: Partial) -> None:
        import numpy as np
        runs, self.runs = self.runs, None
        if runs is None:
            return
        partial.lines += runs.lines
        partial.blank += runs.blank
        if runs.entries:
            partial.add_entries(runs.entries, runs.first_ms, runs.last_ms)
        counts = partial.conn
        counts.in_window += runs.in_window
        runs_of_minutes = runs.minute_counts()  # late lines make many short runs: added up in numpy
        if len(runs_of_minutes):
            minutes, index = np.unique(runs_of_minutes[:, 0], return_inverse=True)
            n = np.bincount(index.reshape(-1), weights=runs_of_minutes[:, 1]).astype(np.int64)
            for minute, count in zip(minutes.tolist(), n.tolist()):
                counts.per_minute[minute] = counts.per_minute.get(minute, 0) + count

    def into(self, partial: Partial) -> None:
        """Add everything tallied to ``partial`` (its hosts by name to ``partial.conn``); the
        tally starts again empty."""
        counts = partial.conn
        self._fold_runs(partial)
        pairs = [(self.sources, counts.sources), (self.targets, counts.targets)]
        pairs += [(t, counts.to_host[h]) for t, h in zip(self.to_hosts, self.hosts)]
        pairs += [(t, counts.from_host[h]) for t, h in zip(self.from_hosts, self.hosts)]
        for table, mine in pairs:
            for a, c, m in zip(*(x.tolist() for x in table.items())):
                name = (a.to_bytes(8, "little") + c.to_bytes(8, "little")).rstrip(b"\0")
                mine[name] = mine.get(name, 0) + m
        self._empty()


def _host_key(host: bytes) -> tuple[int, int]:
    """The host's key, or (0, 0) when the scanner cannot see it (long, holding NUL):
    such a host is then no key's name, and no entry counts as its peer."""
    if not 0 < len(host) <= _HOST_BYTES or b"\0" in host:
        return 0, 0
    return int.from_bytes(host[:8], "little"), int.from_bytes(host[8:16], "little")


def add_conn_fast(partial: Partial, data, base: int, file_index: int, window: TimeBounds | None,
                  counts: ConnCounts, tally: HostTally | None = None) -> int:
    """Add the `conn` lines of ``data`` (whole lines) to ``partial``; how many went the per-line way.

    With ``tally``, the counts wait there until the chunk ends (``tally.into(partial)``).
    """
    if partial.conn is None:
        partial.conn = counts
    if not len(data):
        return 0
    own = tally is None
    tally = HostTally(partial.conn.hosts) if own else tally
    undecided = 0
    if tally.runs_for(window, partial).scan(data, *tally.scan_arguments()):
        view = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        undecided = add_exceptions(partial, view, tally.runs.exceptions(), base, file_index,
                                   lambda line, offset: add_conn_lines(partial, line, offset, file_index,
                                                                       window, counts))
    if own:
        tally.into(partial)
    return undecided


def newest_conn_fast(data) -> int | None:
    """The time of the newest `conn` entry in ``data`` (whole lines), or None."""
    times = conn_entries(data)[0]
    return int(times.max()) if len(times) else None


def conn_entries(data) -> Entries:
    """Every `conn` entry of ``data`` (whole lines): time, first byte, newline."""
    import numpy as np
    if not len(data):
        return no_entries()
    buf, newlines, n = block_lines(data)
    starts, ends, stamps = (np.empty(n, np.int64) for _ in range(3))
    kinds = np.empty(n, np.uint8)
    scan_conn(buf, newlines, starts, ends, kinds, stamps)
    return scanned_entries(data, starts, kinds, stamps, parse_conn_line)


class ConnFormat:
    """The `conn` format (see :mod:`lograd.formats`)."""

    name = "conn"
    example = "1565647204351 Aadvik Matina"
    continues = False
    entry_metrics = False
    has_messages = False
    workers_need_numpy = True  # hosts and peers counted in arrays

    def parse_line(self, line: bytes, reference_ms: int = 0) -> tuple | None:
        return parse_conn_line(line)

    def add_block(self, partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None) -> None:
        if reading.state is None:
            reading.state = HostTally(reading.hosts)
        add_conn_fast(partial, block, base, reading.file_index, window, ConnCounts(reading.hosts), reading.state)

    def finish(self, partial: Partial, reading: Reading) -> None:
        if partial.conn is not None and reading.state is not None:
            reading.state.into(partial)

    def block_entries(self, block, reading: Reading) -> Entries:
        return conn_entries(block)

    def report_keys(self, partial: Partial, hosts: tuple[bytes, ...]) -> dict:
        return conn_report(partial.conn or ConnCounts(hosts))


CONN = ConnFormat()
