"""A mergeable quantile sketch with bounded relative error (the DDSketch idea).

A positive value x falls in bucket i when ``gamma**(i-1) < x <= gamma**i``; the
bucket stands for ``2 * gamma**i / (gamma + 1)``, within ``ACCURACY`` of every
value in it. Bucket counts are integers, so merging is exact and order-free.

Buckets are decided by comparisons with one table of boundaries (``BOUNDS``),
never by ``log()`` alone: the per-line path (bisect) and the compiled scanner
(a binary search over the same table) then agree to the last bit.
"""
from __future__ import annotations

import bisect
import sys
from array import array
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


ACCURACY = 0.005
"""Relative error of every quantile (0.5%, inside SPEC §3's 1%)."""
_GAMMA = (1 + ACCURACY) / (1 - ACCURACY)
MIN_POSITIVE = 1e-9
"""Values below this (in the sketch's unit) share the zero bucket."""
LOWEST_INDEX = -2100  # gamma**-2100 < 1e-9
BOUNDS = [_GAMMA ** i for i in range(LOWEST_INDEX, 8000)]  # gamma**8000 > 1e34, past any value
"""Upper boundary of each bucket, from index LOWEST_INDEX up."""


def bucket_of(value: float) -> int | None:
    """The bucket index of a value; None for the zero bucket."""
    if value < MIN_POSITIVE:
        return None
    return min(bisect.bisect_left(BOUNDS, value), len(BOUNDS) - 1) + LOWEST_INDEX


def bucket_value(index: int) -> float:
    """The value a bucket stands for."""
    return 2 * _GAMMA ** index / (_GAMMA + 1)


