"""Where follow-mode reports go: NDJSON, a live terminal view, plain text, Prometheus.

:func:`report_sink` picks by the output: ``--json`` gives one JSON object per
line; a terminal gets a view that updates in place (rich) and the final
report as text; anything else (a file, a pipe) gets each report as text.
``--metrics-port`` also serves the newest report's figures in Prometheus's
text format.
"""
from __future__ import annotations

import contextlib
import sys
import threading
from typing import Callable, Iterator, TextIO

from .report import human, sparkline, to_json

HISTORY_MINUTES = 30
"""Minutes of requests and errors the live view charts."""


@contextlib.contextmanager
def report_sink(stream: TextIO, as_json: bool, metrics_port: int | None = None,
                bind: str = "127.0.0.1", on_closed: Callable[[], None] = lambda: None,
                html_path: str | None = None) -> Iterator[Callable[[dict], None]]:
    """A function taking each follow-mode report, for the life of the ``with``.

    When the reader of ``stream`` goes away (``| head -3``), ``on_closed()`` is
    called once and later reports go only to the exporter and the HTML page
    (``html_path``, rewritten atomically at each report).
    """
    exporter = Exporter(metrics_port, bind) if metrics_port is not None else None
    view = LiveView(stream) if not as_json and stream.isatty() else None
    closed = False
    page = _Page(html_path) if html_path is not None else None
    previous: dict | None = None  # the last text report's figures, to tell "no new lines"
    try:
        def emit(report: dict) -> None:
            nonlocal closed
            if exporter is not None:
                exporter.update(report)
            if html_path is not None:
                page.write(report)
            if closed:
                return
            try:
                write(report)
            except BrokenPipeError:
                closed = True
                on_closed()

        def write(report: dict) -> None:
            if as_json:
                stream.write(to_json(report) + "\n")
            elif view is not None:
                if report["follow"]["final"]:
                    view.close()
                    stream.write(human(report))
                else:
                    view.update(report)
            else:
                nonlocal previous
                follow, figures = report["follow"], figures_of(report)
                head = f"--- report {follow['report']} at {follow['time']}"
                if figures == previous and not follow["final"]:
                    stream.write(f"{head}: no new lines\n")
                else:
                    stream.write(f"{head}{' (final)' if follow['final'] else ''}\n{human(report)}\n")
                previous = figures
            stream.flush()
        yield emit
    finally:
        if view is not None:
            view.close()
        if exporter is not None:
            exporter.close()


def figures_of(report: dict) -> dict:
    """What a follow report says of the logs: all but when it was made (``follow``, the
    window's bounds) and how (``job``)."""
    return {k: v for k, v in report.items() if k not in ("follow", "job", "window")}


