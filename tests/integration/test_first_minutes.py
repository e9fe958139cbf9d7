"""Issue #15: what a new user sees in the first five minutes — failures that must not look like
success, waits that must say what they wait for, options that must not run for ever."""
import os

import pytest

from tests.integration.conftest import LOGS, wait_for

pytestmark = pytest.mark.timeout(120)


def first_line(err: str) -> str:
    return err.splitlines()[0] if err else ""


def test_a_file_with_no_entry_says_so_first_and_exits_1(procs, base_port, tmp_path):
    log = tmp_path / "service.log"
    log.write_bytes(b"hello world\nthis is not a log\n")
    status, report, err = procs.coordinator(base_port, "--local", "1", str(log))
    assert status == 1, err  # SPEC §4: the report is printed, but an input gave nothing
    assert report["lines"] == 2 and report["entries"] == 0  # the report is still there
    assert first_line(err).startswith(f"lograd-coordinator: no known format in {log}")
    said = [line for line in err.splitlines() if "no entries in" in line]
    assert len(said) == 1 and "'hello world'" in said[0] and "2 lines" in said[0]
    assert "an app line looks like '2024-01-24 10:15:32.123 INFO" in said[0]  # what was expected
    assert "Traceback" not in err


def test_one_empty_input_among_good_ones_is_named_and_the_rest_reported(procs, base_port, tmp_path):
    empty = tmp_path / "rotated.log"
    empty.write_bytes(b"")
    normal = os.path.join(LOGS, "normal.log")
    status, report, err = procs.coordinator(base_port, "--local", "1", normal, str(empty))
    assert status == 1
    assert report["entries"] == 3000
    assert first_line(err) == f"lograd-coordinator: no entries in {empty}: it is empty"


@pytest.mark.parametrize("what", ["empty directory", "missing file", "pattern matching nothing"])
def test_nothing_to_read_is_a_one_line_error_and_no_report(procs, base_port, tmp_path, what):
    path, reason = {
        "empty directory": (tmp_path, "no regular files in this directory"),
        "missing file": (tmp_path / "missing.log", "No such file or directory"),
        "pattern matching nothing": (tmp_path / "*.log", "no file matches this pattern"),
    }[what]
    status, report, err = procs.coordinator(base_port, "--local", "1", str(path))
    assert status == 2 and report is None
    assert err.splitlines() == [f"lograd-coordinator: cannot read {path}: {reason}",
                                "lograd-coordinator: nothing to analyse: no input file could be read"]


def test_a_missing_file_beside_a_good_one_is_said_before_the_report(procs, base_port, tmp_path):
    missing = tmp_path / "missing.log"
    normal = os.path.join(LOGS, "normal.log")
    p = procs.start("lograd-coordinator", "--port", str(base_port), "--local", "1", str(missing), normal)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1
    assert first_line(err.decode()) == f"lograd-coordinator: cannot read {missing}: No such file or directory"
    assert out.decode().startswith("lograd report: 1 file(s)")


def test_a_coordinator_without_workers_says_at_once_what_it_waits_for(procs, base_port):
    normal = os.path.join(LOGS, "normal.log")
    url = f"tcp://127.0.0.1:{base_port}"
    job = procs.watched("lograd-coordinator", "--port", str(base_port), "--json", normal)
    # said well before the 30 s join timeout (the coordinator says it after half a second)
    wait_for(lambda: job.said("waiting up to 30 s for 1 more worker on " + url), 10, "the waiting message")
    assert job.said(f"bin/lograd-worker alice --coordinator {url}") and job.said("--local 2")
    procs.watched("lograd-worker", "alice", "--coordinator", url)  # what the message says to run
    status, report, err = job.finish(60)
    assert status == 0 and report["entries"] == 3000, err


def test_local_workers_alone_are_not_waited_for_aloud(procs, base_port):
    status, report, err = procs.coordinator(base_port, "--local", "2", os.path.join(LOGS, "normal.log"))
    assert status == 0 and "waiting" not in err, err


def test_a_chunk_size_that_would_make_too_many_chunks_is_raised_and_said(procs, base_port):
    normal = os.path.join(LOGS, "normal.log")
    size = os.path.getsize(normal)  # 172,767 bytes: one chunk per byte would be 172,767 chunks
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "1", normal)
    assert status == 0, err
    raised = -(-size // 100_000)
    raised += -raised % 4096  # whole pages: 4,096 B
    assert first_line(err) == (f"lograd-coordinator: --chunk-size 1 B would cut {size:,} bytes into {size:,} "
                               f"chunks; using {raised:,} B (at most 100,000 chunks)")
    assert report["job"]["chunks"] == -(-size // raised) and report["entries"] == 3000


def test_host_may_be_asked_several_times_and_each_is_answered(procs, base_port, tmp_path):
    from tests.integration.test_pipeline import CONN
    from tests.test_conn import answers, report_of
    path = tmp_path / "connections.log"
    path.write_bytes((CONN + b"1565647211000 sierra Delta\n1565647212000 Delta sierra\n") * 20)
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "64",
                                            "--host", "sierra", "--host", "Delta", "--host", "quark", str(path))
    assert status == 0, err
    # by hand, x20: sierra -> Delta once per copy and Delta -> sierra once; quark -> garak, Matina; Aadvik -> quark
    assert report["hosts_asked"] == {
        "sierra": {"connected_to_host": {"Delta": 20}, "connected_from_host": {"Delta": 20}},
        "Delta": {"connected_to_host": {"sierra": 20}, "connected_from_host": {"sierra": 20}},
        "quark": {"connected_to_host": {"Aadvik": 20}, "connected_from_host": {"Matina": 20, "garak": 20}}}
    assert report["host"] is None and report["connected_to_host"] == {}  # SPEC's keys are for one host
    assert answers(report) == answers(report_of(path.read_bytes(), 1 << 20, ("sierra", "Delta", "quark")))


def test_host_on_a_log_without_connections_is_said_to_be_ignored(procs, base_port):
    status, report, err = procs.coordinator(base_port, "--local", "1", "--host", "sierra",
                                            os.path.join(LOGS, "normal.log"))
    assert status == 0 and report["entries"] == 3000
    assert first_line(err) == ("lograd-coordinator: --host sierra: ignored, it asks about connection logs "
                               "(conn) and these are app")
