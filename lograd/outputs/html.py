"""The HTML report (``--html FILE``): one self-contained page of interactive charts.

The charts are plotly figures with plotly.js inlined once, so the file opens
from disk with no network. The page also carries the whole JSON report in a
``<script type="application/json" id="lograd-report">`` element, for tools
(and the tests) that want the numbers behind the pictures. Its size follows
the minutes the logs cover, never their lines.
"""
from __future__ import annotations

import html
import json
import os

from .report import hosts_in_order, number, to_json

MAX_RESOURCES = 12
"""Resource keys charted (the busiest by count); the table lists them all."""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }}
h1 {{ font-size: 22px; margin-bottom: 4px; }}
h2 {{ font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }}
.sub {{ color: #666; margin-top: 0; }}
.cards {{ display: flex; flex-wrap: wrap; gap: 12px; }}
.card {{ border: 1px solid #ddd; border-radius: 6px; padding: 10px 14px; min-width: 130px; }}
.card .value {{ font-size: 22px; font-weight: 600; }}
.card .label {{ color: #666; font-size: 13px; }}
.card.alert .value {{ color: #c0392b; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ border-bottom: 1px solid #eee; padding: 4px 10px; text-align: right; }}
td:first-child, th:first-child {{ text-align: left; }}
code {{ white-space: pre-wrap; word-break: break-all; }}
.chart {{ min-height: 360px; }}
</style>
<script>
window.lograd_errors = [];
window.addEventListener("error", function (e) {{ window.lograd_errors.push(String(e.message)); }});
</script>
</head>
<body>
<h1>{title}</h1>
<p class="sub">{subtitle}</p>
{body}
<script type="application/json" id="lograd-report">{data}</script>
<script>
window.addEventListener("load", function () {{
  var charts = Array.from(document.querySelectorAll(".js-plotly-plot"))
    .filter(function (plot) {{ return plot.querySelector(".main-svg"); }}).length;
  document.body.setAttribute("data-rendered-charts", String(charts));
  document.body.setAttribute("data-errors", String(window.lograd_errors.length));
  document.body.setAttribute("data-error-text", window.lograd_errors.join(" | "));
}});
</script>
</body>
</html>
"""


def _e(value) -> str:
    return html.escape(str(value))


def _number(value, digits: int = 2) -> str:
    return number(value, digits, "–")


def _card(label: str, value: str, alert: bool = False) -> str:
    return (f'<div class="card{" alert" if alert else ""}"><div class="value">{_e(value)}</div>'
            f'<div class="label">{_e(label)}</div></div>')


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class _Charts:
    """The page's figures, plotly.js inlined with the first only."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def add(self, figure, name: str, title: str) -> None:
        import plotly.io as pio
        figure.update_layout(title=title, template="plotly_white", height=360,
                             margin=dict(l=60, r=20, t=50, b=40), legend=dict(orientation="h", y=-0.15))
        self.parts.append(pio.to_html(figure, full_html=False, include_plotlyjs=not self.parts,
                                      div_id=f"chart-{name}", config={"displaylogo": False, "responsive": True}))

    def html(self) -> str:
        return "\n".join(f'<div class="chart">{part}</div>' for part in self.parts)


def _app_charts(r: dict, charts: _Charts) -> None:
    import plotly.graph_objects as go
    minutes = r["per_minute"]
    if minutes:
        x = [m["minute"] for m in minutes]
        figure = go.Figure([go.Bar(x=x, y=[m["requests"] for m in minutes], name="requests",
                                   marker_color="#4c78a8"),
                            go.Bar(x=x, y=[m["errors"] for m in minutes], name="errors", marker_color="#e45756")])
        figure.update_layout(barmode="overlay", yaxis_title="entries a minute")
        charts.add(figure, "requests", "Requests and errors per minute")
        figure = go.Figure(go.Scatter(x=x, y=[100 * m["error_rate"] for m in minutes], name="error rate",
                                      mode="lines+markers", line_color="#e45756"))
        figure.update_layout(yaxis_title="% of entries", yaxis_rangemode="tozero")
        charts.add(figure, "error-rate", "Error rate per minute")
        timed = [m for m in minutes if m["p50"] is not None]
        if timed:
            tx = [m["minute"] for m in timed]
            figure = go.Figure([go.Scatter(x=tx, y=[m[k] for m in timed], name=k, mode="lines")
                                for k in ("p50", "p95", "p99")]
                               + [go.Scatter(x=tx, y=[m["avg_response_time"] for m in timed], name="mean",
                                             mode="lines", line_dash="dot")])
            figure.update_layout(yaxis_title="ms")
            charts.add(figure, "response-time", "Response time per minute (p50, p95, p99 within 2%)")
    busiest = sorted(r.get("resources", {}).items(), key=lambda kv: -kv[1]["count"])[:MAX_RESOURCES]
    for key, resource in sorted(busiest):
        rows = resource["per_minute"]
        rx = [m["minute"] for m in rows]
        figure = go.Figure([go.Scatter(x=rx, y=[m["mean"] for m in rows], name="mean", mode="lines"),
                            go.Scatter(x=rx, y=[m["max"] for m in rows], name="max", mode="lines")])
        charts.add(figure, f"resource-{key}", f"{key} per minute (mean and max)")
    if r.get("levels"):
        colours = {"ERROR": "#e45756", "CRITICAL": "#b22222", "FATAL": "#7f0000", "WARN": "#f58518"}
        figure = go.Figure(go.Bar(x=list(r["levels"]), y=list(r["levels"].values()),
                                  marker_color=[colours.get(k, "#4c78a8") for k in r["levels"]]))
        figure.update_layout(yaxis_title="entries")
        charts.add(figure, "levels", "Levels")


def _template_charts(r: dict, charts: _Charts) -> None:
    """The top 5 error templates' entries per minute (the report carries them for those five)."""
    import plotly.graph_objects as go
    charted = [t for t in (r.get("templates") or {}).get("errors", []) if "per_minute" in t]
    if charted:
        figure = go.Figure([go.Bar(x=[m["minute"] for m in t["per_minute"]], y=[m["count"] for m in t["per_minute"]],
                                   name=_short(t["template"])) for t in charted])
        figure.update_layout(barmode="stack", yaxis_title="entries a minute")
        charts.add(figure, "error-templates", "Top error templates per minute")


def _short(template: str, chars: int = 60) -> str:
    return template if len(template) <= chars else template[:chars - 1] + "…"


STATUS_COLOURS = {"status_1xx": "#bab0ac", "status_2xx": "#54a24b", "status_3xx": "#4c78a8",
                  "status_4xx": "#f58518", "status_5xx": "#e45756"}


def _access_charts(r: dict, charts: _Charts) -> None:
    import plotly.graph_objects as go
    minutes = r["per_minute"]
    if minutes:
        x = [m["minute"] for m in minutes]
        figure = go.Figure([go.Bar(x=x, y=[m[key] for m in minutes], name=key[-3:], marker_color=colour)
                            for key, colour in STATUS_COLOURS.items()])
        figure.update_layout(barmode="stack", yaxis_title="responses a minute")
        charts.add(figure, "status-classes", "Responses per minute by status class")
    rows = r["top_paths"][::-1]
    if rows:
        figure = go.Figure([go.Bar(x=[p["requests"] - p["errors"] for p in rows], y=[p["path"] for p in rows],
                                   name="not 5xx", orientation="h", marker_color="#4c78a8"),
                            go.Bar(x=[p["errors"] for p in rows], y=[p["path"] for p in rows], name="5xx",
                                   orientation="h", marker_color="#e45756")])
        figure.update_layout(barmode="stack", xaxis_title="requests", height=max(360, 22 * len(rows) + 100))
        charts.add(figure, "top-paths", "Busiest paths (ids as {id})")


def _conn_charts(r: dict, charts: _Charts) -> None:
    import plotly.graph_objects as go
    for key, label in (("busiest_sources", "sources"), ("busiest_targets", "targets")):
        rows = r[key][::-1]
        if rows:
            figure = go.Figure(go.Bar(x=[h["connections"] for h in rows], y=[h["host"] for h in rows],
                                      orientation="h", marker_color="#4c78a8"))
            figure.update_layout(xaxis_title="connections", height=max(360, 22 * len(rows) + 100))
            charts.add(figure, f"busiest-{label}", f"Busiest {label}")
    per_minute = r["connections_per_minute"]
    if per_minute:
        figure = go.Figure(go.Bar(x=[m["minute"] for m in per_minute], y=[m["connections"] for m in per_minute],
                                  marker_color="#4c78a8"))
        figure.update_layout(yaxis_title="connections a minute")
        charts.add(figure, "connections", "Connections per minute")


def html_report(report: dict) -> str:
    """The page for a SPEC §3 report."""
    r = report
    charts = _Charts()
    cards = [_card("lines", _number(r["lines"])), _card("entries", _number(r["entries"])),
             _card("malformed lines", _number(r["malformed_lines"]), alert=r["malformed_lines"] > 0)]
    if "total_requests" in r:
        cards += [_card("requests", _number(r["total_requests"])),
                  _card("error rate", f"{100 * r['error_rate']:.2f}%", alert=r["error_rate"] > 0.05),
                  _card("requests per second", _number(r["requests_per_second"])),
                  _card("peak in one second", _number(r["peak_requests_per_second"])),
                  _card("mean response ms", _number(r["avg_response_time"], 1)),
                  _card("p95 response ms", _number((r["response_time"] or {}).get("p95"), 1))]
        _app_charts(r, charts)
        _template_charts(r, charts)
    if "top_paths" in r:
        cards += [_card("5xx", _number(r["errors"]), alert=r["errors"] > 0),
                  _card("4xx rate", f"{100 * r['client_error_rate']:.2f}%")]
        _access_charts(r, charts)
    if "top_sources" in r:
        cards += [_card("connections in window", _number(r["in_window"])),
                  _card("top source", ", ".join(r["top_sources"]["hosts"][:3]) or "–"),
                  _card("top target", ", ".join(r["top_targets"]["hosts"][:3]) or "–")]
        _conn_charts(r, charts)
    body = [f'<div class="cards">{"".join(cards)}</div>', "<h2>Charts</h2>", charts.html()]
    if r.get("hosts"):
        body += ["<h2>Hosts (those missing data first, then by error rate)</h2>", _table(
            ["host", "files", "MB", "entries", "errors", "error rate", "chunks missing"],
            [[h, _number(f["files"]), _number(f["bytes"] / 1e6, 1), _number(f["entries"]), _number(f["errors"]),
              f"{100 * f['error_rate']:.1f}%", _number(missing) if missing else "–"]
             for h, f, missing in hosts_in_order(r["hosts"], (r.get("job") or {}).get("failed_chunks") or [])])]
    for key, title in (("top_paths", "Busiest paths"), ("slowest_paths", "Slowest paths by p95")):
        if r.get(key):
            body += [f"<h2>{title}</h2>", _table(
                ["path", "requests", "5xx", "error rate", "p50 ms", "p95 ms", "p99 ms", "example"],
                [[p["path"], _number(p["requests"]), _number(p["errors"]), f"{100 * p['error_rate']:.1f}%",
                  _number(p["p50"], 1), _number(p["p95"], 1), _number(p["p99"], 1), p["example"]] for p in r[key]])]
    header = ["template", "entries", "first seen", "last seen", "example"]

    def template_rows(rows: list[dict], group: bool = False) -> list[list]:
        return [([t["level_group"]] if group else []) + [t["template"], _number(t["count"]), t["first_seen"],
                t["last_seen"], "" if t["example"] is None else f"{t['example']['file']}@{t['example']['offset']}"]
                for t in rows]
    if r.get("new_templates"):
        body += [f"<h2>New in the window: {r['new_templates_total']:,} template(s) never seen before it</h2>",
                 _table(["group"] + header, template_rows(r["new_templates"], group=True))]
    for group, title in (("errors", "Error templates"), ("warnings", "Warning templates"), ("other", "Other templates")):
        if (r.get("templates") or {}).get(group):
            body += [f"<h2>{title}</h2>", _table(header, template_rows(r["templates"][group]))]
    if r.get("top_clients"):
        body += ["<h2>Busiest clients</h2>", _table(["client", "requests", "4xx", "5xx"], [
            [c["client"], _number(c["requests"]), _number(c["4xx"]), _number(c["5xx"])] for c in r["top_clients"]])]
    if r.get("resources"):
        body += ["<h2>Resources</h2>", _table(
            ["key", "count", "mean", "min", "max"],
            [[k, _number(v["count"]), _number(v["mean"]), _number(v["min"]), _number(v["max"])]
             for k, v in r.get("resources", {}).items()])]
    for host, peers in (r.get("hosts_asked") or {}).items():
        body += [f"<h2>Connected to {_e(host)}</h2>",
                 _table(["source", "connections"], [[h, _number(n)] for h, n in
                                                    list(peers["connected_to_host"].items())[:50]]),
                 f"<h2>{_e(host)} connected to</h2>",
                 _table(["target", "connections"], [[h, _number(n)] for h, n in
                                                    list(peers["connected_from_host"].items())[:50]])]
    if r["malformed_samples"]:
        body += [f"<h2>Malformed lines (first {len(r['malformed_samples'])} of {r['malformed_lines']:,})</h2>",
                 _table(["file", "offset", "text"],
                        [[s["file"], _number(s["offset"]), s["text"]] for s in r["malformed_samples"]])]
    job = r.get("job")
    if job:
        body += ["<h2>Job</h2>",
                 f"<p>{job['bytes'] / 1e6:,.1f} MB in {job['chunks']:,} chunks, {job['elapsed_seconds']:.2f} s "
                 f"({job['throughput_mb_s']:,.1f} MB/s); {job['retried_chunks']} retried, "
                 f"{len(job['failed_chunks'])} failed</p>",
                 _table(["worker", "chunks", "MB", "CPU %", "peak RSS MB"],
                        [[n, _number(w["chunks"]), _number(w["bytes"] / 1e6, 1), _number(w["cpu_percent"], 1),
                          _number(w["peak_rss_mb"], 1)] for n, w in job["workers"].items()])]
        if job["failed_chunks"]:
            body.append(_table(["failed chunk", "start", "size", "reason"],
                               [[c["file"], c["start"], c["size"], c["reason"]] for c in job["failed_chunks"]]))
    window = r.get("window")
    subtitle = (f"{len(r['files'])} file(s), format {r['format']}; "
                f"{r['first_timestamp'] or '–'} .. {r['last_timestamp'] or '–'}"
                + (f"; window {window['start'] or '–'} .. {window['end'] or '–'}" if window else "")
                + (f"; follow report {r['follow']['report']} at {r['follow']['time']}" if r.get("follow") else ""))
    data = to_json(r).replace("</", "<\\/")  # nothing in it can close the script element
    return _PAGE.format(title="lograd report", subtitle=_e(subtitle), body="\n".join(body), data=data)


def write_html(path: str, report: dict) -> None:
    """Write the page atomically: a browser reloading it sees the old page or the new, never half."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(html_report(report))
    os.replace(tmp, path)


def report_of_page(page: str) -> dict:
    """The JSON report a page carries (for tools and tests)."""
    start = page.index('<script type="application/json" id="lograd-report">') + len(
        '<script type="application/json" id="lograd-report">')
    return json.loads(page[start:page.index("</script>", start)].replace("<\\/", "</"))
