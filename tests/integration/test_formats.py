"""Real coordinator and workers over a directory of framework logs (issue #14's "done when")."""
import json
import os
import shutil

from tests.test_formats import EXPECTED, FORMATS_DIR, ms, pick, report_by_chunks


def test_a_directory_of_framework_logs_reports_each_as_the_samples_say(procs, base_port, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, case in EXPECTED.items():
        shutil.copy(os.path.join(FORMATS_DIR, name), logs / name)
        stamp = ms(case["reference"]) / 1000  # dates the stamps without a year
        os.utime(logs / name, (stamp, stamp))
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "64", str(logs))
    assert status == 0, err
    assert report["files_formats"] == {str(logs / n): c["format"] for n, c in sorted(EXPECTED.items())}
    assert report["format"] == "mixed"
    # the run over all files equals the in-process reading of each, summed
    assert report["entries"] == sum(c["want"]["entries"] for c in EXPECTED.values())
    for key in ("lines", "continuation_lines", "malformed_lines", "blank_lines", "errors"):
        each = [report_by_chunks(open(os.path.join(FORMATS_DIR, n), "rb").read(), 1 << 20,
                                 reference_ms=ms(c["reference"]), fmt=c["format"])[key]
                for n, c in EXPECTED.items()]
        assert report[key] == sum(each), key
    assert pick(report, "levels.NONE") == sum(c["want"].get("levels", {}).get("NONE", 0) for c in EXPECTED.values())


def test_a_file_in_no_known_format_is_said_on_stderr(procs, base_port, tmp_path):
    path = tmp_path / "mystery.log"
    path.write_bytes(b"hello there\nthis is not a log\n")
    status, report, err = procs.coordinator(base_port, "--local", "1", str(path))
    assert "no known format in" in err and "hello there" in err and "--format" in err
    assert report["malformed_lines"] == 2 and json.dumps(report)


def test_a_generated_access_log_gives_figures_computed_here_independently(procs, base_port, tmp_path):
    import collections
    import re
    from benchmarks.access_log import write_access_log
    log = tmp_path / "access.log"
    write_access_log(str(log), 2_000_000, seed=5)
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "256KiB", "--html",
                                            str(tmp_path / "access.html"), str(log))
    assert status == 0, err
    # the figures again, from the lines split on their quotes (not lograd's grammar)
    codes, paths, clients = collections.Counter(), collections.Counter(), collections.Counter()
    for line in log.read_text().splitlines():
        head, request, tail = line.split('"')[:3]
        code = int(tail.split()[0])
        codes[code] += 1
        clients[head.split()[0]] += 1
        method_target = request.split(" ")
        if len(method_target) == 3:
            target = method_target[1].split("?")[0]
            paths[re.sub(r"(?<=[/.])([0-9]+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|"
                         r"(?=[0-9a-f]*[0-9])[0-9a-f]{8,})(?=[/.]|$)", "{id}", target)] += 1
    assert report["format"] == "access" and report["entries"] == sum(codes.values())
    assert report["status_codes"] == {str(c): n for c, n in sorted(codes.items())}
    assert report["errors"] == sum(n for c, n in codes.items() if c >= 500)
    assert report["client_errors"] == sum(n for c, n in codes.items() if 400 <= c < 500)
    top = report["top_paths"][0]
    assert (top["path"], top["requests"]) == paths.most_common(1)[0]
    assert report["top_clients"][0]["requests"] == clients.most_common(1)[0][1]
    assert sum(m["status_5xx"] for m in report["per_minute"]) == report["errors"]
    page = (tmp_path / "access.html").read_text()
    assert "chart-status-classes" in page and "chart-top-paths" in page


def test_a_log_format_layout_reads_a_custom_access_log(procs, base_port, tmp_path):
    log = tmp_path / "custom.log"
    log.write_bytes(b"2024-01-24T10:15:32+00:00 10.0.0.1 POST /api/orders 502 0 0.120, 0.003\n"
                    b"2024-01-24T10:15:33+00:00 10.0.0.2 GET /api/orders/12 200 10 0.020\n" * 50)
    status, report, err = procs.coordinator(
        base_port, "--local", "2", "--chunk-size", "100", "--log-format",
        "$time_iso8601 $remote_addr $request_method $request_uri $status $bytes_sent $upstream_response_time",
        str(log))
    assert status == 0, err
    assert report["format"] == "access" and report["files_formats"] == {str(log): "access"}
    assert report["status_codes"] == {"200": 50, "502": 50} and report["errors"] == 50
    assert report["response_time"]["max"] == 123.0 and report["top_paths"][0]["requests"] == 50
    status, _, err = procs.coordinator(base_port, "--log-format", "$remote_addr", str(log))
    assert status == 2 and "--log-format: a --log-format needs $status" in err
