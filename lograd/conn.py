"""The figures of connection logs (SPEC §3 `conn`): who connected to whom, pure and mergeable.

    1565647204351 Aadvik Matina        (milliseconds: the number is >= 10**11)
    1565647205 quark garak             (seconds)

A chunk's entries inside the window are counted per source, per target, and
per peer of ``--host``: a partial's size follows the number of hosts, not of
lines. (``--last N`` is an absolute window by the time chunks are read: the
coordinator first scans for the newest entry, see coordinator.py.)
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from .timestamps import format_minute

MS_THRESHOLD = 10 ** 11
"""Timestamps at or above this are milliseconds, below it seconds (SPEC §1)."""
MAX_MS = 253_402_300_800_000
"""The first millisecond of the year 10000: later timestamps cannot be written in ISO 8601."""
MAX_HOST = 255

def _add(counts: dict, key, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


@dataclass
class ConnCounts:
    """The conn answers of some lines, for one ``--host``."""

    host: bytes | None = None
    in_window: int = 0
    sources: dict[bytes, int] = field(default_factory=dict)
    targets: dict[bytes, int] = field(default_factory=dict)
    to_host: dict[bytes, int] = field(default_factory=dict)  # source -> n, of entries whose target is host
    from_host: dict[bytes, int] = field(default_factory=dict)  # target -> n, of entries whose source is host
    per_minute: dict[int, int] = field(default_factory=dict)  # minute -> connections

    def add(self, source: bytes, target: bytes, n: int = 1, minute: int | None = None) -> None:
        """Count ``n`` connections from ``source`` to ``target`` (inside the window) in ``minute``."""
        self.in_window += n
        if minute is not None:
            _add(self.per_minute, minute, n)
        _add(self.sources, source, n)
        _add(self.targets, target, n)
        if self.host is not None:
            if target == self.host:
                _add(self.to_host, source, n)
            if source == self.host:
                _add(self.from_host, target, n)

    def merge(self, other: ConnCounts) -> None:
        """Add another's counts (same host)."""
        self.in_window += other.in_window
        for mine, theirs in ((self.sources, other.sources), (self.targets, other.targets),
                             (self.to_host, other.to_host), (self.from_host, other.from_host),
                             (self.per_minute, other.per_minute)):
            for key, n in theirs.items():
                _add(mine, key, n)

    def to_wire(self) -> list:
        return [self.host, self.in_window, _items(self.sources), _items(self.targets),
                _items(self.to_host), _items(self.from_host), _items(self.per_minute)]

    @classmethod
    def from_wire(cls, data: list) -> ConnCounts:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        host, in_window, sources, targets, to_host, from_host, per_minute = data
        if host is not None and not isinstance(host, bytes):
            raise ValueError("conn host is not bytes")
        return cls(host, _count(in_window), _counts(sources), _counts(targets), _counts(to_host),
                   _counts(from_host), _counts(per_minute, int))


def _items(counts: dict[bytes, int]) -> list:
    return [[k, n] for k, n in counts.items()]


def _count(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a count: {value!r}")
    return value


def _counts(pairs: list, kind: type = bytes) -> dict:
    out: dict = {}
    for key, n in pairs:
        if not isinstance(key, kind) or isinstance(key, bool):
            raise ValueError(f"conn key is not {kind.__name__}")
        _add(out, key, _count(n))
    return out


def _name(host: bytes) -> str:
    return host.decode("utf-8", "replace")


def _named(counts: dict[bytes, int]) -> dict[str, int]:
    """Counts by decoded name, busiest first (ties by name)."""
    out: dict[str, int] = {}
    for host, n in counts.items():
        _add(out, _name(host), n)
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _top(counts: dict[bytes, int]) -> dict:
    named = _named(counts)
    most = max(named.values(), default=0)
    return {"hosts": sorted(h for h, n in named.items() if n == most) if most else [], "connections": most}


BUSIEST = 20
"""Hosts listed in ``busiest_sources`` and ``busiest_targets``."""


def conn_report(totals: ConnCounts) -> dict:
    """The SPEC §3 conn keys (``window`` aside) of merged counts, and three added keys:
    the busiest sources and targets, and connections per minute."""
    return {
        "in_window": totals.in_window,
        "host": None if totals.host is None else _name(totals.host),
        "connected_to_host": _named(totals.to_host),
        "connected_from_host": _named(totals.from_host),
        "top_sources": _top(totals.sources),
        "top_targets": _top(totals.targets),
        "busiest_sources": _busiest(totals.sources),
        "busiest_targets": _busiest(totals.targets),
        "connections_per_minute": [{"minute": format_minute(m), "connections": n}
                                   for m, n in sorted(totals.per_minute.items())],
    }


def _busiest(counts: dict[bytes, int]) -> list[dict]:
    return [{"host": h, "connections": n} for h, n in heapq.nsmallest(
        BUSIEST, _named(counts).items(), key=lambda kv: (-kv[1], kv[0]))]
