"""`lograd-coordinator --follow` with real processes (issue #6): lines appended while it
runs are reported once, through rotation, truncation, deletion, restarts with --state,
a killed worker and Ctrl-C; the window is the last N seconds before each report."""
import json
import os
import pty
import select
import shutil
import signal
import socket
import sys
import time
import urllib.request

import psutil
import pytest

from lograd.timestamps import format_ms, parse_time_arg
from tests.integration.conftest import BIN, ROOT, Running, free_base_port, wait_for

pytestmark = pytest.mark.timeout(120)

LEVELS = ("INFO", "ERROR", "WARN", "INFO", "DEBUG")


def app_lines(count: int, age_s: float = 0.0, first: int = 0) -> bytes:
    """``count`` app entries stamped ``age_s`` seconds ago; every fifth (from 1) an ERROR."""
    ms = int((time.time() - age_s) * 1000)
    return b"".join(f"{format_ms(ms).replace('T', ' ')} {LEVELS[(first + i) % 5]} request {first + i} "
                    f"took {10 + (first + i) % 7}ms\n".encode() for i in range(count))


def append(path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)


class Follow(Running):
    """A running follow-mode coordinator and the NDJSON reports it printed."""

    def reports(self) -> list[dict]:
        text = bytes(self.out).decode()
        return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]

    def wait_report(self, what: str, condition, timeout: float = 30) -> dict:
        """The first report (newest first) for which ``condition`` holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            report = next((r for r in reversed(self.reports()) if condition(r)), None)
            if report is not None:
                return report
            time.sleep(0.05)
        last = self.reports()[-1:] or [None]
        pytest.fail(f"no report with {what} within {timeout} s; the last: "
                    f"{json.dumps(last[0])[:1500]}\nstderr: {''.join(self.err_lines)[-1500:]}")

    def stop(self, timeout: float = 30) -> tuple[int, dict]:
        """Ctrl-C (SIGINT): the exit status and the final report."""
        self.popen.send_signal(signal.SIGINT)
        status = self.popen.wait(timeout=timeout)
        for t in self._threads:
            t.join(timeout=10)
        final = self.reports()[-1]
        assert final["follow"]["final"]
        return status, final


@pytest.fixture
def follow(procs, base_port):
    def start(*args: str, session: bool = False) -> Follow:
        p = procs.start("lograd-coordinator", "--port", str(base_port), "--local", "2", "--follow",
                        "--every", "0.5", "--json", *args, start_new_session=session)
        return Follow(p)
    return start


def test_appended_lines_are_counted_once_and_the_window_holds_the_last_n_seconds(follow, tmp_path):
    log = tmp_path / "app.log"  # does not exist yet: followed from its first line
    run = follow("--last", "120", str(tmp_path))
    append(log, app_lines(3, age_s=600))  # ten minutes old: read, outside the window
    append(log, app_lines(50, age_s=1) + b"not a log line\n\n" + app_lines(1)[:25])  # and half a line
    report = run.wait_report("53 entries read", lambda r: r["entries"] == 53)
    assert report["lines"] == 55 and report["malformed_lines"] == 1 and report["blank_lines"] == 1
    assert report["in_window"] == report["total_requests"] == 50
    assert report["errors"] == 10 and report["error_rate"] == 10 / 50  # levels cycle; ERROR one in five
    start, end = (parse_time_arg(report["window"][k]) for k in ("start", "end"))
    tick = parse_time_arg(report["follow"]["time"])
    assert end == tick - 1 and start == tick - 120_000  # 120 s up to the report's tick (--every 0.5)
    append(log, app_lines(1)[25:])  # the rest of the half line: now it counts, once
    report = run.wait_report("the completed line", lambda r: r["lines"] == 56)
    assert report["in_window"] == 51 and report["files"] == [str(log)] and report["format"] == "app"
    status, final = run.stop()
    assert status == 0 and final["lines"] == 56 and final["in_window"] == 51


def test_rotation_truncation_and_deletion_lose_and_repeat_nothing(follow, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(app_lines(100))
    run = follow("--last", "300", str(log))
    run.wait_report("the first 100 lines", lambda r: r["lines"] == 100)
    append(log, app_lines(10, first=100))  # written just before a rotation by rename
    os.rename(log, tmp_path / "app.log.1")
    log.write_bytes(app_lines(20, first=110))
    run.wait_report("the rotated file's rest and the new file", lambda r: r["lines"] == 130)
    append(log, app_lines(5, first=130))
    run.wait_report("5 more", lambda r: r["lines"] == 135)
    shutil.copy(log, tmp_path / "copy.log")  # copy-truncate: the same file starts again
    with open(log, "r+b") as f:
        f.truncate(0)
    append(log, app_lines(7, first=135))
    run.wait_report("the truncated file from its start", lambda r: r["lines"] == 142)
    os.remove(log)  # deleted; a new file appears under the name later
    os.remove(tmp_path / "app.log.1")
    log.write_bytes(app_lines(3, first=142))
    report = run.wait_report("the new file", lambda r: r["lines"] == 145)
    assert report["in_window"] == report["entries"] == 145
    status, final = run.stop()
    assert status == 0 and final["lines"] == 145


def test_a_restart_with_state_continues_without_gaps_or_repeats(follow, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    log = logs / "app.log"
    state = str(tmp_path / "follow.state")
    log.write_bytes(app_lines(40))
    run = follow("--last", "300", "--state", state, str(logs))
    run.wait_report("40 lines", lambda r: r["lines"] == 40)
    status, final = run.stop()
    assert status == 0 and final["lines"] == 40 and os.path.exists(state)
    size_before = log.stat().st_size
    append(log, app_lines(25, first=40))  # written while nothing follows
    run = follow("--last", "300", "--state", state, str(logs))
    report = run.wait_report("40 + 25 lines", lambda r: r["lines"] == 65)
    assert report["in_window"] == 65 and report["errors"] == 13  # the window kept the first run's entries
    assert report["job"]["bytes"] == log.stat().st_size - size_before  # only the new lines were read
    status, final = run.stop()
    assert status == 0 and final["lines"] == 65
    run = follow("--last", "60", "--state", state, str(logs))  # other options: refused, nothing read
    assert run.popen.wait(timeout=30) == 2
    assert run.said("saved by a run with other options") and run.said("--last 300")
    with open(state, "r+b") as f:
        f.truncate(40)  # damaged: refused with a message, never a traceback
    run = follow("--last", "300", "--state", state, str(logs))
    assert run.popen.wait(timeout=30) == 2 and run.said("damaged state file") and not run.said("Traceback")
    run = follow("--last", "300", "--state", str(tmp_path / "no" / "such" / "dir"), str(logs))
    assert run.popen.wait(timeout=30) == 2 and run.said("cannot write the state file")


def test_a_path_that_cannot_be_read_is_reported_and_the_rest_still_followed(follow, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # exists, but is no log file (reading it would block)
    log = tmp_path / "app.log"
    run = follow("--last", "60", str(fifo), str(log), str(tmp_path / "later.log"))
    append(log, app_lines(12))
    report = run.wait_report("12 lines", lambda r: r["lines"] == 12)
    assert report["unreadable_files"] == [{"file": str(fifo), "reason": "not a regular file"}]
    assert run.said(f"cannot read {fifo}: not a regular file")
    assert run.said("nothing at") and run.said("later.log")  # said once, then waited for
    (tmp_path / "later.log").write_bytes(app_lines(3))
    run.wait_report("the file that appeared", lambda r: r["lines"] == 15)
    status, final = run.stop()
    assert status == 1 and final["lines"] == 15  # SPEC §4: a report, but some input unreadable


def test_a_killed_coordinator_restarted_with_its_state_counts_every_line_once(follow, tmp_path):
    log = tmp_path / "app.log"
    state = str(tmp_path / "follow.state")
    run = follow("--last", "300", "--state", state, str(log), session=True)
    append(log, app_lines(30))
    run.wait_report("30 lines", lambda r: r["lines"] == 30)
    append(log, app_lines(20, first=30))  # read, maybe saved, maybe not, when the kill comes
    run.wait_report("50 lines", lambda r: r["lines"] == 50)
    os.killpg(run.pid, signal.SIGKILL)  # the coordinator and its workers, no chance to save
    run.popen.wait(timeout=10)
    append(log, app_lines(10, first=50))
    run = follow("--last", "300", "--state", state, str(log))
    report = run.wait_report("60 lines", lambda r: r["lines"] == 60)
    assert report["in_window"] == report["entries"] == 60 and report["errors"] == 12
    status, final = run.stop()
    assert status == 0 and final["lines"] == 60


def test_conn_logs_answer_who_connected_to_whom_in_the_window(follow, tmp_path):
    log = tmp_path / "conn.log"
    now = int(time.time())
    old = now - 3600
    log.write_bytes(b"".join(f"{old * 1000} x Hannibal\n".encode() for _ in range(4)))
    run = follow("--last", "60", "--host", "Hannibal", str(log))
    append(log, f"{now} a Hannibal\n{now * 1000} b Hannibal\n{now} a Hannibal\n{now} Hannibal c\n".encode())
    report = run.wait_report("8 conn entries", lambda r: r["entries"] == 8)
    assert report["format"] == "conn" and report["in_window"] == 4
    assert report["connected_to_host"] == {"a": 2, "b": 1} and report["connected_from_host"] == {"c": 1}
    assert report["top_sources"] == {"hosts": ["a"], "connections": 2}
    run.stop()


def test_a_worker_killed_while_following_loses_and_repeats_nothing(follow, tmp_path):
    log = tmp_path / "app.log"
    run = follow("--last", "300", "--chunk-size", "2KiB", str(log))
    append(log, app_lines(200))
    run.wait_report("200 lines", lambda r: r["lines"] == 200 and len(r["job"]["workers"]) == 2)
    victim = wait_for(lambda: psutil.Process(run.pid).children(recursive=True), 10, "the local workers")[0]
    victim.kill()
    for n in range(5):  # keep appending while the coordinator notices, and after
        append(log, app_lines(100, first=200 + 100 * n))
        if n == 2:
            wait_for(lambda: run.said("requeued"), 30, "the killed worker's lease ended")
    report = run.wait_report("700 lines", lambda r: r["lines"] == 700, timeout=60)
    assert report["in_window"] == 700 and report["errors"] == 140
    status, final = run.stop()
    assert final["lines"] == 700


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_metrics_port_serves_the_newest_figures_to_prometheus(follow, procs, tmp_path):
    def follow_on(port: int, *args: str) -> Follow:
        return Follow(procs.start("lograd-coordinator", "--port", str(port), "--follow", "--json", *args))

    log = tmp_path / "app.log"
    port = _free_port()
    run = follow("--last", "60", "--metrics-port", str(port), str(log))
    append(log, app_lines(30))
    report = run.wait_report("30 lines, and both workers' heartbeats",
                             lambda r: r["lines"] == 30 and len(r["job"]["workers"]) == 2
                             and all(w["rss_mb_now"] > 0 for w in r["job"]["workers"].values()))

    def scrape():
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                return answer.read().decode()
        except OSError:
            return None
    text = wait_for(scrape, 10, "the metrics page")
    values = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
              for line in text.splitlines() if line and not line.startswith("#")}
    assert values["lograd_lines_total"] == 30
    assert values["lograd_window_errors"] == report["errors"] == 6
    assert values['lograd_window_level_entries{level="ERROR"}'] == 6
    assert 'lograd_window_response_time_ms{quantile="0.95"}' in values
    assert values['lograd_worker_rss_mb{worker="local-1"}'] > 0
    busy = follow_on(free_base_port(), "--metrics-port", str(port), str(log))  # the port is taken
    assert busy.popen.wait(timeout=30) == 2 and busy.said(f"cannot serve metrics on 127.0.0.1:{port}")
    run.stop()


def test_ctrl_c_in_a_terminal_stops_everything_with_a_final_report(tmp_path, base_port):
    """A real terminal: the live view draws, Ctrl-C reaches the coordinator and its workers."""
    log = tmp_path / "app.log"
    log.write_bytes(app_lines(42))
    pid, fd = pty.fork()
    if pid == 0:  # the child: the coordinator on a terminal, as a user starts it
        os.chdir(ROOT)
        os.execv(sys.executable, [sys.executable, os.path.join(BIN, "lograd-coordinator"), "--port",
                                  str(base_port), "--local", "2", "--follow", "--every", "0.5",
                                  "--last", "60", str(log)])
    screen = bytearray()
    family: list[psutil.Process] = []

    def read_until(text: bytes, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while text not in screen and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    screen.extend(os.read(fd, 65536))
                except OSError:
                    return text in screen
        return text in screen

    try:
        assert read_until(b"lines read", 30), screen.decode(errors="replace")[-2000:]
        assert read_until(b"42", 10)
        family = psutil.Process(pid).children(recursive=True)
        assert len(family) == 2  # the local workers
        os.write(fd, b"\x03")  # Ctrl-C: the terminal signals the whole foreground group
        assert read_until(b"lograd report:", 30), screen.decode(errors="replace")[-2000:]
        read_until(b"\x00never", 3)  # the rest of the final report
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        final = screen[screen.rindex(b"lograd report:"):].decode(errors="replace")
        assert "lines 42: 42 entries" in final and "final" in final
        psutil.wait_procs(family, timeout=10)
        assert not [p for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    finally:
        for p in family:
            try:
                p.kill()
            except psutil.Error:
                pass
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)


def test_piped_text_says_no_new_lines_in_one_line_until_lines_arrive(procs, base_port, tmp_path):
    log = tmp_path / "app.log"
    append(log, app_lines(5))
    run = Running(procs.start("lograd-coordinator", "--port", str(base_port), "--local", "1", "--follow",
                              "--every", "0.5", str(log)))
    text = lambda: bytes(run.out).decode()
    wait_for(lambda: "--- report 3 at" in text(), 30, "three reports")
    heads = [line for line in text().splitlines() if line.startswith("--- report")]
    assert not heads[0].endswith("no new lines") and all(h.endswith(": no new lines") for h in heads[1:3])
    assert text().count("lograd report:") == 1  # the figures once, not again for each unchanged report
    append(log, app_lines(2, first=5))
    wait_for(lambda: text().count("lograd report:") == 2, 30, "a whole report once lines arrived")
    run.popen.send_signal(signal.SIGINT)
    assert run.popen.wait(timeout=30) == 0
    wait_for(lambda: "(final)" in text(), 10, "the final report")
    assert "lines 7: 7 entries" in text().split("(final)")[1]  # the final report is whole


def access_lines(count: int, status: int, age_s: float = 0.0) -> bytes:
    """``count`` nginx lines stamped ``age_s`` seconds ago, every one with ``status``."""
    stamp = time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(time.time() - age_s))
    return b"".join(f'10.0.0.{i % 3} - - [{stamp}] "GET /api/users/{i} HTTP/1.1" {status} 10 "-" "curl" 0.0{i % 9 + 1}\n'
                    .encode() for i in range(count))


def test_follow_mode_reads_access_logs_with_their_figures_in_the_window(follow, tmp_path):
    log = tmp_path / "access.log"
    log.write_bytes(access_lines(5, 200, age_s=600))  # ten minutes old: outside --last 120
    run = follow("--last", "120", str(log))
    append(log, access_lines(30, 200) + access_lines(10, 503))
    report = run.wait_report("45 entries", lambda r: r["entries"] == 45)
    assert report["format"] == "access" and report["in_window"] == 40
    assert report["status_codes"] == {"200": 30, "503": 10} and report["errors"] == 10
    top = report["top_paths"][0]
    assert (top["path"], top["requests"], top["errors"]) == ("/api/users/{id}", 40, 10)
    status, final = run.stop()
    assert status == 0 and final["status_codes"] == {"200": 30, "503": 10}


def test_follow_mode_filters_and_counts_the_window_templates(follow, tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(app_lines(10, age_s=600))  # ten minutes old: outside --last 120
    run = follow("--last", "120", "--level", "WARN", str(log))
    append(log, app_lines(50, age_s=1))  # levels cycle: ERROR and WARN one in five each
    report = run.wait_report("60 entries", lambda r: r["entries"] == 60)
    assert report["filters"] == {"level": "WARN", "grep": None, "template": None}
    assert report["in_window"] == 20 and report["errors"] == 10  # WARN and ERROR of the 50 new ones
    assert report["levels"] == {"WARN": 10, "ERROR": 10}
    (errors,) = report["templates"]["errors"]
    (warnings,) = report["templates"]["warnings"]
    assert errors["template"] == warnings["template"] == "request <*> took <*>"
    assert errors["count"] == warnings["count"] == 10 and report["templates"]["other"] == []
    status, final = run.stop()
    assert status == 0 and final["in_window"] == 20
