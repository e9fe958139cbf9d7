"""Entries per whole second: mergeable, and sized by the time covered, not by the lines.

The report needs every second's count only for its peak, but a second's
entries may be spread over many chunks (logs are out of order), so the counts
themselves must merge. Busy hours are kept as arrays of 3600 counts (28 KiB an
hour: a week of logs is under 5 MB, whatever the number of lines); seconds of
sparse data stay in a dict, so scattered timestamps cost no more than one dict
entry each.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

HOUR = 3600
_DENSE = 8
"""A run of seconds is kept as arrays when at least one second in this many has entries."""


class SecondCounts:
    """How many entries fell in each whole second (epoch seconds)."""

    __slots__ = ("hours", "loose", "runs")

    def __init__(self) -> None:
        self.hours: dict[int, np.ndarray] = {}
        self.loose: dict[int, int] = {}
        self.runs: list[list] = []
        """Runs in wire form not laid into ``hours`` yet: a worker sends a chunk's as its
        tally made them, without numpy (:meth:`add_wire`)."""

    # -- adding --------------------------------------------------------------------

    def add(self, second: int, count: int = 1) -> None:
        """Count entries in one second."""
        page = self.hours.get(second // HOUR)
        if page is None:
            self.loose[second] = self.loose.get(second, 0) + count
        else:
            page[second % HOUR] += count

    def add_run(self, first: int, counts: np.ndarray) -> None:
        """Add ``counts[i]`` entries to second ``first + i`` for every i (an int64 array)."""
        import numpy as np
        busy = np.flatnonzero(counts)
        if len(busy) * _DENSE < len(counts):
            for second, n in zip((busy + first).tolist(), counts[busy].tolist()):
                self.add(second, n)
            return
        at = 0
        while at < len(counts):
            hour, offset = divmod(first + at, HOUR)
            n = min(HOUR - offset, len(counts) - at)
            self._page(hour)[offset:offset + n] += counts[at:at + n]
            at += n

    def add_wire(self, runs: list[list], loose: list[list[int]]) -> None:
        """Add counts in :meth:`to_wire`'s form (hour runs, (second, count) pairs). The runs
        are kept as they are until a count is read (no numpy until then)."""
        self.runs.extend(runs)
        for second, n in loose:
            self.add(second, n)

    def _lay_runs(self) -> None:
        """Add the runs kept by :meth:`add_wire` into their hours."""
        import numpy as np
        for hour, offset, raw in self.runs:
            self._page(hour)[offset:offset + len(raw) // 8] += np.frombuffer(raw, dtype="<i8")
        self.runs = []

    def merge(self, other: SecondCounts) -> None:
        """Add another's counts."""
        self.runs.extend(other.runs)
        for hour, page in other.hours.items():
            self._page(hour)[:] += page
        for second, n in other.loose.items():
            self.add(second, n)

    def _page(self, hour: int) -> np.ndarray:
        import numpy as np
        page = self.hours.get(hour)
        if page is None:
            page = self.hours[hour] = np.zeros(HOUR, dtype=np.int64)
        return page

    def _settle(self) -> None:
        """Move loose seconds into their hour's array where there is one."""
        if not self.hours or not self.loose:
            return
        for second in [s for s in self.loose if s // HOUR in self.hours]:
            self.hours[second // HOUR][second % HOUR] += self.loose.pop(second)

    # -- answers ---------------------------------------------------------------------

    def __bool__(self) -> bool:
        return bool(self.hours) or bool(self.loose) or bool(self.runs)

    def span(self) -> tuple[int, int] | None:
        """(first, last) second with entries, or None."""
        import numpy as np
        self._lay_runs()
        ends = list(self.loose)
        for hour, page in self.hours.items():
            busy = np.flatnonzero(page)
            if len(busy):
                ends += [hour * HOUR + int(busy[0]), hour * HOUR + int(busy[-1])]
        return (min(ends), max(ends)) if ends else None

    def peak(self) -> int:
        """The most entries in any one second (0 when empty)."""
        self._lay_runs()
        self._settle()
        highs = [int(page.max()) for page in self.hours.values()]
        return max(highs + list(self.loose.values()), default=0)

    def as_dict(self) -> dict[int, int]:
        """Every second with entries and its count."""
        import numpy as np
        self._lay_runs()
        counts = dict(self.loose)
        for hour, page in self.hours.items():
            busy = np.flatnonzero(page)
            for second, n in zip((busy + hour * HOUR).tolist(), page[busy].tolist()):
                counts[second] = counts.get(second, 0) + n
        return counts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SecondCounts):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"SecondCounts({len(self.hours)} hours, {len(self.loose)} loose seconds)"

    # -- wire form --------------------------------------------------------------------

    def to_wire(self) -> list:
        """[[hour, first offset, int64 little-endian counts], ...], [[second, count], ...]
        (an hour more than once when runs kept by :meth:`add_wire` go as they came)."""
        self._settle()
        runs = []
        if self.hours:
            import numpy as np
            for hour, page in sorted(self.hours.items()):
                busy = np.flatnonzero(page)
                if len(busy):
                    lo, hi = int(busy[0]), int(busy[-1]) + 1
                    runs.append([hour, lo, page[lo:hi].astype("<i8").tobytes()])
        return [runs + self.runs, [[s, n] for s, n in sorted(self.loose.items())]]

    @classmethod
    def from_wire(cls, data: list) -> SecondCounts:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        import numpy as np
        runs, loose = data
        counts = cls()
        for hour, offset, raw in runs:
            if (not isinstance(hour, int) or not isinstance(offset, int) or not isinstance(raw, bytes)
                    or not 0 <= offset < HOUR or len(raw) % 8 or offset + len(raw) // 8 > HOUR):
                raise ValueError("malformed run of second counts")
            run = np.frombuffer(raw, dtype="<i8").astype(np.int64)
            if len(run) and run.min() < 0:
                raise ValueError("negative second count")
            counts._page(hour)[offset:offset + len(run)] += run
        for second, n in loose:
            if not isinstance(second, int) or not isinstance(n, int) or n < 0:
                raise ValueError("malformed second count")
            counts.add(second, n)
        return counts
