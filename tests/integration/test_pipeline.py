"""The real thing: a coordinator and worker processes over ZeroMQ on loopback."""
import json
import os
import signal
import subprocess
import sys

import psutil
import pytest

from tests import reference
from tests.integration.conftest import BIN, LOGS, free_base_port, wait_for, without_job
from tests.test_chunking import report_by_chunks

pytestmark = pytest.mark.timeout(120)

VECTORS = sorted(n for n in os.listdir(LOGS) if n.endswith(".log"))


def in_process(path: str) -> dict:
    """The same report computed in this process from one chunk, with the CLI's file name."""
    with open(path, "rb") as f:
        data = f.read()
    report = report_by_chunks(data, max(len(data), 1))
    report["files"] = [path]
    report["files_formats"] = {path: fmt for fmt in report["files_formats"].values()}
    report["malformed_samples"] = [dict(s, file=path) for s in report["malformed_samples"]]
    for row in [*(t for rows in report.get("templates", {}).values() for t in rows),
                *(report.get("new_templates") or [])]:
        if row["example"] is not None:
            row["example"]["file"] = path
    return report


@pytest.mark.parametrize("name", VECTORS)
def test_local_workers_report_every_vector_exactly(procs, base_port, name):
    path = os.path.join(LOGS, name)
    status, report, err = procs.coordinator(base_port, "--local", "3", "--chunk-size", "16KiB", path)
    assert status == 0, err
    assert report["unreadable_files"] == []
    reference.assert_matches(report, reference.report(open(path, "rb").read()))
    got = without_job(report)
    got.pop("unreadable_files")
    assert got.pop("filters") is None  # the job's, as unreadable_files: no filter was given
    assert got == in_process(path)
    job = report["job"]
    assert job["chunks"] == -(-os.path.getsize(path) // 16384) and job["failed_chunks"] == []
    assert sum(w["chunks"] for w in job["workers"].values()) == job["chunks"]
    assert sum(w["bytes"] for w in job["workers"].values()) == job["bytes"] == os.path.getsize(path)


def test_assessment_expectations_over_zeromq(procs, base_port):
    status, normal, err = procs.coordinator(base_port, "--local", "3", os.path.join(LOGS, "normal.log"))
    assert status == 0, err
    # The original assessment's expected values for normal.log:
    assert normal["total_requests"] == 3000 and normal["requests_per_second"] == 50.0
    assert abs(normal["avg_response_time"] - 109.0) <= 1.09 and normal["error_rate"] == 0.0
    status, bad, err = procs.coordinator(base_port, "--local", "2", os.path.join(LOGS, "malformed.log"))
    assert status == 0, err
    assert bad["malformed_lines"] == 30 and bad["total_requests"] == 200


@pytest.mark.parametrize("workers, chunk, inputs", [
    (1, "7", "malformed.log"), (3, "5", "malformed.log"), (2, "100", ""), (3, "4KiB", ""), (2, "1MiB", "")])
def test_report_is_the_same_for_every_chunk_size_and_worker_count(procs, base_port, workers, chunk, inputs):
    path = os.path.join(LOGS, inputs)  # "" means the whole directory
    status, report, err = procs.coordinator(base_port, "--local", str(workers), "--chunk-size", chunk, path)
    assert status == 0, err
    status, whole, err = procs.coordinator(base_port, "--local", "1", "--chunk-size", "1GiB", path)
    assert status == 0, err
    assert without_job(report) == without_job(whole)
    assert report["job"]["chunks"] > whole["job"]["chunks"] or chunk == "1MiB"


def test_a_job_of_chosen_chunk_size_cuts_its_last_chunks_finer_and_reports_the_same(procs, base_port, tmp_path):
    """Without --chunk-size the coordinator chooses the size (four chunks with --local and no
    --workers) and cuts the job's last two chunks' worth (a worker each) in four, so the
    workers finish together: more chunks than an even cut, the same report as one chunk."""
    from lograd.generate import generate_test_logs
    from lograd.jobs.plan import auto_chunk_size
    path = str(tmp_path / "app.log")
    generate_test_logs(40, path, "error_spike", seed=11)  # 40 MB: 9.5 MiB chunks, 2.4 MiB pieces
    status, report, err = procs.coordinator(base_port, "--local", "2", path, timeout=120)
    assert status == 0, err
    status, whole, err = procs.coordinator(base_port, "--local", "1", "--chunk-size", "1GiB", path, timeout=120)
    assert status == 0, err
    assert without_job(report) == without_job(whole)
    size = os.path.getsize(path)
    chunk = auto_chunk_size(size, 1)
    assert size % chunk < chunk // 4, "the premise: the last chunk is short, a piece of the tail"
    assert report["job"]["chunks"] == 2 + 4 + 4 + 1, "two whole chunks, then two cut in four, then the short one"


def test_named_workers_started_first_in_other_terminals(procs, base_port):
    url = f"tcp://127.0.0.1:{base_port}"
    workers = [procs.start("lograd-worker", name, "--coordinator", url) for name in ("alice", "bob", "charlie")]
    path = os.path.join(LOGS, "error_spike.log")
    status, report, err = procs.coordinator(base_port, "--workers", "3", "--chunk-size", "8KiB", path)
    assert status == 0, err
    assert sorted(report["job"]["workers"]) == ["alice", "bob", "charlie"]
    for figures in report["job"]["workers"].values():
        assert figures["chunks"] > 0 and figures["peak_rss_mb"] > 0
    assert without_job(report)["entries"] == in_process(path)["entries"]
    # workers outlive a job and serve the next coordinator
    status, again, err = procs.coordinator(base_port, "--workers", "3", path)
    assert status == 0 and without_job(again)["entries"] == report["entries"], err
    assert all(w.poll() is None for w in workers)
    for w in workers:
        w.send_signal(signal.SIGTERM)
    for w in workers:
        assert w.wait(timeout=10) == 0


def test_no_worker_in_time_says_how_to_start_one_and_exits_3(procs, base_port):
    status, report, err = procs.coordinator(base_port, "--join-timeout", "1", os.path.join(LOGS, "normal.log"))
    assert status == 3 and report is None
    assert "bin/lograd-worker" in err and f":{base_port}" in err and "--local" in err


def test_local_workers_killed_before_the_job_starts_end_it_at_once_with_exit_3(procs, base_port):
    """The --local workers are forked as the coordinator starts; killed (SIGKILL) while it still
    reads its standard input, before any chunk, the job ends as soon as it is planned."""
    p = procs.start("lograd-coordinator", "--port", str(base_port), "--local", "2", "--join-timeout", "60", "-",
                    stdin=subprocess.PIPE)
    workers = wait_for(lambda: len(psutil.Process(p.pid).children()) == 2 and psutil.Process(p.pid).children(),
                       20, "the two local workers")
    for w in workers:
        w.kill()
    psutil.wait_procs(workers, timeout=10)
    out, err = p.communicate(input=open(os.path.join(LOGS, "normal.log"), "rb").read(), timeout=30)  # well before 60 s
    assert p.returncode == 3 and out == b""
    assert b"every local worker exited (status -9, -9)" in err and b"Traceback" not in err


def test_local_workers_that_cannot_start_end_the_job_at_once_with_exit_3(procs, base_port, tmp_path):
    # with --curve the local workers are new processes (started once the keys are read): a
    # sitecustomize makes every one of them (they alone have LOGRAD_PARENT) exit at start-up
    (tmp_path / "sitecustomize.py").write_text(
        "import os\nif os.environ.get('LOGRAD_PARENT'):\n    os._exit(7)\n")
    keys = tmp_path / "keys"
    status = subprocess.run([sys.executable, os.path.join(BIN, "lograd-keys"), str(keys)], capture_output=True)
    assert status.returncode == 0, status.stderr
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    p = procs.start("lograd-coordinator", "--port", str(base_port), "--local", "2", "--join-timeout", "60",
                    "--curve", str(keys), os.path.join(LOGS, "normal.log"), env=env)
    out, err = p.communicate(timeout=30)  # well before the 60 s join timeout
    assert p.returncode == 3 and out == b""
    assert b"every local worker exited (status 7, 7)" in err and b"Traceback" not in err


def test_unreadable_input_is_reported_and_the_rest_analysed(procs, base_port, tmp_path):
    missing = str(tmp_path / "missing.log")
    normal = os.path.join(LOGS, "normal.log")
    status, report, err = procs.coordinator(base_port, "--local", "1", missing, normal)
    assert status == 1
    assert report["unreadable_files"] == [{"file": missing, "reason": "No such file or directory"}]
    assert report["files"] == [normal] and report["entries"] == 3000
    assert "missing.log" in err and "Traceback" not in err


def test_usage_errors_exit_2_without_traceback(procs, base_port):
    for args in (["--chunk-size", "lots", LOGS], ["--local", "-1", LOGS], ["--from", "yesterday", LOGS],
                 ["--to", "1e20", LOGS], ["--from", "-1e20", LOGS], []):
        status, _, err = procs.coordinator(base_port, *args)
        assert status == 2 and "Usage:" in err and "Traceback" not in err, args


def test_ctrl_c_stops_the_coordinator_and_its_workers(procs, base_port):
    # --workers 3 with only one local worker: the coordinator waits, holding a child
    coordinator = procs.start("lograd-coordinator", "--port", str(base_port), "--local", "1",
                              "--workers", "3", os.path.join(LOGS, "normal.log"))
    children = wait_for(lambda: psutil.Process(coordinator.pid).children(), 20, "the local worker")
    coordinator.send_signal(signal.SIGINT)
    assert coordinator.wait(timeout=15) == 130
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive


CONN = (b"1565647204351 Aadvik Matina\n1565647205 quark garak\n1565647210000 quark Matina\n"
        b"bad line\n1565647209000 Aadvik quark\n")


def test_conn_log_over_zeromq_with_host_and_last(procs, base_port, tmp_path):
    from tests.test_conn import answers, report_of
    path = tmp_path / "connections.log"
    path.write_bytes(CONN * 50)
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "64",
                                            "--host", "quark", "--last", "5", str(path))
    assert status == 0, err
    assert report["format"] == "conn" and report["host"] == "quark"
    # SPEC §3 by hand for these five lines (x50): the window is 10:00:05.000-10:00:10.000 (ms)
    assert report["in_window"] == 150 and report["connected_to_host"] == {"Aadvik": 50}
    assert report["connected_from_host"] == {"Matina": 50, "garak": 50}
    assert report["top_sources"] == {"hosts": ["quark"], "connections": 100}
    assert answers(report) == answers(report_of(path.read_bytes(), 1 << 20, ("quark",), 5))


