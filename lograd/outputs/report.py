"""Output: the JSON report, the human report, and progress on a terminal."""
from __future__ import annotations

import json
import os
import sys
from typing import TextIO

import msgspec

TOP_MINUTES = 5


SPARKS = " ▁▂▃▄▅▆▇█"
CHART_COLUMNS = 60


def sparkline(values: list[int], top: int | None = None) -> str:
    """One character a value, its height by the value's share of ``top`` (default: the largest)."""
    top = max(values, default=0) if top is None else top
    if top <= 0:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, -(-v * (len(SPARKS) - 1) // top))] for v in values)


def minute_columns(per_minute: list[dict], keys: tuple[str, ...],
                   columns: int = CHART_COLUMNS) -> tuple[list[list[int]], int]:
    """The per-minute figures ``keys`` summed into at most ``columns`` columns of equal time
    (minutes without entries count 0): (one list per key, minutes a column)."""
    from ..timestamps import parse_time_arg
    minutes = [parse_time_arg(m["minute"]) // 60_000 for m in per_minute]
    first, last = minutes[0], minutes[-1]
    width = -(-(last - first + 1) // columns)  # minutes a column
    out = [[0] * ((last - first) // width + 1) for _ in keys]
    for minute, m in zip(minutes, per_minute):
        for row, key in zip(out, keys):
            row[(minute - first) // width] += m[key]
    return out, width


def to_json(report: dict) -> str:
    """The SPEC §3 report as one JSON object (floats as plain numbers): :func:`json_bytes`
    as text."""
    return json_bytes(report).decode()


def json_bytes(report: dict) -> bytes:
    """The SPEC §3 report as one JSON object (floats as plain numbers), valid UTF-8.

    msgspec writes it (a 1 GiB job's 6,000 minutes: 7 ms, against 60 for the json module);
    a file name that is not UTF-8 (its bytes held as surrogates) is written ``\\udcXX`` by
    the json module instead, which a JSON reader gives back as the same Python name. The
    command line writes these bytes as they are: made text and back (3.4 MB for that job),
    they cost 6 ms more."""
    try:
        return msgspec.json.encode(report)
    except UnicodeEncodeError:
        return json.dumps(report, allow_nan=False).encode()


def number(value, digits: int = 1, missing: str = "-") -> str:
    """A figure for people: thousands separated, ``digits`` decimals for floats."""
    if value is None:
        return missing
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.{digits}f}"


def _table(rows: list[list[str]], indent: str = "  ", text_last: bool = False) -> list[str]:
    """Rows in columns: the first left-aligned, the others right-aligned (``text_last``: the
    last left-aligned too)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [row[0].ljust(widths[0])] + [c.rjust(w) for c, w in zip(row[1:], widths[1:])]
        if text_last:
            cells[-1] = row[-1]
        out.append(indent + "  ".join(cells).rstrip())
    return out


def human(report: dict) -> str:
    """A readable report: volume, levels, errors, response times, minutes, resources, job."""
    r = report
    out = [f"lograd report: {len(r['files'])} file(s), format {r['format']}"]
    continuation = r.get("continuation_lines") or 0
    out.append(f"  lines {number(r['lines'])}: {number(r['entries'])} entries, "
               f"{number(r['malformed_lines'])} malformed, {number(r['blank_lines'])} blank"
               + (f", {number(continuation)} continuing an entry (stack traces)" if continuation else ""))
    formats = r.get("files_formats") or {}
    if len(formats) > 1:
        out.append("  formats " + ", ".join(f"{os.path.basename(path)} {fmt}" for path, fmt in formats.items()))
    if r["first_timestamp"]:
        out.append(f"  time  {r['first_timestamp']} .. {r['last_timestamp']}")
    follow = r.get("follow")
    if follow:
        out.append(f"  follow report {follow['report']} at {follow['time']}"
                   f"{' (final: stopped)' if follow['final'] else ''}")
    if r.get("window"):
        out.append(f"  window {r['window']['start'] or '-'} .. {r['window']['end'] or '-'}: "
                   f"{number(r['in_window'])} entries inside")
    if r.get("filters"):
        f = r["filters"]
        said = ([f"level {f['level']} or more severe"] if f["level"] else []) + \
            ([f"message matching {f['grep']!r}"] if f["grep"] is not None else []) + \
            ([f"template {f['template']!r}"] if f["template"] is not None else [])
        out.append(f"  only entries of {', '.join(said)}: {number(r['in_window'])} counted")
    if r.get("hosts"):
        out += _hosts_section(r["hosts"], (r.get("job") or {}).get("failed_chunks") or [])
    if "total_requests" in r:
        out += _app_sections(r)
    if "top_paths" in r:
        out += _access_sections(r)
    if "top_sources" in r:
        out += _conn_sections(r)
    for key, label in (("top_hosts", "Busiest hosts"), ("top_programs", "Busiest programs")):
        if r.get(key):
            out += ["", label] + _table([["", "entries", "errors"]] + [
                [row["name"], number(row["entries"]), number(row["errors"])] for row in r[key][:LONGEST_LIST]])
    samples = r.get("malformed_samples") or []
    if samples:
        out.append("")
        out.append(f"Malformed lines (first {len(samples)} of {number(r['malformed_lines'])})")
        for s in samples:
            out.append(f"  {s['file']}@{s['offset']}: {s['text'][:100]!r}")
    for u in r.get("unreadable_files") or []:
        out.append(f"  could not read {u['file']}: {u['reason']}")
    job = r.get("job")
    if job:
        out += _job_section(job)
    return "\n".join(out) + "\n"


LONGEST_LIST = 10


def _hosts(counts: dict[str, int]) -> list[str]:
    """Hosts by count (the report keeps them busiest first), long lists cut with a count of the rest."""
    rows = [[host, number(n)] for host, n in list(counts.items())[:LONGEST_LIST]]
    out = _table(rows) if rows else ["  none"]
    if len(counts) > LONGEST_LIST:
        out.append(f"  ... and {number(len(counts) - LONGEST_LIST)} more")
    return out


def _conn_sections(r: dict) -> list[str]:
    out = ["", "Connections"]
    for key, label in (("top_sources", "most active source"), ("top_targets", "most connected-to target")):
        top = r[key]
        hosts = ", ".join(top["hosts"][:LONGEST_LIST])
        more = f" and {number(len(top['hosts']) - LONGEST_LIST)} more" if len(top["hosts"]) > LONGEST_LIST else ""
        out.append(f"  {label}: {hosts or '-'}{more} ({number(top['connections'])} connections)")
    for host, peers in r.get("hosts_asked", {}).items():
        out += ["", f"Connected to {host}"] + _hosts(peers["connected_to_host"])
        out += ["", f"{host} connected to"] + _hosts(peers["connected_from_host"])
    return out


def _app_sections(r: dict) -> list[str]:
    out = ["", "Requests"]
    out.append(f"  total {number(r['total_requests'])}, {number(r['requests_per_second'], 2)} per second "
               f"on average, peak {number(r['peak_requests_per_second'])} in one second")
    out.append(f"  errors {number(r['errors'])} (error rate {100 * r['error_rate']:.2f}%)")
    if "status_codes" in r:  # access logs: errors are 5xx responses; 4xx are the clients'
        failing = [m["minute"] for m in r["per_minute"] if m["errors"]]
        since = f"; 5xx from {failing[0]} to {failing[-1]}" if failing else ""
        out[-1] = (f"  errors {number(r['errors'])} 5xx (error rate {100 * r['error_rate']:.2f}%){since}; "
                   f"client errors {number(r['client_errors'])} 4xx ({100 * r['client_error_rate']:.2f}%)")
        out.append("  status " + ", ".join(f"{code} {number(n)}" for code, n in r["status_codes"].items()))
        out.append(f"  bytes sent {number(r['bytes_sent']['total'])} (mean {number(r['bytes_sent']['mean'])}); "
                   "methods " + ", ".join(f"{m} {number(n)}" for m, n in r["methods"].items()))
    out += _template_lines(r)
    if r.get("levels"):
        total = sum(r["levels"].values())
        out += ["", "Levels"]
        rows = [[lvl, number(n), f"{100 * n / total:.1f}%", "#" * max(1, round(30 * n / total))]
                for lvl, n in r["levels"].items()]
        out += _table(rows)
    rt = r["response_time"]
    if rt:
        out += ["", "Response time (ms)"]
        keys = ["count", "mean", "min", "p50", "p90", "p95", "p99", "max"]
        out += _table([keys, [number(rt[k], 1) for k in keys]])
    minutes = r["per_minute"]
    if minutes:
        (requests, errors), width = minute_columns(minutes, ("requests", "errors"))
        span = "a column a minute" if width == 1 else f"a column every {width} minutes"
        out += ["", f"Requests and errors, {minutes[0]['minute']} .. {minutes[-1]['minute']} ({span})"]
        top = max(requests)
        out.append(f"  requests {sparkline(requests, top)}  max {top:,}")
        out.append(f"  errors   {sparkline(errors, top)}  max {max(errors):,}")
        header = ["minute", "requests", "errors", "error rate", "avg ms"]

        def row(m):
            return [m["minute"], number(m["requests"]), number(m["errors"]),
                    f"{100 * m['error_rate']:.1f}%", number(m["avg_response_time"])]
        busiest = sorted(minutes, key=lambda m: (-m["requests"], m["minute"]))[:TOP_MINUTES]
        out += ["", f"Busiest minutes (of {len(minutes)})"]
        out += _table([header] + [row(m) for m in busiest])
        worst = [m for m in sorted(minutes, key=lambda m: (-m["error_rate"], -m["errors"], m["minute"]))
                 if m["errors"]][:TOP_MINUTES]
        if worst:
            out += ["", "Worst minutes by error rate"]
            out += _table([header] + [row(m) for m in worst])
    if r.get("resources"):
        out += ["", "Resources"]
        rows = [["key", "count", "mean", "min", "max", "busiest minute (max)"]]
        for key, res in r.get("resources", {}).items():
            top = max(res["per_minute"], key=lambda m: m["max"], default=None)
            rows.append([key, number(res["count"]), number(res["mean"], 2), number(res["min"], 2),
                         number(res["max"], 2), f"{top['minute']} ({number(top['max'], 2)})" if top else "-"])
        out += _table(rows)
    return out


TOP_TEMPLATE_LINES = 5
TEMPLATE_CHARS = 90


def _template_lines(r: dict) -> list[str]:
    """Under the error rate: the most frequent error templates, then the window's new ones."""
    if not r.get("templates"):
        return []

    def rows(templates: list[dict], group: bool = False) -> list[str]:
        table = [[number(t["count"]), t["first_seen"][:19], t["last_seen"][:19]]
                 + ([t["level_group"]] if group else []) + [_cut(t["template"])] for t in templates]
        return _table(table, "    ", text_last=True)
    out = []
    errors = r["templates"]["errors"]
    if errors:
        out.append("  top error templates (entries, first and last seen)")
        out += rows(errors[:TOP_TEMPLATE_LINES])
    new = r.get("new_templates")
    if new:
        out.append(f"  new in the window: {number(r['new_templates_total'])} template(s) never seen before it")
        out += rows(new[:TOP_TEMPLATE_LINES], group=True)
    return out


def _cut(text: str) -> str:
    return text if len(text) <= TEMPLATE_CHARS else text[:TEMPLATE_CHARS - 1] + "…"


def _access_sections(r: dict) -> list[str]:
    """Paths, the slowest of them, clients, agents and referrers of an access log."""
    out = []

    def paths(rows: list[dict]) -> list[str]:
        table = [["path", "requests", "5xx", "error rate", "p50 ms", "p95 ms", "p99 ms", "example"]]
        table += [[p["path"][:60], number(p["requests"]), number(p["errors"]), f"{100 * p['error_rate']:.1f}%",
                   number(p["p50"]), number(p["p95"]), number(p["p99"]),
                   p["example"][:40] if p["example"] != p["path"] else ""] for p in rows[:LONGEST_LIST]]
        return _table(table)
    if r["top_paths"]:
        out += ["", "Busiest paths (ids as {id}, query strings dropped)"] + paths(r["top_paths"])
    if r["slowest_paths"]:
        out += ["", "Slowest paths by p95 (20 timed requests or more)"] + paths(r["slowest_paths"])
    for key, under in r.get("approximate", {}).items():
        out += ["", f"{key}: more distinct keys than are kept; each count may be under by up to {number(under)}"]
    if r["top_clients"]:
        out += ["", "Busiest clients"] + _table([["client", "requests", "4xx", "5xx"]] + [
            [c["client"], number(c["requests"]), number(c["4xx"]), number(c["5xx"])] for c in r["top_clients"][:LONGEST_LIST]])
    for key, label, name in (("top_user_agents", "User agents", "user_agent"), ("top_referrers", "Referrers", "referrer")):
        if r[key]:
            out += ["", label] + _table([[row[name][:80], number(row["requests"])] for row in r[key][:5]])
    return out


def hosts_in_order(hosts: dict[str, dict], failed: list[dict]) -> list[tuple[str, dict, int]]:
    """--on-workers: (host, its figures, chunks of its files not read) — those missing data
    first (it is missing from every other figure), then the worst error rate."""
    missing: dict[str, int] = {}
    for row in failed:
        host = row["file"].split(":", 1)[0] if ":" in row["file"] else ""
        missing[host] = missing.get(host, 0) + 1
    order = sorted(hosts, key=lambda h: (-(missing.get(h, 0) > 0), -hosts[h]["error_rate"], h))
    return [(h, hosts[h], missing.get(h, 0)) for h in order]


def _hosts_section(hosts: dict[str, dict], failed: list[dict]) -> list[str]:
    rows = [["host", "files", "MB", "entries", "errors", "error rate", "chunks missing"]]
    for h, f, missing in hosts_in_order(hosts, failed)[:LONGEST_LIST]:
        rows.append([h, number(f["files"]), number(f["bytes"] / 1e6, 1), number(f["entries"]), number(f["errors"]),
                     f"{100 * f['error_rate']:.1f}%", number(missing) if missing else "-"])
    out = ["", f"Hosts ({len(hosts)}; those missing data first, then by error rate)"] + _table(rows)
    if len(hosts) > LONGEST_LIST:
        out.append(f"  ... and {number(len(hosts) - LONGEST_LIST)} more")
    return out


def _job_section(job: dict) -> list[str]:
    out = ["", "Job"]
    out.append(f"  {number(job['bytes'] / 1e6, 1)} MB in {number(job['chunks'])} chunks, "
               f"{job['elapsed_seconds']:.2f} s, {job['throughput_mb_s']:.1f} MB/s; "
               f"{job['retried_chunks']} retried, {len(job['failed_chunks'])} failed")
    if job["workers"]:
        rows = [["worker", "chunks", "MB", "CPU %", "peak RSS MB"]]
        for name, w in job["workers"].items():
            rows.append([name, number(w["chunks"]), number(w["bytes"] / 1e6, 1), number(w["cpu_percent"], 1),
                         number(w["peak_rss_mb"], 1)])
        out += _table(rows)
    for c in job["failed_chunks"]:
        out.append(f"  failed: {c['file']} bytes {c['start']}..{c['start'] + c['size']}: {c['reason']}")
    return out


class Progress:
    """One self-rewriting line on stderr while a job runs, only when stderr is a terminal."""

    def __init__(self, enabled: bool, stream: TextIO = sys.stderr, every: float = 0.2) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.every = every
        self._next = 0.0
        self._shown = False

    def update(self, done: int, total: int, elapsed: float, workers: int) -> None:
        if not self.enabled or elapsed < self._next:
            return
        self._next = elapsed + self.every
        rate = done / 1e6 / elapsed if elapsed > 0 else 0.0
        pct = 100 * done / total if total else 100.0
        self.stream.write(f"\r  {done / 1e6:,.1f}/{total / 1e6:,.1f} MB  {pct:3.0f}%  "
                          f"{rate:,.1f} MB/s  {workers} worker(s) alive ")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