class Sketch:
    """Counts per bucket; ``quantile`` answers nearest-rank queries within ACCURACY."""

    __slots__ = ("buckets", "zeros")

    def __init__(self, buckets: dict[int, int] | None = None, zeros: int = 0) -> None:
        self.buckets: dict[int, int] = buckets or {}
        self.zeros = zeros

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sketch):
            return NotImplemented
        return self.zeros == other.zeros and self.buckets == other.buckets

    @property
    def count(self) -> int:
        """How many values were added."""
        return self.zeros + sum(self.buckets.values())

    def add(self, value: float, count: int = 1) -> None:
        """Add a value (count times)."""
        index = bucket_of(value)
        if index is None:
            self.zeros += count
        else:
            self.buckets[index] = self.buckets.get(index, 0) + count

    def merge(self, other: Sketch) -> None:
        """Add every value of another sketch."""
        self.zeros += other.zeros
        buckets = self.buckets
        for index, n in other.buckets.items():
            buckets[index] = buckets.get(index, 0) + n

    def quantiles(self, percents: list[int], low: float, high: float) -> list[float]:
        """Nearest-rank values ``sorted[ceil(p/100*n)-1]`` for each p, clamped to [low, high]."""
        n = self.count
        ranks = [max(1, -(-p * n // 100)) for p in percents]
        answers: dict[int, float] = {}
        seen = self.zeros
        pending = sorted(set(ranks))
        while pending and pending[0] <= seen:
            answers[pending.pop(0)] = 0.0
        for index in sorted(self.buckets):
            if not pending:
                break
            seen += self.buckets[index]
            while pending and pending[0] <= seen:
                answers[pending.pop(0)] = bucket_value(index)
        return [min(max(answers.get(r, high), low), high) for r in ranks]

    def to_wire(self) -> list:
        """Plain lists for msgpack: [zeros, indexes, counts]."""
        indexes = sorted(self.buckets)
        return [self.zeros, indexes, [self.buckets[i] for i in indexes]]

    @classmethod
    def from_wire(cls, data: list) -> Sketch:
        """Inverse of :meth:`to_wire`; raises ValueError on a malformed value."""
        zeros, indexes, counts = data
        if len(indexes) != len(counts):
            raise ValueError("sketch: index and count lists differ in length")
        values = [zeros, *indexes, *counts]
        if not all(type(v) is int for v in values) or zeros < 0 or any(c < 0 for c in counts):
            raise ValueError("sketch: not whole numbers, or negative counts")
        if any(not LOWEST_INDEX <= i < LOWEST_INDEX + len(BOUNDS) for i in indexes):
            raise ValueError("sketch: a bucket no value falls in")
        return cls(dict(zip(indexes, counts)), zeros)


# -- per minute ---------------------------------------------------------------------------

COARSE = 4
"""Sketch buckets per per-minute bucket: a minute's percentiles need less precision than the
whole report's, and a report may list tens of thousands of minutes."""
_GAMMA_COARSE = _GAMMA ** COARSE
MINUTE_ACCURACY = (_GAMMA_COARSE - 1) / (_GAMMA_COARSE + 1)
"""Relative error of a minute's percentiles (2%)."""
COARSE_ZERO = LOWEST_INDEX // COARSE - 1
"""The per-minute bucket of values below MIN_POSITIVE (it stands for 0)."""
COARSE_SPAN = 4096
"""More than the per-minute buckets there are: (8000 - LOWEST_INDEX) // COARSE + 2."""


def coarse_of(value: float) -> int:
    """The per-minute bucket of a value: COARSE sketch buckets (values of the same
    bucket in both paths, since both find the sketch bucket against one table)."""
    index = bucket_of(value)
    return COARSE_ZERO if index is None else index // COARSE


def coarse_value(index: int) -> float:
    """The value a per-minute bucket stands for (its sketch buckets cover
    ``(gamma**(4i-1), gamma**(4i+3)]``), within MINUTE_ACCURACY of all of them."""
    if index == COARSE_ZERO:
        return 0.0
    return 2 * _GAMMA ** (COARSE * index + COARSE - 1) / (_GAMMA_COARSE + 1)


class MinuteSketches:
    """Response-time buckets per minute, for each minute's percentiles: mergeable (counts),
    compact (each minute one array over the buckets it uses)."""

    __slots__ = ("minutes", "_pending", "_wire")

    def __init__(self) -> None:
        self.minutes: dict[int, tuple[int, np.ndarray]] = {}  # minute -> (first bucket, counts)
        self._pending: list[tuple[int, int]] = []
        self._wire: list[list] = []  # runs in wire form (add_wire), laid out when read

    def add_wire(self, runs: list[list]) -> None:
        """Add runs in :meth:`to_wire`'s form (a minute may come more than once). Kept as they
        are until a minute is read: a worker sends a chunk's without numpy."""
        self._wire.extend(runs)

    def add(self, minute: int, bucket: int) -> None:
        """One value (its per-minute bucket) in a minute."""
        self._pending.append((minute, bucket))

    def add_many(self, minutes: np.ndarray, buckets: np.ndarray) -> None:
        """Many values: ``buckets[i]`` in ``minutes[i]`` (int64 arrays)."""
        import numpy as np
        if len(minutes):
            keys = minutes * COARSE_SPAN + (buckets - COARSE_ZERO)
            self._add_keyed(*np.unique(keys, return_counts=True))

    def add_counts(self, minutes: np.ndarray, buckets: np.ndarray, counts: np.ndarray) -> None:
        """``counts[i]`` values of bucket ``buckets[i]`` in ``minutes[i]`` (int64 arrays; a
        (minute, bucket) may come more than once)."""
        import numpy as np
        if len(minutes):
            keys = minutes * COARSE_SPAN + (buckets - COARSE_ZERO)
            distinct, index = np.unique(keys, return_inverse=True)
            self._add_keyed(distinct, np.bincount(index.reshape(-1), weights=counts).astype(np.int64))

    def _add_keyed(self, distinct: np.ndarray, counts: np.ndarray) -> None:
        """Add ``counts`` at sorted distinct keys minute * COARSE_SPAN + bucket offset: every
        minute's run laid out in one array at once (a chunk's partial spans hundreds of
        minutes), each minute then a view of it, added to what the minute held."""
        import numpy as np
        minute_of, bucket_of_ = np.divmod(distinct, COARSE_SPAN)
        starts = np.flatnonzero(np.diff(minute_of, prepend=minute_of[0] - 1))
        ends = np.append(starts[1:], len(distinct))
        lows = bucket_of_[starts]
        lengths = bucket_of_[ends - 1] - lows + 1
        offsets = np.cumsum(lengths) - lengths
        runs = np.zeros(int(lengths.sum()), dtype=np.int64)
        which = np.repeat(np.arange(len(starts)), ends - starts)
        runs[offsets[which] + bucket_of_ - lows[which]] = counts
        held = self.minutes
        for minute, low, at, length in zip(minute_of[starts].tolist(), (lows + COARSE_ZERO).tolist(),
                                           offsets.tolist(), lengths.tolist()):
            run = runs[at:at + length]
            if minute in held:
                self._add_run(minute, low, run)
            else:
                held[minute] = (low, run)

    def _add_run(self, minute: int, low: int, counts: np.ndarray) -> None:
        import numpy as np
        mine = self.minutes.get(minute)
        if mine is None:
            self.minutes[minute] = (low, counts.copy())
            return
        first = min(low, mine[0])
        last = max(low + len(counts), mine[0] + len(mine[1]))
        total = np.zeros(last - first, dtype=np.int64)
        total[mine[0] - first:mine[0] - first + len(mine[1])] += mine[1]
        total[low - first:low - first + len(counts)] += counts
        self.minutes[minute] = (first, total)

    def _flush(self) -> None:
        """Lay out the values and runs kept by :meth:`add` and :meth:`add_wire`."""
        import numpy as np
        if self._pending:
            pairs = np.array(self._pending, dtype=np.int64)
            self._pending = []
            self.add_many(pairs[:, 0], pairs[:, 1])
        if self._wire:
            runs, self._wire = self._wire, []
            self._lay(runs)

    def merge(self, other: MinuteSketches) -> None:
        """Add another's values."""
        self._flush()
        other._flush()
        for minute, (low, counts) in other.minutes.items():
            self._add_run(minute, low, counts)

    def quantiles(self, minute: int, percents: list[int]) -> list[float] | None:
        """Nearest-rank values of a minute within MINUTE_ACCURACY; None when it has none."""
        import numpy as np
        self._flush()
        entry = self.minutes.get(minute)
        if entry is None:
            return None
        low, counts = entry
        cumulative = np.cumsum(counts)
        n = int(cumulative[-1])
        ranks = [max(1, -(-p * n // 100)) for p in percents]
        return [coarse_value(low + int(np.searchsorted(cumulative, r))) for r in ranks]

    def quantiles_of(self, minutes: list[int], percents: list[int]) -> list[list[float] | None]:
        """:meth:`quantiles` of many minutes at once: every minute's counts laid end to end,
        one running sum and one search for all their ranks (a report lists thousands)."""
        import numpy as np
        self._flush()
        held = [self.minutes.get(m) for m in minutes]
        present = [i for i, h in enumerate(held) if h is not None]
        out: list[list[float] | None] = [None] * len(minutes)
        if not present:
            return out
        lows = np.array([held[i][0] for i in present], dtype=np.int64)
        lengths = np.array([len(held[i][1]) for i in present], dtype=np.int64)
        starts = np.cumsum(lengths) - lengths
        cumulative = np.cumsum(np.concatenate([held[i][1] for i in present]))
        before = np.concatenate([[0], cumulative])[starts]  # the values of the minutes before
        totals = cumulative[starts + lengths - 1] - before
        ranks = np.maximum(1, -(-np.outer(totals, np.array(percents, dtype=np.int64)) // 100))
        buckets = lows[:, None] + np.searchsorted(cumulative, before[:, None] + ranks) - starts[:, None]
        # each distinct bucket's value made once (the same float as one by one), the rows
        # then read out of an array of them
        distinct, where = np.unique(buckets, return_inverse=True)
        values = np.array([coarse_value(b) for b in distinct.tolist()], dtype=np.float64)
        rows = values[where.reshape(buckets.shape)].tolist()
        if len(present) == len(minutes):
            return rows
        for i, row in zip(present, rows):
            out[i] = row
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MinuteSketches):
            return NotImplemented
        self._flush()
        other._flush()
        return self.to_wire() == other.to_wire()

    def to_wire(self) -> list:
        """[[minute, first bucket, int64 little-endian counts], ...], trimmed of empty buckets
        (runs kept by :meth:`add_wire` go as they came; with no minute laid out yet, the
        values kept by :meth:`add` are counted here without numpy: a worker's chunk)."""
        if not self.minutes:
            return self._wire + _pending_runs(self._pending)
        import numpy as np
        self._flush()
        out = []
        for minute, (low, counts) in sorted(self.minutes.items()):
            if len(counts) and counts[0] and counts[-1]:  # trimmed already (most runs are)
                out.append([minute, low, counts.astype("<i8", copy=False).tobytes()])
                continue
            used = np.flatnonzero(counts)
            if len(used):
                out.append([minute, low + int(used[0]), counts[used[0]:used[-1] + 1].astype("<i8").tobytes()])
        return out

    @classmethod
    def from_wire(cls, data: list) -> MinuteSketches:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        for minute, low, raw in data:
            if (not isinstance(minute, int) or not isinstance(low, int) or not isinstance(raw, bytes)
                    or len(raw) % 8 or not COARSE_ZERO <= low or low + len(raw) // 8 > COARSE_ZERO + COARSE_SPAN):
                raise ValueError("malformed per-minute response times")
        sketches = cls()
        sketches._lay(data)
        return sketches

    def _lay(self, data: list) -> None:
        """Add well-formed runs in wire form to the minutes: every minute's counts read at once
        (a chunk spans hundreds of minutes), each minute then a view of them."""
        import numpy as np
        counts = np.frombuffer(b"".join(raw for _, _, raw in data), dtype="<i8").astype(np.int64)
        if len(counts) and counts.min() < 0:
            raise ValueError("negative per-minute count")
        at = 0
        for minute, low, raw in data:
            run = counts[at:at + len(raw) // 8]
            at += len(run)
            if minute in self.minutes:
                self._add_run(minute, low, run)
            else:
                self.minutes[minute] = (low, run)


def _pending_runs(pending: list[tuple[int, int]]) -> list[list]:
    """(minute, bucket) values as :meth:`MinuteSketches.to_wire`'s runs, in plain Python."""
    by_minute: dict[int, dict[int, int]] = {}
    for minute, bucket in pending:
        counts = by_minute.get(minute)
        if counts is None:
            counts = by_minute[minute] = {}
        counts[bucket] = counts.get(bucket, 0) + 1
    runs = []
    for minute, counts in sorted(by_minute.items()):
        low = min(counts)
        laid = [0] * (max(counts) - low + 1)
        for bucket, n in counts.items():
            laid[bucket - low] = n
        runs.append([minute, low, little_endian_int64s(laid)])
    return runs


def little_endian_int64s(values: list[int]) -> bytes:
    """Counts as the wire's little-endian int64s."""
    laid = array("q", values)
    if sys.byteorder != "little":
        laid.byteswap()
    return laid.tobytes()
