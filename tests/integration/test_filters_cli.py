"""Filters (issue #17) on the real command line, against a reading of the same log in the test."""
import os
import re

from lograd.templates import template_of
from tests.integration.conftest import ROOT


def test_filters_on_the_command_line_count_what_a_direct_reading_counts(procs, base_port):
    """The bundled error_spike log, read line by line here with the same rules."""
    path = os.path.join(ROOT, "test_vectors", "logs", "error_spike.log")
    entries = []
    for line in open(path, "rb").read().splitlines():
        stamp, level, message = line[:23], line[24:].split(b" ", 1)[0], line[24:].split(b" ", 1)[1]
        entries.append((stamp, level.decode(), message))
    cases = [
        (["--level", "warn"], lambda lvl, msg: lvl in ("WARN", "ERROR")),
        (["--grep", r"took 1\d\dms"], lambda lvl, msg: re.search(rb"took 1\d\dms", msg) is not None),
        (["--template", "User <*> logged in"], lambda lvl, msg: template_of(msg) == "User <*> logged in"),
        (["--level", "ERROR", "--grep", "^Database"], lambda lvl, msg: lvl == "ERROR" and msg.startswith(b"Database")),
    ]
    for args, passes in cases:
        status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "16KiB", *args, path)
        assert status == 0, err
        expected = sum(passes(lvl, msg) for _, lvl, msg in entries)
        assert expected > 0 and report["in_window"] == expected, args
        assert report["entries"] == len(entries)  # still entries: only the figures are filtered
        assert report["errors"] == sum(passes(lvl, msg) and lvl == "ERROR" for _, lvl, msg in entries)
        assert sum(t["count"] for rows in report["templates"].values() for t in rows) == expected


def test_a_filter_over_a_log_without_levels_and_messages_is_refused(procs, base_port, tmp_path):
    log = tmp_path / "access.log"
    log.write_text('203.0.113.7 - - [24/Jan/2024:10:15:32 +0000] "GET / HTTP/1.1" 200 5 "-" "curl" 0.1\n')
    status, report, err = procs.coordinator(base_port, "--local", "1", "--level", "ERROR", str(log))
    assert status == 2 and report is None
    assert f"{log} is read as access: --level, --grep and --template" in err
