"""The streaming Analyzer: merges partials as they arrive, answers SPEC §3 at any time.

Pure: no sockets, no files. A chunk id seen before is dropped, so a retried
chunk that finishes twice is counted once.
"""
from __future__ import annotations

from typing import Hashable

from .aggregate import Partial, TimeBounds
from .formats import get
from .parsing import FIXED_ONE, LEVEL_ORDER, fixed_to_float
from .templates import template_report
from .timestamps import format_minute, format_ms

PERCENTILES = (50, 90, 95, 99)
MINUTE_PERCENTILES = [50, 95, 99]
"""Each minute's response-time percentiles (within sketch.MINUTE_ACCURACY)."""
MINUTE_KEYS = ("p50", "p95", "p99")


class Analyzer:
    """Merge partial aggregates; ``get_current_metrics()`` is the report so far."""

    def __init__(self, files: list[str] | None = None, window: TimeBounds | None = None,
                 fmt: str = "app", window_length_ms: int | None = None, hosts: tuple[bytes, ...] = ()) -> None:
        self.files = list(files or [])
        self.hosts = hosts
        self.window = window
        self.format = fmt
        self.file_formats: list[str] | None = None  # each file's format, when known
        self.window_length_ms = window_length_ms
        self.total = Partial()
        self.chunks_merged = 0
        self.duplicates_dropped = 0
        self._seen: set[Hashable] = set()

    def update_metrics(self, partial: Partial | dict, chunk_id: Hashable | None = None,
                       buckets: dict[int, Partial] | None = None) -> bool:
        """Merge one partial (a :class:`Partial` or its wire dict), and the time
        buckets of its metrics when the chunk was split by entry time.

        Returns False, merging nothing, when ``chunk_id`` was merged before.
        """
        if chunk_id is not None:
            if chunk_id in self._seen:
                self.duplicates_dropped += 1
                return False
            self._seen.add(chunk_id)
        if isinstance(partial, dict):
            partial = Partial.from_wire(partial)
        self.total.merge(partial)
        for bucket, metrics in (buckets or {}).items():
            self._merge_bucket(bucket, metrics)
        self.chunks_merged += 1
        return True

    def forget_chunks(self, chunk_ids) -> None:
        """Stop remembering these merged chunk ids (the dispatcher settles them for good)."""
        self._seen.difference_update(chunk_ids)

    def _merge_bucket(self, bucket: int, metrics: Partial) -> None:
        self.total.merge(metrics)

    def get_current_metrics(self) -> dict:
        """The SPEC §3 report (without ``job``) of everything merged so far."""
        return build_report(self.total, self.files, self.format, self.window, self.window_length_ms, self.hosts,
                            self.file_formats)

    def to_state(self) -> dict:
        """The figures merged so far as plain data (``--state``)."""
        return {"total": self.total.to_wire()}

    def load_state(self, state: dict) -> None:
        """Take the figures saved by :meth:`to_state` (ValueError when malformed)."""
        try:
            self.total = Partial.from_wire(state["total"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed saved figures: {exc!r}") from None


def build_report(p: Partial, files: list[str], fmt: str = "app",
                 window: TimeBounds | None = None, window_length_ms: int | None = None,
                 hosts: tuple[bytes, ...] = (), file_formats: list[str] | None = None,
                 new_known: bool = True) -> dict:
    """SPEC §3 keys from a merged partial; floats come from exact integers, once.

    ``fmt`` is a format's name or mixed; ``file_formats`` (each file's format, when
    known) decide which formats' keys the report holds and give ``files_formats``; with ``window_length_ms`` (``--last``) the window is
    the last N ms up to the newest entry. Without ``new_known`` (follow's sliding window, whose
    buckets hold no entry before the window) ``new_templates`` is None.
    """
    malformed, samples = p.settled()
    report = {
        "format": shown_format(fmt),
        "files": list(files),
        "lines": p.lines,
        "entries": p.entries,
        "malformed_lines": malformed,
        "blank_lines": p.blank,
        "continuation_lines": p.continuation,
        "malformed_samples": [
            {"file": files[f] if 0 <= f < len(files) else str(f), "offset": o, "text": t}
            for f, o, t in samples],
        "first_timestamp": None if p.first_ms is None else format_ms(p.first_ms),
        "last_timestamp": None if p.last_ms is None else format_ms(p.last_ms),
    }
    n = p.in_window
    if window_length_ms is not None:  # the last N ms up to the newest entry
        report["window"] = None if p.last_ms is None else {
            "start": format_ms(p.last_ms - window_length_ms), "end": format_ms(p.last_ms)}
    else:
        report["window"] = None if window is None else {
            "start": None if window[0] is None else format_ms(window[0]),
            "end": None if window[1] is None else format_ms(window[1])}
    keys: dict = {}
    if file_formats is None and fmt != "mixed":
        file_formats = [fmt] * len(files)
    kinds = dict.fromkeys(file_formats) if file_formats else _kinds(fmt)
    report["files_formats"] = dict(zip(files, map(shown_format, file_formats or [])))
    for name in kinds:
        keys.update(get(name).report_keys(p, hosts))
    conn_in_window = keys.pop("in_window", 0)  # conn's own count of the entries inside the window
    report["in_window"] = n + conn_in_window
    report.update(keys)
    if any(get(name).has_messages for name in kinds):
        start = window[0] if window_length_ms is None and window is not None else (
            None if window_length_ms is None or p.last_ms is None else p.last_ms - window_length_ms)
        report.update(template_report(p.templates, files, new_known and start is not None))
    return report


def _kinds(fmt: str) -> tuple[str, ...]:
    """The formats a report of format ``fmt`` holds keys of (``mixed``: app and conn)."""
    return ("app", "conn") if fmt == "mixed" else (fmt,)


def shown_format(name: str) -> str:
    """A format's name as the report shows it: ``access`` for ``access=LAYOUT`` (--log-format)."""
    return name.partition("=")[0]


def entry_report(p: Partial) -> dict:
    """The SPEC §3 keys of formats whose entries have levels and response times."""
    n = p.in_window
    report: dict = {"total_requests": n}
    report["levels"] = {lvl: p.levels[lvl] for lvl in LEVEL_ORDER if lvl in p.levels}
    report["errors"] = p.errors
    report["error_rate"] = p.errors / n if n else 0.0
    report["avg_response_time"] = fixed_to_float(p.rt_total, p.rt_count) if p.rt_count else None
    report["response_time"] = _response_time(p)
    span = p.per_second.span()
    if span is not None:
        report["requests_per_second"] = n / (span[1] - span[0] + 1)
        report["peak_requests_per_second"] = p.per_second.peak()
    else:
        report["requests_per_second"] = None
        report["peak_requests_per_second"] = 0
    minutes = sorted(p.per_minute.items())
    percentiles = p.rt_minutes.quantiles_of([m for m, _ in minutes], MINUTE_PERCENTILES)
    # a report lists every minute once here and once per resource (a 1 GiB log: 6,000 minutes):
    # the rows are made with the arithmetic of fixed_to_float written out, not called
    k50, k95, k99 = MINUTE_KEYS
    none = (None,) * len(MINUTE_KEYS)
    report["per_minute"] = [
        {"minute": format_minute(m), "requests": req, "errors": err,
         "error_rate": err / req if req else 0.0,
         "avg_response_time": rt_sum / (rt_n * FIXED_ONE) if rt_n else None,
         k50: v[0], k95: v[1], k99: v[2]}
        for (m, (req, err, rt_n, rt_sum)), v in zip(minutes, (values or none for values in percentiles))]
    report["resources"] = {
        key: {"count": r.count, "mean": fixed_to_float(r.total, r.count),
              "min": fixed_to_float(r.low), "max": fixed_to_float(r.high),
              "per_minute": [{"minute": format_minute(m), "mean": t / (c * FIXED_ONE), "max": h / FIXED_ONE}
                             for m, (c, t, h) in sorted(r.per_minute.items())]}
        for key, r in sorted(p.resources.items())}
    return report


def _response_time(p: Partial) -> dict | None:
    if not p.rt_count:
        return None
    low, high = p.rt_low / FIXED_ONE, p.rt_high / FIXED_ONE
    values = p.rt_sketch.quantiles(list(PERCENTILES), low, high)
    summary = {"count": p.rt_count, "min": fixed_to_float(p.rt_low), "max": fixed_to_float(p.rt_high),
               "mean": fixed_to_float(p.rt_total, p.rt_count)}
    summary.update({f"p{pct}": v for pct, v in zip(PERCENTILES, values)})
    return summary