def test_app_and_conn_files_in_one_run_give_a_mixed_report(procs, base_port, tmp_path):
    (tmp_path / "a.log").write_bytes(open(os.path.join(LOGS, "normal.log"), "rb").read())
    (tmp_path / "b.log").write_bytes(CONN)
    status, report, err = procs.coordinator(base_port, "--local", "2", str(tmp_path))
    assert status == 0, err
    assert report["format"] == "mixed" and report["total_requests"] == 3000
    assert report["in_window"] == 3000 + 4 and report["top_sources"]["hosts"] == ["Aadvik", "quark"]
    # --last over both: the newest entry of all (normal.log ends in 2024, after the conn lines of 2019)
    status, last, err = procs.coordinator(base_port, "--local", "1", "--last", "30", str(tmp_path))
    assert status == 0, err
    assert last["window"]["end"] == report["last_timestamp"] and last["top_sources"]["connections"] == 0
    assert 0 < last["total_requests"] < 3000



@pytest.mark.parametrize("chunk", ["3KiB", "1MiB"])
def test_last_over_app_logs_equals_the_same_window_given_with_from_and_to(procs, base_port, chunk):
    from lograd.timestamps import parse_time_arg
    path = os.path.join(LOGS, "error_spike.log")
    status, last, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", chunk, "--last", "30", path)
    assert status == 0, err
    # SPEC §4: the window ends at the newest entry and is 30 s long, bounds inclusive
    newest = parse_time_arg(last["last_timestamp"])
    assert last["window"] == {"start": last["last_timestamp"][:11] + _clock(newest - 30_000),
                              "end": last["last_timestamp"]}
    status, fixed, err = procs.coordinator(base_port, "--local", "2", "--from", str((newest - 30_000) / 1000),
                                           "--to", str(newest / 1000), path)
    assert status == 0, err
    assert without_job(last) == without_job(fixed)
    assert 0 < last["in_window"] < last["entries"]
    # the end of the file was scanned, then every chunk read once: the newest entry was at the end
    file_chunks = -(-os.path.getsize(path) // {"3KiB": 3072, "1MiB": 1 << 20}[chunk])
    job = last["job"]
    assert job["window_rereads"] == 0 and job["scan_chunks"] == min(2, file_chunks)
    assert job["chunks"] == job["scan_chunks"] + file_chunks


def test_last_reads_again_when_the_newest_entry_is_not_at_the_end(procs, base_port, tmp_path):
    from tests.test_conn import answers, oracle
    lines = [f"{1565647000 + i} h{i % 7} h{i % 5}" for i in range(2000)]
    lines[3] = "1565650000000 late quark"  # the newest entry, near the start of the file
    path = tmp_path / "conn.log"
    path.write_text("\n".join(lines) + "\n")
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "2KiB",
                                            "--host", "quark", "--last", "3000", str(path))
    assert status == 0, err
    assert report["job"]["window_rereads"] == 1
    triples = [(1565647000000 + i * 1000, f"h{i % 7}", f"h{i % 5}") for i in range(2000)]
    triples[3] = (1565650000000, "late", "quark")
    assert answers(report) == oracle(triples, ("quark",), 3000)
    assert report["window"]["end"] == "2019-08-12T22:46:40.000"


