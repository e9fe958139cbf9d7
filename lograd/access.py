"""The figures of web access logs (issue #16): status codes, paths, clients, agents; pure and mergeable.

A chunk's access entries inside the window are counted per status code (and
status class per minute), per method, per normalised path (requests, 5xx, and a
response-time sketch each), per client (requests, 4xx, 5xx), per user agent and
per referrer. Every count is an integer keyed by what it counts, so merging
partials in any order gives the same figures as reading the whole file at once.
"""
from __future__ import annotations

import heapq

import msgspec

from .parsing import fixed_to_float, wide_sum, checked_count as _count, checked_int as _int
from .patterns import lazy
from .sketch import LOWEST_INDEX, Sketch
from .timestamps import format_minute

TOP = 20
"""Rows of each top list in the report."""
SLOW_MIN_REQUESTS = 20
"""A path needs this many timed requests to be ranked among the slowest."""
PATH_PERCENTILES = (50, 95, 99)
STATUS_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

_UUID = lazy(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX_ID = lazy(rb"(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")


def _id(part: bytes) -> bool:
    return bool(part) and bool(part.isdigit() or _UUID.fullmatch(part) or _HEX_ID.fullmatch(part))


def normalised_path(target: bytes) -> bytes:
    """A request target as a row of ``top_paths``: without its query string (or fragment),
    each part of a segment between dots that is an id — digits, a UUID, or eight or more hex
    digits with a digit among them — written ``{id}`` (``/api/users/123?x=1`` →
    ``/api/users/{id}``, ``/images/42.png`` → ``/images/{id}.png``)."""
    path = target.split(b"?", 1)[0].split(b"#", 1)[0]
    return b"/".join(b".".join(b"{id}" if _id(p) else p for p in segment.split(b"."))
                     for segment in path.split(b"/"))


MAX_KEYS = 100_000
"""Keys a bounded list keeps (per partial, so per worker's chunk and at the coordinator)."""
BOUNDED = ("clients", "agents", "referrers")
"""The lists whose keys come from the outside world without limit (paths are normalised)."""


def misra_gries(counts: dict) -> int:
    """Keep ``counts`` (key -> count, or -> [count, ...] ranked by the first) to MAX_KEYS keys:
    the (MAX_KEYS + 1)-th largest count is taken off every count and the keys left at zero are
    dropped (Misra-Gries; mergeable: summaries added then bounded keep the bound). Returns what
    was taken off (0 when nothing was): no count is under its true value by more than the sum
    of these, and that sum is at most the entries / (MAX_KEYS + 1)."""
    if len(counts) <= MAX_KEYS:
        return 0
    rows = isinstance(next(iter(counts.values())), list)
    cut = heapq.nlargest(MAX_KEYS + 1, (v[0] if rows else v for v in counts.values()))[-1]
    for key in list(counts):
        value = counts[key]
        left = (value[0] if rows else value) - cut
        if left <= 0:
            del counts[key]
        elif rows:
            counts[key] = [left, *(min(n, left) for n in value[1:])]
        else:
            counts[key] = left
    return cut


def _add(counts: dict, key, n: int = 1) -> None:
    counts[key] = counts.get(key, 0) + n


class PathFigures(msgspec.Struct):
    """One normalised path: requests, 5xx responses, response times, and an example target
    (the smallest in byte order, so the example does not depend on how the input was cut)."""

    requests: int = 0
    errors: int = 0
    example: bytes = b""
    rt_count: int = 0
    rt_low: int = 0
    rt_high: int = 0
    sketch: Sketch = msgspec.field(default_factory=Sketch)

    def add_time(self, rt: int, as_float: float) -> None:
        if self.rt_count == 0 or rt < self.rt_low:
            self.rt_low = rt
        if self.rt_count == 0 or rt > self.rt_high:
            self.rt_high = rt
        self.rt_count += 1
        self.sketch.add(as_float)

    def merge(self, other: PathFigures) -> None:
        if other.requests and (not self.requests or other.example < self.example):
            self.example = other.example
        self.requests += other.requests
        self.errors += other.errors
        if other.rt_count:
            self.rt_low = other.rt_low if not self.rt_count else min(self.rt_low, other.rt_low)
            self.rt_high = other.rt_high if not self.rt_count else max(self.rt_high, other.rt_high)
            self.rt_count += other.rt_count
            self.sketch.merge(other.sketch)

    def percentiles(self) -> list[float | None]:
        if not self.rt_count:
            return [None] * len(PATH_PERCENTILES)
        return self.sketch.quantiles(list(PATH_PERCENTILES), fixed_to_float(self.rt_low), fixed_to_float(self.rt_high))

    def to_wire(self) -> list:
        return [self.requests, self.errors, self.example, self.rt_count, self.rt_low, self.rt_high,
                self.sketch.to_wire()]

    @classmethod
    def from_wire(cls, data: list) -> PathFigures:
        requests, errors, example, rt_count, rt_low, rt_high, sketch = data
        if not isinstance(example, bytes):
            raise ValueError("path example is not bytes")
        return cls(_count(requests), _count(errors), example, _count(rt_count), _int(rt_low), _int(rt_high),
                   Sketch.from_wire(sketch))


class AccessCounts(msgspec.Struct):
    """The access-log answers of some lines (entries inside the window only)."""

    status: dict[int, int] = msgspec.field(default_factory=dict)
    status_minutes: dict[int, list[int]] = msgspec.field(default_factory=dict)  # minute -> a count per class
    bytes_total: int = 0
    methods: dict[bytes, int] = msgspec.field(default_factory=dict)
    paths: dict[bytes, PathFigures] = msgspec.field(default_factory=dict)
    clients: dict[bytes, list[int]] = msgspec.field(default_factory=dict)  # client -> [requests, 4xx, 5xx]
    agents: dict[bytes, int] = msgspec.field(default_factory=dict)
    referrers: dict[bytes, int] = msgspec.field(default_factory=dict)
    undercount: dict[str, int] = msgspec.field(default_factory=dict)
    """Per bounded list (clients, agents, referrers): how much any of its counts may be under
    the true one, once it held more than MAX_KEYS keys (Misra-Gries); absent while exact."""

    def add(self, minute: int, status: int, sent: int, method: bytes, target: bytes | None, client: bytes,
            agent: bytes | None, referrer: bytes | None, rt: int | None, rt_float: float = 0.0) -> None:
        """Count one entry inside the window (``target`` None: an invalid request line;
        ``rt`` in fixed ms and ``rt_float`` as the sketch buckets it)."""
        _add(self.status, status)
        slot = self.status_minutes.get(minute)
        if slot is None:
            slot = self.status_minutes[minute] = [0] * len(STATUS_CLASSES)
        cls = min(max(status // 100, 1), 5) - 1
        slot[cls] += 1
        self.bytes_total += sent
        _add(self.methods, method)
        client_row = self.clients.get(client)
        if client_row is None:
            client_row = self.clients[client] = [0, 0, 0]
        client_row[0] += 1
        if cls == 3:
            client_row[1] += 1
        elif cls == 4:
            client_row[2] += 1
        if agent is not None:
            _add(self.agents, agent)
        if referrer is not None and referrer != b"-":
            _add(self.referrers, referrer)
        if target is not None:
            key = normalised_path(target)
            figures = self.paths.get(key)
            if figures is None:
                figures = self.paths[key] = PathFigures(example=target)
            elif target < figures.example:
                figures.example = target
            figures.requests += 1
            figures.errors += cls == 4
            if rt is not None:
                figures.add_time(rt, rt_float)

    def merge(self, other: AccessCounts) -> None:
        """Add another's counts."""
        for mine, theirs in ((self.status, other.status), (self.methods, other.methods),
                             (self.agents, other.agents), (self.referrers, other.referrers)):
            for key, n in theirs.items():
                _add(mine, key, n)
        for minute, counts in other.status_minutes.items():
            slot = self.status_minutes.setdefault(minute, [0] * len(STATUS_CLASSES))
            for i, n in enumerate(counts):
                slot[i] += n
        clients = self.clients
        for client, (n, four, five) in other.clients.items():
            row = clients.get(client)
            if row is None:
                clients[client] = [n, four, five]
            else:
                row[0] += n
                row[1] += four
                row[2] += five
        for key, figures in other.paths.items():
            mine = self.paths.get(key)
            if mine is None:
                self.paths[key] = mine = PathFigures(example=figures.example)
            mine.merge(figures)
        self.bytes_total += other.bytes_total
        for kind, n in other.undercount.items():
            self.undercount[kind] = self.undercount.get(kind, 0) + n
        self.bound()

    @classmethod
    def from_counters(cls, counters) -> AccessCounts:
        """The counts a chunk's :class:`lograd._scanner.AccessCounters` hold (the compiled
        path), bounded as :meth:`bound` says."""
        f = counters.figures()
        done = cls(bytes_total=wide_sum(*f["sent"]))
        done.status = {code: n for code, n in enumerate(f["status"]) if n}
        for minute, *classes in f["classes"]:
            slot = done.status_minutes.get(minute)
            if slot is None:
                done.status_minutes[minute] = classes
            else:  # the minute came back after another one
                done.status_minutes[minute] = [a + b for a, b in zip(slot, classes)]
        for table, mine in ((counters.methods, done.methods), (counters.agents, done.agents),
                            (counters.referrers, done.referrers)):
            for key, (n,) in zip(table.keys(), table.counts()):
                if n and not (table is counters.referrers and key == b"-"):
                    mine[key] = n
        for key, row in zip(counters.clients.keys(), counters.clients.counts()):
            done.clients[key] = row
        buckets: dict[int, dict[int, int]] = {}
        zeros: dict[int, int] = {}
        for path, bucket, n in f["path_buckets"]:
            if bucket < 0:
                zeros[path] = n
            else:
                buckets.setdefault(path, {})[bucket + LOWEST_INDEX] = n
        for i, (key, example, row) in enumerate(zip(counters.paths.keys(), counters.paths.smallest(),
                                                   counters.paths.counts())):
            requests, errors, timed, least, greatest = row
            done.paths[key] = PathFigures(requests, errors, example, timed, least if timed else 0,
                                          greatest if timed else 0, Sketch(buckets.get(i, {}), zeros.get(i, 0)))
        done.bound()
        return done

    def bound(self) -> None:
        """Keep each bounded list to MAX_KEYS keys (see :func:`misra_gries`)."""
        for kind in BOUNDED:
            cut = misra_gries(getattr(self, kind))
            if cut:
                self.undercount[kind] = self.undercount.get(kind, 0) + cut

    def to_wire(self) -> list:
        """Plain lists for msgpack; keyed counts as a list of keys and a list per count (a
        chunk's few thousand clients then cost the coordinator a few list passes, not a
        check per pair)."""
        return [list(self.status.items()), [[m, c] for m, c in self.status_minutes.items()], self.bytes_total,
                _columns(self.methods), [[k, f.to_wire()] for k, f in self.paths.items()],
                [list(self.clients), *(list(column) for column in zip(*self.clients.values()))]
                if self.clients else [[], [], [], []],
                _columns(self.agents), _columns(self.referrers), list(self.undercount.items())]

    @classmethod
    def from_wire(cls, data: list) -> AccessCounts:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        status, minutes, sent, methods, paths, clients, agents, referrers, undercount = data
        out = cls(bytes_total=_count(sent))
        out.status = {_int(code): _count(n) for code, n in status}
        out.status_minutes = {_int(m): [_count(n) for n in _sized(c, len(STATUS_CLASSES))] for m, c in minutes}
        out.methods = _keyed(*methods)
        out.paths = {_bytes(k): PathFigures.from_wire(f) for k, f in paths}
        keys, *columns = _sized(clients, 4)
        _keyed(keys, columns[0])  # distinct bytes keys, and their requests
        if not all(isinstance(c, list) and len(c) == len(keys) and _all_counts(c) for c in columns[1:]):
            raise ValueError("client 4xx or 5xx counts that are not counts")
        out.clients = {k: [n, four, five] for k, n, four, five in zip(keys, *columns)}
        out.agents = _keyed(*agents)
        out.referrers = _keyed(*referrers)
        out.undercount = {kind: _count(n) for kind, n in undercount if kind in BOUNDED}
        return out


def _bytes(value) -> bytes:
    if not isinstance(value, bytes):
        raise ValueError("not bytes")
    return value


def _sized(values, n: int) -> list:
    if not isinstance(values, list) or len(values) != n:
        raise ValueError("a row of the wrong length")
    return values


def _all_counts(values: list) -> bool:
    """Whether every value is a non-negative int (bools are not), checked a column at a time."""
    return set(map(type, values)) <= {int} and (not values or min(values) >= 0)


def _columns(counts: dict[bytes, int]) -> list:
    return [list(counts), list(counts.values())]


def _keyed(keys, counts) -> dict[bytes, int]:
    """Counts by key from a key column and a count column: distinct bytes keys, counts that
    are non-negative ints (bools are not); ValueError otherwise."""
    if not isinstance(keys, list) or not isinstance(counts, list) or len(keys) != len(counts):
        raise ValueError("keys and counts differ in length")
    if not set(map(type, keys)) <= {bytes} or not _all_counts(counts):
        raise ValueError("keys that are not bytes or counts that are not non-negative integers")
    out = dict(zip(keys, counts))
    if len(out) != len(keys):
        raise ValueError("a key twice")
    return out


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _busiest(counts: dict, n: int = TOP) -> list:
    """The ``n`` busiest keys (ties by key), as (key, count) pairs."""
    return heapq.nsmallest(n, counts.items(), key=lambda kv: (-kv[1], kv[0]))


def access_report(totals: AccessCounts, entries: int) -> dict:
    """The access keys of merged counts (``entries``: the entries inside the window)."""
    client_errors = sum(n for code, n in totals.status.items() if 400 <= code < 500)

    def path_row(key: bytes, f: PathFigures) -> dict:
        p50, p95, p99 = f.percentiles()
        return {"path": _text(key), "example": _text(f.example), "requests": f.requests, "errors": f.errors,
                "error_rate": f.errors / f.requests if f.requests else 0.0, "p50": p50, "p95": p95, "p99": p99}

    busiest = heapq.nsmallest(TOP, totals.paths.items(), key=lambda kv: (-kv[1].requests, kv[0]))
    timed = [(k, f) for k, f in totals.paths.items() if f.rt_count >= SLOW_MIN_REQUESTS]
    slow = [(k, f, f.percentiles()[1]) for k, f in timed]
    slowest = heapq.nsmallest(TOP, slow, key=lambda kfp: (-kfp[2], kfp[0]))
    return {
        "status_codes": {str(code): n for code, n in sorted(totals.status.items())},
        "client_errors": client_errors,
        "client_error_rate": client_errors / entries if entries else 0.0,
        "bytes_sent": {"total": totals.bytes_total, "mean": totals.bytes_total / entries if entries else None},
        "methods": {_text(m): n for m, n in _busiest(totals.methods, len(totals.methods))},
        "top_paths": [path_row(k, f) for k, f in busiest],
        "slowest_paths": [path_row(k, f) for k, f, _ in slowest],
        "top_clients": [{"client": _text(c), "requests": r[0], "4xx": r[1], "5xx": r[2]}
                        for c, r in heapq.nsmallest(TOP, totals.clients.items(), key=lambda kv: (-kv[1][0], kv[0]))],
        "top_user_agents": [{"user_agent": _text(a), "requests": n} for a, n in _busiest(totals.agents)],
        "top_referrers": [{"referrer": _text(r), "requests": n} for r, n in _busiest(totals.referrers)],
        "approximate": {f"top_{'user_agents' if kind == 'agents' else kind}": n
                        for kind, n in sorted(totals.undercount.items())},
        "status_per_minute": [{"minute": format_minute(m), **{f"status_{c}": n for c, n in zip(STATUS_CLASSES, counts)}}
                              for m, counts in sorted(totals.status_minutes.items())],
    }