class _Page:
    """The follow run's HTML page; a failed write is said once, and the run goes on."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.failed = False

    def write(self, report: dict) -> None:
        from .html import write_html
        try:
            write_html(self.path, report)
            self.failed = False
        except OSError as exc:
            if not self.failed:
                sys.stderr.write(f"lograd-coordinator: cannot write {self.path}: {exc.strerror}\n")
            self.failed = True


# -- the live terminal view ----------------------------------------------------------------


class MinuteHistory:
    """Requests and errors per minute across reports (a report's window may hold only one or two)."""

    def __init__(self, keep: int = HISTORY_MINUTES) -> None:
        self.keep = keep
        self.minutes: dict[str, tuple[int, int]] = {}
        self.connections = False  # conn logs: one row, connections

    def update(self, report: dict) -> None:
        rows = report.get("per_minute") or [{"minute": m["minute"], "requests": m["connections"], "errors": 0}
                                            for m in report.get("connections_per_minute") or []]
        self.connections = "top_sources" in report
        for m in rows:
            # a minute's figures only grow while it is in the window; keep its largest
            old = self.minutes.get(m["minute"], (0, 0))
            self.minutes[m["minute"]] = (max(old[0], m["requests"]), max(old[1], m["errors"]))
        for minute in sorted(self.minutes)[:-self.keep]:
            del self.minutes[minute]

    def lines(self) -> list[str]:
        if not self.minutes:
            return ["  (no entries yet)"]
        names = sorted(self.minutes)
        requests = [self.minutes[m][0] for m in names]
        errors = [self.minutes[m][1] for m in names]
        top = max(requests)
        axis = f"           {names[0][11:]}{' ' * max(1, len(names) - 10)}{names[-1][11:]}"
        if self.connections:
            return [f"  conns    {sparkline(requests, top)}  max {top:,}/min", axis]
        return [f"  requests {sparkline(requests, top)}  max {top:,}/min",
                f"  errors   {sparkline(errors, top)}  max {max(errors):,}/min", axis]


class LiveView:
    """The current window's figures, a per-minute chart and the workers, updated in place."""

    def __init__(self, stream: TextIO) -> None:
        from rich.console import Console
        from rich.live import Live
        self.history = MinuteHistory()
        self.console = Console(file=stream)
        self.live = Live(console=self.console, auto_refresh=False, transient=False)
        self.live.start()
        self._closed = False

    def update(self, report: dict) -> None:
        self.history.update(report)
        self.live.update(self.render(report), refresh=True)

    def render(self, report: dict):
        from rich.console import Group
        from rich.table import Table
        from rich.text import Text
        r = report
        window = r.get("window") or {}
        head = Text(f"lograd --follow  report {r['follow']['report']} at {r['follow']['time']}  "
                    f"window {window.get('start') or '-'} .. {window.get('end') or '-'}", style="bold")
        figures = Table(show_header=False, box=None, padding=(0, 2))
        figures.add_row("lines read", f"{r['lines']:,}", "malformed", f"{r['malformed_lines']:,}")
        figures.add_row("in window", f"{r['in_window']:,}", "files", f"{len(r['files'])}")
        if "total_requests" in r:
            rt = r["response_time"] or {}
            figures.add_row("requests/s", _fmt(r["requests_per_second"], 1), "error rate",
                            f"{100 * r['error_rate']:.2f}%")
            figures.add_row("avg ms", _fmt(r["avg_response_time"], 1), "p95 ms", _fmt(rt.get("p95"), 1))
            if "status_codes" in r:  # access logs: error rate is 5xx; the 4xx rate and the busiest paths
                figures.add_row("5xx", f"{r['errors']:,}", "4xx rate", f"{100 * r['client_error_rate']:.2f}%")
                for p in r["top_paths"][:5]:
                    figures.add_row(p["path"][:40], f"{p['requests']:,} requests", "5xx / p95 ms",
                                    f"{p['errors']:,} / {_fmt(p['p95'], 1)}")
            else:
                levels = "  ".join(f"{k} {v:,}" for k, v in r["levels"].items()) or "-"
                figures.add_row("levels", levels, "", "")
                for t in (r.get("templates") or {}).get("errors", [])[:5]:  # which errors, in the window
                    figures.add_row("error", t["template"][:60], "entries", f"{t['count']:,}")
            for key, res in list(r.get("resources", {}).items())[:4]:
                figures.add_row(f"{key}", f"mean {res['mean']:,.2f}", "max", f"{res['max']:,.2f}")
        if "top_sources" in r:
            for key, label in (("top_sources", "top source"), ("top_targets", "top target")):
                top = r[key]
                figures.add_row(label, ", ".join(top["hosts"][:3]) or "-", "connections", f"{top['connections']:,}")
            for host, peers in list(r.get("hosts_asked", {}).items())[:4]:
                for key, label, whom in (("connected_to_host", f"to {host}", "sources"),
                                         ("connected_from_host", f"{host} connected to", "targets")):
                    top = list(peers[key].items())[:3]
                    figures.add_row(label, ", ".join(f"{h} {n}" for h, n in top) or "-", whom, f"{len(peers[key]):,}")
        what = "connections per minute" if "top_sources" in r else "requests and errors per minute"
        chart = Text(f"{what}\n" + "\n".join(self.history.lines()))
        workers = Table("worker", "chunks", "MB", "CPU % now", "RSS MB now", "peak RSS MB", box=None,
                        padding=(0, 2))
        for name, w in r["job"]["workers"].items():
            workers.add_row(name, f"{w['chunks']:,}", f"{w['bytes'] / 1e6:,.1f}", f"{w['cpu_percent_now']:.1f}",
                            f"{w['rss_mb_now']:.1f}", f"{w['peak_rss_mb']:.1f}")
        return Group(head, figures, Text(""), chart, Text(""), workers, Text("Ctrl-C: stop with a final report",
                                                                             style="dim"))

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.live.stop()


def _fmt(value, digits: int) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# -- Prometheus -------------------------------------------------------------------------------


class Exporter:
    """The newest report's figures on ``http://bind:port/metrics`` (prometheus-client)."""

    def __init__(self, port: int, bind: str) -> None:
        from prometheus_client import CollectorRegistry, start_http_server
        self._lock = threading.Lock()
        self._report: dict | None = None
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self)
        try:
            self.server, self.thread = start_http_server(port, addr=bind, registry=self.registry)
        except OSError as exc:
            raise OSError(f"cannot serve metrics on {bind}:{port}: {exc.strerror}") from None

    def update(self, report: dict) -> None:
        with self._lock:
            self._report = report

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def collect(self):
        """The metric families of the newest report (called by prometheus-client per scrape)."""
        with self._lock:
            r = self._report
        return metric_families(r) if r is not None else []