def _clock(ms: int) -> str:
    from lograd.timestamps import format_ms
    return format_ms(ms)[11:]


def test_two_files_report_like_their_concatenation_in_any_order(procs, base_port, tmp_path):
    a, b = os.path.join(LOGS, "error_spike.log"), os.path.join(LOGS, "malformed.log")
    both = tmp_path / "both.log"
    both.write_bytes(open(a, "rb").read() + open(b, "rb").read())

    def comparable(report):
        report = without_job(report)
        for key in ("files", "files_formats", "malformed_samples", "unreadable_files"):
            report.pop(key)
        for rows in report["templates"].values():  # examples name a file and an offset in it
            for row in rows:
                row.pop("example")
        return report
    reports = []
    for paths in ([a, b], [b, a], [str(both)]):
        status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "8KiB", *paths)
        assert status == 0, err
        reports.append(comparable(report))
    assert reports[0] == reports[1] == reports[2]
    assert reports[0]["malformed_lines"] == 30  # malformed.log's, counted once


def test_workers_run_with_glibc_keeping_freed_memory(procs, base_port):
    """config.FREED_MEMORY_KEPT: read by glibc only when a process starts, so a worker started
    by hand re-runs itself once with it; the coordinator's forked --local workers are told by
    mallopt (keep_freed_memory, which must take both settings here) and are named lograd-worker."""
    from lograd.jobs.local import keep_freed_memory
    from lograd.config import FREED_MEMORY_KEPT

    def environment(pid: int) -> dict:
        try:
            raw = psutil.Process(pid).environ()
        except psutil.Error:
            return {}
        return {k: raw.get(k) for k in FREED_MEMORY_KEPT}
    worker = procs.watched("lograd-worker", "alice", "--coordinator", f"tcp://127.0.0.1:{base_port}", "--give-up", "30")
    wait_for(lambda: environment(worker.pid) == FREED_MEMORY_KEPT, 20, "the worker's environment")
    job = procs.watched("lograd-coordinator", "--port", str(free_base_port()), "--local", "1", "--follow",
                        os.path.join(LOGS, "normal.log"))
    wait_for(lambda: [c.pid for c in psutil.Process(job.pid).children() if c.name() == "lograd-worker"],
             20, "a local worker named lograd-worker")
    assert keep_freed_memory()


