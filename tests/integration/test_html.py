"""Issue #8: ``--html FILE``, a self-contained page of charts. The tests read the page
back (its embedded report and every chart's data), render it in headless Chromium,
and check that its size follows minutes, not lines."""
import base64
import json
import os
import shutil
import signal
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest

from lograd.generate import generate_test_logs
from lograd.outputs.html import report_of_page
from tests.integration.conftest import LOGS, free_base_port, wait_for, without_job
from tests.integration.test_follow_mode import Follow, app_lines, append

pytestmark = pytest.mark.timeout(150)

SPIKE = os.path.join(LOGS, "error_spike.log")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--virtual-time-budget=10000"]


def charts(page: str) -> dict[str, list[dict]]:
    """Every chart's traces, by chart id, decoded from the page's Plotly.newPlot calls."""
    decoder = json.JSONDecoder()
    out = {}
    at = page.find("Plotly.newPlot(")
    while at >= 0:
        name, at = decoder.raw_decode(page, _skip(page, at + len("Plotly.newPlot(")))
        traces, at = decoder.raw_decode(page, _skip(page, page.index(",", at) + 1))
        out[name] = [{k: _values(v) for k, v in t.items()} for t in traces]
        at = page.find("Plotly.newPlot(", at)
    return out


def _skip(text: str, at: int) -> int:
    while text[at].isspace():
        at += 1
    return at


def _values(value):
    """A trace's array as a list, whether plain JSON or plotly's base64 typed array."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=value["dtype"]).tolist()
    return value


class Text(HTMLParser):
    """The page's visible text, cell by cell."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag):
        self._skip -= tag in ("script", "style")

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.cells.append(data.strip())


def test_the_page_holds_the_report_and_charts_of_its_figures(procs, base_port, tmp_path):
    page_path = tmp_path / "report.html"
    # --workers 2: chunks go out from the first local worker ready; the page lists both
    status, report, err = procs.coordinator(base_port, "--local", "2", "--workers", "2", "--html", str(page_path),
                                            SPIKE)
    assert status == 0, err
    page = page_path.read_text(encoding="utf-8")
    assert "<script src=" not in page and "<link" not in page  # plotly.js inlined: opens with no network
    assert without_job(report_of_page(page)) == without_job(report)
    minutes = report["per_minute"]
    drawn = charts(page)
    requests, errors = drawn["chart-requests"]
    assert requests["x"] == [m["minute"] for m in minutes]
    assert requests["y"] == [m["requests"] for m in minutes] and errors["y"] == [m["errors"] for m in minutes]
    (rate,) = drawn["chart-error-rate"]
    assert rate["y"] == [100 * m["error_rate"] for m in minutes]
    spike = max(range(len(minutes)), key=lambda i: rate["y"][i])
    assert minutes[spike]["minute"] == "2024-01-24T11:02" and rate["y"][spike] > 40  # the middle fifth
    by_name = {t["name"]: t["y"] for t in drawn["chart-response-time"]}
    assert by_name["p95"] == [m["p95"] for m in minutes] and by_name["mean"] == [m["avg_response_time"]
                                                                                 for m in minutes]
    for key, resource in report["resources"].items():
        mean, high = drawn[f"chart-resource-{key}"]
        assert mean["y"] == [m["mean"] for m in resource["per_minute"]]
        assert high["y"] == [m["max"] for m in resource["per_minute"]]
    (levels,) = drawn["chart-levels"]
    assert dict(zip(levels["x"], levels["y"])) == report["levels"]
    text = Text()
    text.feed(page)
    assert f"{100 * report['error_rate']:.2f}%" in text.cells and f"{report['lines']:,}" in text.cells
    assert "local-1" in text.cells and "local-2" in text.cells  # the job's workers
    top = [t for t in report["templates"]["errors"] if "per_minute" in t]  # the top 5 carry their minutes
    drawn_templates = drawn["chart-error-templates"]
    assert [t["name"] for t in drawn_templates] == [t["template"] for t in top]
    for trace, t in zip(drawn_templates, top):
        assert trace["y"] == [m["count"] for m in t["per_minute"]]
    for t in report["templates"]["errors"]:  # and the table lists each with its entries
        assert t["template"] in text.cells and f"{t['count']:,}" in text.cells