def metric_families(r: dict) -> list:
    """A report as Prometheus metric families: totals as counters, the window as gauges."""
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    def gauge(name: str, doc: str, value, labels: dict | None = None, family=None):
        if family is None:
            family = GaugeMetricFamily(name, doc, labels=list(labels or {}))
        if value is not None:
            family.add_metric(list((labels or {}).values()), float(value))
        return family

    out = []
    for key, doc in (("lines", "lines read"), ("entries", "entries read"),
                     ("malformed_lines", "malformed lines read"), ("blank_lines", "blank lines read")):
        c = CounterMetricFamily(f"lograd_{key}", doc)
        c.add_metric([], r[key])
        out.append(c)
    out.append(gauge("lograd_window_entries", "entries inside the window", r["in_window"]))
    if "total_requests" in r:
        out.append(gauge("lograd_window_errors", "ERROR, CRITICAL and FATAL entries in the window", r["errors"]))
        out.append(gauge("lograd_window_error_rate", "errors / entries in the window", r["error_rate"]))
        out.append(gauge("lograd_window_requests_per_second", "entries per covered second in the window",
                         r["requests_per_second"]))
        out.append(gauge("lograd_window_avg_response_time_ms", "mean response time in the window",
                         r["avg_response_time"]))
        quantiles = GaugeMetricFamily("lograd_window_response_time_ms", "response-time percentiles in the window",
                                      labels=["quantile"])
        for p in ("p50", "p90", "p95", "p99"):
            if r["response_time"]:
                quantiles.add_metric([f"0.{p[1:]}"], r["response_time"][p])
        out.append(quantiles)
        levels = GaugeMetricFamily("lograd_window_level_entries", "entries per level in the window", labels=["level"])
        for level, n in r.get("levels", {}).items():
            levels.add_metric([level], n)
        out.append(levels)
        if "status_codes" in r:
            statuses = GaugeMetricFamily("lograd_window_responses", "responses per status code in the window",
                                         labels=["status"])
            for code, n in r["status_codes"].items():
                statuses.add_metric([code], n)
            out.append(statuses)
        res_mean = GaugeMetricFamily("lograd_window_resource_mean", "mean of a key=value metric", labels=["key"])
        res_max = GaugeMetricFamily("lograd_window_resource_max", "max of a key=value metric", labels=["key"])
        for key, res in r.get("resources", {}).items():
            res_mean.add_metric([key], res["mean"])
            res_max.add_metric([key], res["max"])
        out += [res_mean, res_max]
    if "top_sources" in r:
        for key, name in (("top_sources", "source"), ("top_targets", "target")):
            out.append(gauge(f"lograd_window_top_{name}_connections",
                             f"connections of the busiest {name}(s) in the window", r[key]["connections"]))
        to = GaugeMetricFamily("lograd_window_connections_to_host", "connections to a --host by source (top 20)",
                               labels=["host", "source"])
        since = GaugeMetricFamily("lograd_window_connections_from_host", "connections of a --host by target "
                                  "(top 20)", labels=["host", "target"])
        for host, peers in r.get("hosts_asked", {}).items():
            for family, key in ((to, "connected_to_host"), (since, "connected_from_host")):
                for peer, n in list(peers[key].items())[:20]:
                    family.add_metric([host, peer], n)
        out += [to, since]
    cpu = GaugeMetricFamily("lograd_worker_cpu_percent", "worker CPU, newest heartbeat", labels=["worker"])
    rss = GaugeMetricFamily("lograd_worker_rss_mb", "worker RSS, newest heartbeat", labels=["worker"])
    peak = GaugeMetricFamily("lograd_worker_peak_rss_mb", "worker peak RSS from its heartbeats", labels=["worker"])
    for name, w in r["job"]["workers"].items():
        cpu.add_metric([name], w["cpu_percent_now"])
        rss.add_metric([name], w["rss_mb_now"])
        peak.add_metric([name], w["peak_rss_mb"])
    out += [cpu, rss, peak]
    return out
