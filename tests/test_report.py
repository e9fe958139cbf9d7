"""The human report's per-minute chart (issue #8): columns of equal time, sums kept."""
import os

from lograd.outputs.report import CHART_COLUMNS, SPARKS, human, minute_columns, sparkline
from lograd.timestamps import format_minute
from tests.test_chunking import report_by_chunks

LOGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "test_vectors", "logs")


def test_the_error_spike_shows_in_the_middle_minute_of_the_chart():
    report = report_by_chunks(open(os.path.join(LOGS, "error_spike.log"), "rb").read(), 50_000)
    lines = human(report).splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("Requests and errors,"))
    assert "a column a minute" in lines[at]
    requests = lines[at + 1].split()[1]
    errors = lines[at + 2][len("  errors   "):len("  errors   ") + 5]
    assert requests == SPARKS[-1] * 5  # five full minutes of 1,200 requests
    assert [c != " " for c in errors] == [False, False, True, False, False]  # only 11:02 has errors


def test_long_spans_share_columns_and_keep_every_count():
    minutes = [{"minute": format_minute(28_434_855 + m), "requests": m + 1, "errors": m % 2}
               for m in range(0, 1000, 3)]  # 1000 minutes, every third one busy
    (requests, errors), width = minute_columns(minutes, ("requests", "errors"))
    assert len(requests) <= CHART_COLUMNS and width == -(-1000 // CHART_COLUMNS)  # minutes 0..999
    assert sum(requests) == sum(m["requests"] for m in minutes) and sum(errors) == sum(m["errors"] for m in minutes)


def test_a_sparkline_is_as_high_as_its_share():
    assert sparkline([0, 4, 8], 8) == SPARKS[0] + SPARKS[4] + SPARKS[8]
    assert sparkline([0, 0]) == SPARKS[0] * 2


def test_the_live_view_of_conn_logs_shows_each_host_both_ways_and_connections_per_minute():
    from tests.test_conn import report_of
    data = b"1565647205 sierra Delta\n1565647206 Delta sierra\n1565647207 quark sierra\n"
    report = report_of(data, 4096, ("sierra", "Delta"))
    text = live_view_text(report)
    assert "to sierra" in text and "sierra connected to" in text and "Delta connected to" in text
    assert "Delta 1, quark 1" in text  # who connected to sierra, from the report's counts
    assert "connections per minute" in text and "conns" in text and "no entries yet" not in text


def test_the_live_view_of_access_logs_shows_5xx_4xx_and_the_busiest_paths():
    from tests.test_formats import report_by_chunks
    data = (b'1.2.3.4 - - [24/Jan/2024:10:15:32 +0000] "GET /api/users/7 HTTP/1.1" 503 0 "-" "x" 0.250\n'
            b'1.2.3.4 - - [24/Jan/2024:10:15:33 +0000] "GET /api/users/8 HTTP/1.1" 404 0 "-" "x" 0.010\n')
    report = report_by_chunks(data, len(data), fmt="access")
    text = live_view_text(report)
    assert "4xx rate" in text and "50.00%" in text  # one 404 of two responses
    assert "/api/users/{id}" in text and "2 requests" in text and "1 / 250.0" in text  # 5xx / p95 of the path


def live_view_text(report: dict) -> str:
    """What the follow-mode live view draws for ``report`` (as its first report)."""
    import io
    from lograd.outputs.display import LiveView
    report["follow"] = {"report": 1, "time": report["last_timestamp"], "final": False}
    report["job"] = {"workers": {}}
    screen = io.StringIO()
    view = LiveView(screen)
    view.update(report)
    view.close()
    return screen.getvalue()


def test_the_live_view_shows_the_top_error_templates_of_the_window():
    data = b"".join(b"2024-01-24 10:15:%02d.000 ERROR Timeout after %d ms calling 10.0.0.%d:5432\n" % (s, 3000 + s, s)
                    for s in range(7)) + b"2024-01-24 10:15:59.000 ERROR Disk full\n"
    report = report_by_chunks(data, 100)
    text = live_view_text(report)
    assert "Timeout after <*> ms calling <*>" in text and "Disk full" in text
    line = next(line for line in text.splitlines() if "Timeout after" in line)
    assert line.split()[-1] == "7"  # its seven entries, counted above
    assert text.index("Timeout after") < text.index("Disk full")  # the most frequent first


def test_the_hosts_section_puts_hosts_missing_data_first_then_the_worst_error_rate():
    from lograd.outputs.report import _hosts_section
    hosts = {"web-1": {"files": 2, "bytes": 399_787, "entries": 5_741, "errors": 537, "error_rate": 0.093538},
             "web-2": {"files": 1, "bytes": 100, "entries": 10, "errors": 5, "error_rate": 0.5},
             "web-3": {"files": 1, "bytes": 100, "entries": 0, "errors": 0, "error_rate": 0.0}}
    failed = [{"file": "web-3:/var/log/a", "start": 0, "size": 1, "reason": "host web-3 unavailable"}] * 2
    lines = _hosts_section(hosts, failed)
    assert lines[1] == "Hosts (3; those missing data first, then by error rate)"
    order = [line.split()[0] for line in lines[3:]]
    assert order == ["web-3", "web-2", "web-1"]
    assert lines[3].split()[-1] == "2" and lines[4].split()[-2:] == ["50.0%", "-"]
