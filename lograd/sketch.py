"""A mergeable quantile sketch with bounded relative error (the DDSketch idea).

A positive value x falls in bucket i when ``gamma**(i-1) < x <= gamma**i``; the
bucket stands for ``2 * gamma**i / (gamma + 1)``, within ``ACCURACY`` of every
value in it. Bucket counts are integers, so merging is exact and order-free.

Buckets are decided by comparisons with one table of boundaries (``BOUNDS``),
never by ``log()`` alone: the per-line path (bisect) and the compiled path's
numpy aggregation (a logarithm's guess settled against the table) then agree
to the last bit.
"""
from __future__ import annotations

import bisect

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
        return cls({int(i): int(c) for i, c in zip(indexes, counts)}, int(zeros))