def test_a_local_worker_deaf_to_sigterm_is_killed_after_the_grace_and_reaped():
    """LocalWorkers.stop: SIGTERM, then SIGKILL once ``grace`` has passed (the forked worker's
    wait raises what Popen's does, with subprocess imported only then)."""
    from lograd.jobs.local import ForkedWorker, LocalWorkers
    ready_r, ready_w = os.pipe()
    child = os.fork()
    if child == 0:  # a worker that ignores SIGTERM (and never returns into pytest)
        try:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            os.write(ready_w, b"x")
            signal.pause()
        finally:
            os._exit(0)
    local = LocalWorkers()
    try:
        os.close(ready_w)
        assert os.read(ready_r, 1) == b"x"  # SIGTERM is ignored from here on
        worker = ForkedWorker(child)
        local.processes.append(worker)
        local.stop(grace=0.2)
        assert worker.returncode == -signal.SIGKILL and local.processes == []
    finally:
        os.close(ready_r)
        if worker_alive(child):
            os.kill(child, signal.SIGKILL)
            os.waitpid(child, 0)


def worker_alive(pid: int) -> bool:
    """Whether child ``pid`` is still unreaped."""
    try:
        return os.waitpid(pid, os.WNOHANG) == (0, 0)
    except ChildProcessError:
        return False