def test_per_minute_percentiles_are_within_two_percent_of_the_exact_ones(procs, base_port, tmp_path):
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "4KiB", SPIKE)
    assert status == 0, err
    exact: dict[str, list[float]] = {}
    for line in open(SPIKE, "rb"):  # the response times of each minute, read directly
        words = line.split()
        if b"in" in words and words[-1].endswith(b"ms"):
            exact.setdefault(line[:16].decode().replace(" ", "T"), []).append(float(words[-1][:-2]))
    for m in report["per_minute"]:
        values = sorted(exact[m["minute"]])
        for p in (50, 95, 99):
            rank = sorted(values)[max(1, -(-p * len(values) // 100)) - 1]  # nearest rank, SPEC §3
            assert abs(m[f"p{p}"] - rank) <= 0.02 * rank


def test_conn_pages_chart_the_busiest_hosts_and_connections_over_time(procs, base_port, tmp_path):
    log = tmp_path / "conn.log"
    generate_test_logs(0.2, str(log), fmt="conn", hosts=40, seed=4)
    page_path = tmp_path / "conn.html"
    status, report, err = procs.coordinator(base_port, "--local", "2", "--html", str(page_path), str(log))
    assert status == 0, err
    drawn = charts(page_path.read_text(encoding="utf-8"))
    (sources,) = drawn["chart-busiest-sources"]
    assert list(zip(sources["y"], sources["x"]))[::-1] == [(h["host"], h["connections"])
                                                           for h in report["busiest_sources"]]
    assert report["busiest_sources"][0]["host"] in report["top_sources"]["hosts"]
    (per_minute,) = drawn["chart-connections"]
    assert sum(per_minute["y"]) == report["in_window"] == report["entries"]


def test_a_page_is_sized_by_minutes_not_lines(procs, base_port, tmp_path):
    sizes = []
    for rate in (10, 200):  # the same 30 minutes, 20 times the lines
        log = tmp_path / f"rate{rate}.log"
        generate_test_logs(0, str(log), lines=rate * 1800, rate=rate, seed=2)
        page_path = tmp_path / f"rate{rate}.html"
        status, report, err = procs.coordinator(free_base_port(), "--local", "2", "--html", str(page_path),
                                                str(log))
        assert status == 0 and len(report["per_minute"]) == 30, err
        sizes.append(page_path.stat().st_size)
    assert abs(sizes[1] - sizes[0]) < 0.01 * sizes[0]  # 20x the lines, the same page within 1%


def test_follow_mode_rewrites_the_page_at_each_report(procs, base_port, tmp_path):
    log, page_path = tmp_path / "app.log", tmp_path / "live.html"  # the page lies in the followed folder
    run = Follow(procs.start("lograd-coordinator", "--port", str(base_port), "--local", "2", "--follow",
                             "--every", "0.5", "--last", "60", "--json", "--html", str(page_path), str(tmp_path)))
    append(log, app_lines(40))
    run.wait_report("40 lines", lambda r: r["lines"] == 40)
    wait_for(lambda: page_path.exists() and report_of_page(page_path.read_text())["lines"] == 40, 10,
             "the page with 40 lines")
    append(log, app_lines(10, first=40))
    wait_for(lambda: report_of_page(page_path.read_text())["lines"] == 50, 10, "the page rewritten")
    assert report_of_page(page_path.read_text())["files"] == [str(log)]  # never read as a log itself
    run.popen.send_signal(signal.SIGINT)
    assert run.popen.wait(timeout=30) == 0


def test_the_page_renders_in_headless_chromium_without_a_javascript_error(procs, base_port, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    page_path = tmp_path / "report.html"
    # --workers 2: chunks go out from the first local worker ready; the page lists both
    status, report, err = procs.coordinator(base_port, "--local", "2", "--workers", "2", "--html", str(page_path),
                                            SPIKE)
    assert status == 0, err
    expected = len(charts(page_path.read_text(encoding="utf-8")))
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,2600"]
    dom = subprocess.run([*common, "--dump-dom", page_path.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert f'data-rendered-charts="{expected}"' in dom and 'data-errors="0"' in dom, dom[-3000:]
    shot = tmp_path / "report.png"
    subprocess.run([*common, f"--screenshot={shot}", page_path.as_uri()], capture_output=True, timeout=120)
    png = shot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a full page of charts, not a blank one
