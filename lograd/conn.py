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

import msgspec

from .timestamps import format_minute
from .parsing import checked_count as _count

MS_THRESHOLD = 10 ** 11
"""Timestamps at or above this are milliseconds, below it seconds (SPEC §1)."""
MAX_MS = 253_402_300_800_000
"""The first millisecond of the year 10000: later timestamps cannot be written in ISO 8601."""
MAX_HOST = 255

def _add(counts: dict, key, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


class ConnCounts(msgspec.Struct):
    """The conn answers of some lines, for the hosts of ``--host`` (none, one or several)."""

    hosts: tuple[bytes, ...] = ()
    in_window: int = 0
    sources: dict[bytes, int] = msgspec.field(default_factory=dict)
    targets: dict[bytes, int] = msgspec.field(default_factory=dict)
    to_host: dict[bytes, dict[bytes, int]] = msgspec.field(default_factory=dict)
    """host -> source -> n, of entries whose target is that host."""
    from_host: dict[bytes, dict[bytes, int]] = msgspec.field(default_factory=dict)
    """host -> target -> n, of entries whose source is that host."""
    per_minute: dict[int, int] = msgspec.field(default_factory=dict)  # minute -> connections

    def __post_init__(self) -> None:
        if isinstance(self.hosts, bytes):
            raise TypeError("hosts is a tuple of host names, not one name")
        self.hosts = tuple(dict.fromkeys(self.hosts))  # each once, in the order given
        for host in self.hosts:
            self.to_host.setdefault(host, {})
            self.from_host.setdefault(host, {})

    def add(self, source: bytes, target: bytes, n: int = 1, minute: int | None = None) -> None:
        """Count ``n`` connections from ``source`` to ``target`` (inside the window) in ``minute``."""
        self.in_window += n
        if minute is not None:
            _add(self.per_minute, minute, n)
        _add(self.sources, source, n)
        _add(self.targets, target, n)
        if target in self.to_host:
            _add(self.to_host[target], source, n)
        if source in self.from_host:
            _add(self.from_host[source], target, n)

    def merge(self, other: ConnCounts) -> None:
        """Add another's counts (same hosts)."""
        self.in_window += other.in_window
        pairs = [(self.sources, other.sources), (self.targets, other.targets), (self.per_minute, other.per_minute)]
        for host in other.hosts:
            pairs += [(self.to_host.setdefault(host, {}), other.to_host[host]),
                      (self.from_host.setdefault(host, {}), other.from_host[host])]
        for mine, theirs in pairs:
            for key, n in theirs.items():
                _add(mine, key, n)

    def to_wire(self) -> list:
        return [list(self.hosts), self.in_window, _items(self.sources), _items(self.targets),
                [_items(self.to_host[h]) for h in self.hosts], [_items(self.from_host[h]) for h in self.hosts],
                _items(self.per_minute)]

    @classmethod
    def from_wire(cls, data: list) -> ConnCounts:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        hosts, in_window, sources, targets, to_host, from_host, per_minute = data
        if not all(isinstance(h, bytes) for h in hosts) or len(set(hosts)) != len(hosts):
            raise ValueError("conn hosts are not distinct bytes")
        if len(to_host) != len(hosts) or len(from_host) != len(hosts):
            raise ValueError("conn peers do not match the hosts")
        return cls(tuple(hosts), _count(in_window), _counts(sources), _counts(targets),
                   {h: _counts(p) for h, p in zip(hosts, to_host)}, {h: _counts(p) for h, p in zip(hosts, from_host)},
                   _counts(per_minute, int))


def _items(counts: dict[bytes, int]) -> list:
    return [[k, n] for k, n in counts.items()]


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
    """The SPEC §3 conn keys (``window`` aside) of merged counts, and four added keys:
    each asked host's peers, the busiest sources and targets, and connections per minute.

    SPEC's single-host keys (``host``, ``connected_to_host``, ``connected_from_host``) answer
    for the one host asked; with none or several, ``host`` is null and they are empty, and
    ``hosts_asked`` answers for each."""
    one = totals.hosts[0] if len(totals.hosts) == 1 else None
    return {
        "in_window": totals.in_window,
        "host": None if one is None else _name(one),
        "connected_to_host": {} if one is None else _named(totals.to_host[one]),
        "connected_from_host": {} if one is None else _named(totals.from_host[one]),
        "hosts_asked": {_name(h): {"connected_to_host": _named(totals.to_host[h]),
                                   "connected_from_host": _named(totals.from_host[h])} for h in totals.hosts},
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
