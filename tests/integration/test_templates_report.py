"""Message templates in the report (issue #17): which errors, and which are new in a window,
from real coordinator and worker processes."""
import collections

MINUTE = 60_000
T0 = 1_706_090_400_000  # 2024-01-24T10:00:00Z


def burst_log(path) -> dict:
    """Ten minutes of a service: requests all along, an old error in minutes 1-3, a new error
    burst from minute 8 on. What a reader counts by hand: the entries of each message kind
    per level and minute."""
    from lograd.timestamps import format_ms
    lines, truth = [], collections.Counter()
    for i in range(600):  # one entry a second
        ms = T0 + i * 1000
        minute = i // 60
        if 1 <= minute <= 3 and i % 7 == 0:
            kind, text = "disk", f"ERROR Disk almost full on /dev/sda{i % 3} ({90 + i % 9}% used)"
        elif minute >= 8 and i % 3 == 0:
            kind, text = "timeout", f"ERROR Timeout after {3000 + i} ms calling 10.0.0.{i % 9}:5432"
        else:
            kind, text = "request", f"INFO Request processed in {10 + i % 90}ms"
        lines.append(f"{format_ms(ms).replace('T', ' ')} {text}")
        truth[kind, minute] += 1
    path.write_text("\n".join(lines) + "\n")
    return truth


def test_a_burst_of_a_new_error_is_the_first_new_template_of_the_window(procs, base_port, tmp_path):
    log = tmp_path / "service.log"
    truth = burst_log(log)
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "4KiB",
                                            "--last", "180", str(log))
    assert status == 0, err
    # the window: the last 180 s up to the newest entry (minute 9's last second): minutes 6-9
    first, *_ = report["new_templates"]
    assert first["template"] == "Timeout after <*> ms calling <*>" and first["level_group"] == "errors"
    assert first["count"] == sum(n for (kind, _), n in truth.items() if kind == "timeout")
    assert first["first_seen"].startswith("2024-01-24T10:08:00")
    assert [t["template"] for t in report["new_templates"]] == ["Timeout after <*> ms calling <*>"]
    # the requests came before the window too: not new; the disk error lies before it: not counted
    errors = report["templates"]["errors"]
    assert [t["template"] for t in errors] == ["Timeout after <*> ms calling <*>"]
    assert errors[0]["per_minute"] == [{"minute": f"2024-01-24T10:0{m}", "count": truth["timeout", m]}
                                       for m in (8, 9)]
    assert errors[0]["example"] == {"file": str(log), "offset": log.read_bytes().index(b"ERROR Timeout") - 24}
    other = report["templates"]["other"]
    assert other[0]["template"] == "Request processed in <*>"
    assert other[0]["count"] == report["in_window"] - first["count"]


def test_without_a_window_every_template_is_counted_and_none_is_new(procs, base_port, tmp_path):
    log = tmp_path / "service.log"
    truth = burst_log(log)
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "4KiB", str(log))
    assert status == 0, err
    assert report["new_templates"] is None and report["templates_total"] == 3
    counts = {t["template"]: t["count"] for t in report["templates"]["errors"]}
    assert counts == {"Timeout after <*> ms calling <*>": sum(n for (k, _), n in truth.items() if k == "timeout"),
                      "Disk almost full on <*> (<*> used)": sum(n for (k, _), n in truth.items() if k == "disk")}


def test_the_human_report_shows_the_top_error_templates_under_the_error_rate(procs, tmp_path, base_port):
    log = tmp_path / "service.log"
    burst_log(log)
    p = procs.start("lograd-coordinator", "--port", str(base_port), "--local", "2", "--last", "180", str(log))
    out, _ = p.communicate(timeout=60)
    lines = out.decode().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("  errors "))
    assert lines[at + 1].startswith("  top error templates")
    assert lines[at + 2].endswith("Timeout after <*> ms calling <*>")
    assert lines[at + 3].startswith("  new in the window: 1 template(s)")
    assert "Timeout after <*> ms calling <*>" in lines[at + 4]


def test_no_templates_leaves_every_other_figure_as_it_was(procs, base_port, tmp_path):
    log = tmp_path / "service.log"
    burst_log(log)
    reports = []
    for extra in ([], ["--no-templates"]):
        status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "4KiB", "--last", "180",
                                                *extra, str(log))
        assert status == 0, err
        reports.append({k: v for k, v in report.items() if k != "job"})
    counted, skipped = reports
    assert skipped["templates"] is skipped["templates_total"] is skipped["new_templates"] is None
    assert counted["templates_total"] == 2  # requests and the timeouts, inside the window
    for key in ("templates", "templates_total", "new_templates", "new_templates_total"):
        counted.pop(key, None), skipped.pop(key, None)
    assert counted == skipped