def test_a_file_name_that_is_not_utf8_is_read_and_named_in_valid_json(procs, base_port, tmp_path):
    """The name's bytes travel to the worker and back, and the report names the file so that
    a JSON reader gets the same Python name (it was a traceback in msgpack)."""
    name = os.fsdecode(b"caf\xe9.log")  # Latin-1 bytes: Python holds the 0xe9 as a surrogate
    (tmp_path / name).write_bytes(open(os.path.join(LOGS, "normal.log"), "rb").read())
    p = procs.start("lograd-coordinator", "--port", str(base_port), "--json", "--local", "1", str(tmp_path))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    report = json.loads(out.decode("utf-8"))  # strict: valid UTF-8
    assert report["files"] == [str(tmp_path / name)]
    assert report["entries"] == 3000  # normal.log's 3000 lines (test_vectors/expected)


def test_ports_among_the_ephemeral_ones_are_named_with_the_way_out(procs):
    """A coordinator whose ports lie in the kernel's ephemeral range says so (a local worker
    connecting before it listens may connect to itself: libzmq #4588); one below says nothing."""
    from lograd.net.transport import ephemeral_ports
    from tests.integration.conftest import _ports_free
    low, high = ephemeral_ports() or pytest.skip("no /proc/sys/net/ipv4/ip_local_port_range here")
    inside = next(p for p in range(low + 1000, high - 4, 7) if _ports_free(p, 4))
    normal = os.path.join(LOGS, "normal.log")
    for port, warned in ((inside, True), (free_base_port(), False)):
        status, _, err = procs.coordinator(port, "--workers", "1", "--join-timeout", "1", normal)
        assert status == 3, err  # (no worker: only the warning was wanted)
        assert ("among this machine's ephemeral ports" in err) == warned, err
        assert not warned or f"a --port below {low - 3} avoids it" in err
