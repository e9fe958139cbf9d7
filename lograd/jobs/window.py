"""Sliding windows for follow mode: "the last N seconds ending now", exactly.

Pure: no sockets, no clock. Workers split each chunk's metrics by entry time
into *buckets* of ``bucket_ms`` (:func:`lograd.reader.summarise_chunk_in_buckets`);
a :class:`SlidingWindow` keeps the buckets that a present or future window
can still cover, and a report at time ``now`` merges the buckets of
``[B - N, B)``, where ``B`` is ``now`` rounded down to a whole bucket. The
bucket size divides N and, where it can, the report period, so reports made
on the period's ticks have windows that end exactly at the tick.

Old buckets are dropped as the window moves on, so memory follows the window's
length, not the time the run has lasted. Line counts (lines, entries,
malformed, blank, first and last time) cover everything read.
"""
from __future__ import annotations

from math import gcd

from ..aggregate import Partial
from ..analyzer import Analyzer, build_report

MAX_BUCKETS = 3600
"""Buckets in one window at most: a report merges them all, and each holds a partial."""
_SEARCH = 1_000_000


def bucket_size(window_length_ms: int, every_ms: int) -> int:
    """The bucket length for a window of ``window_length_ms`` reported every ``every_ms``: it
    divides ``window_length_ms`` (windows are whole buckets), divides ``every_ms`` when that
    leaves at most MAX_BUCKETS buckets a window, and is otherwise the smallest
    multiple of gcd(last, every) dividing ``window_length_ms`` that does."""
    base = gcd(window_length_ms, every_ms) or window_length_ms
    count = window_length_ms // base
    if count <= MAX_BUCKETS:
        return base
    for k in range(-(-count // MAX_BUCKETS), min(count, _SEARCH) + 1):
        if count % k == 0:
            return base * k
    return window_length_ms


class SlidingWindow(Analyzer):
    """An :class:`Analyzer` whose metrics cover the last ``window_length_ms`` up to a given time."""

    def __init__(self, files: list[str], window_length_ms: int, bucket_ms: int, fmt: str = "app",
                 hosts: tuple[bytes, ...] = ()) -> None:
        super().__init__(files, None, fmt, None, hosts)
        self.window_length_ms = window_length_ms
        self.bucket_ms = bucket_ms
        self.buckets: dict[int, Partial] = {}

    def bounds(self, now_ms: int) -> tuple[int, int]:
        """The window reported at ``now_ms``: inclusive (first, last) millisecond."""
        end = now_ms - now_ms % self.bucket_ms
        return end - self.window_length_ms, end - 1

    def horizon(self, now_ms: int) -> int:
        """The earliest time a window at ``now_ms`` or later can hold."""
        return self.bounds(now_ms)[0]

    def _merge_bucket(self, bucket: int, metrics: Partial) -> None:
        mine = self.buckets.get(bucket)
        if mine is None:
            self.buckets[bucket] = metrics
        else:
            mine.merge(metrics)

    def advance(self, now_ms: int) -> None:
        """Forget the buckets no window at ``now_ms`` or later can hold."""
        first = self.horizon(now_ms) // self.bucket_ms
        for bucket in [b for b in self.buckets if b < first]:
            del self.buckets[bucket]

    def window_partial(self, now_ms: int) -> Partial:
        """Line counts of everything read, metrics of the window at ``now_ms``."""
        first, last = self.bounds(now_ms)
        merged = Partial()
        merged.merge(self.total)
        for bucket in range(first // self.bucket_ms, (last + 1) // self.bucket_ms):
            metrics = self.buckets.get(bucket)
            if metrics is not None:
                merged.merge(metrics)
        return merged

    def report_at(self, now_ms: int) -> dict:
        """The SPEC §3 report (without ``job``) of the window at ``now_ms``."""
        self.advance(now_ms)
        return build_report(self.window_partial(now_ms), self.files, self.format,
                            self.bounds(now_ms), None, self.hosts, self.file_formats, new_known=False)

    def get_current_metrics(self) -> dict:
        """The report of the window that ends with the newest bucket holding entries."""
        newest = max(self.buckets, default=0) + 1
        return self.report_at(newest * self.bucket_ms)

    # -- state (``--state``) ---------------------------------------------------------

    def to_state(self) -> dict:
        """The figures as plain data."""
        state = super().to_state()
        state["buckets"] = [[b, p.to_wire()] for b, p in sorted(self.buckets.items())]
        return state

    def load_state(self, state: dict) -> None:
        """Take the figures saved by :meth:`to_state` (ValueError when malformed)."""
        try:
            buckets = {int(b): Partial.from_wire(p) for b, p in state["buckets"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed saved figures: {exc}") from None
        super().load_state(state)
        self.buckets = buckets
