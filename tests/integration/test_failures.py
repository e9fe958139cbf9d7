"""Workers that die, hang, leave or come back late: the report equals the fault-free one.

Three named workers each time, real signals (SIGKILL, SIGSTOP/SIGCONT,
SIGTERM). "Mid-job" is a condition, not a sleep: the victim (``--verbose``)
has said it finished a chunk, and afterwards the test checks that the failure
really touched the job (chunks were retried). Small chunks keep the job long
(hundreds of chunks) next to the test's reaction time.
"""
import os
import signal

import pytest

from lograd.generate import generate_test_logs
from tests.integration.conftest import (Processes, free_base_port, listening, wait_for,
                                        without_job)

pytestmark = pytest.mark.timeout(150)

CHUNK = "64KiB"
FAST = ("--heartbeat", "0.5", "--liveness", "3")


@pytest.fixture(scope="module")
def big_log(tmp_path_factory):
    """A 40 MB log (about 600 chunks of 64 KiB)."""
    path = str(tmp_path_factory.mktemp("logs") / "big.log")
    generate_test_logs(40, path, "error_spike", seed=11)
    return path


@pytest.fixture(scope="module")
def fault_free(big_log, tmp_path_factory):
    """The report of a run where nothing goes wrong (two local workers)."""
    procs = Processes()
    try:
        port = free_base_port()
        status, report, err = procs.coordinator(port, "--local", "2", "--chunk-size", CHUNK, big_log,
                                                timeout=120)
        assert status == 0, err
        assert report["job"]["retried_chunks"] == 0
        return without_job(report)
    finally:
        procs.reap()


def start_workers(procs, port, *names, give_up="60"):
    url = f"tcp://127.0.0.1:{port}"
    return {n: procs.watched("lograd-worker", n, "--coordinator", url, "--give-up", give_up,
                             "--verbose", *FAST)
            for n in names}


def start_job(procs, port, log, workers=3, timers=FAST):
    return procs.watched("lograd-coordinator", "--port", str(port), "--json", "--workers", str(workers),
                         "--chunk-size", CHUNK, *timers, log)


def declared_dead(job, name):
    """Whether the coordinator gave up on worker ``name``: its connection closed (a process
    that ended), its heartbeats stopped, or a chunk could not be sent to it."""
    return any(job.said(f"worker {name} {why}") for why in ("lost its connection", "stopped answering",
                                                            "unreachable"))


def busy(worker):
    wait_for(lambda: worker.said(" did chunk "), 60, "the worker to finish a chunk")


def test_sigkill_one_worker_mid_job(procs, base_port, big_log, fault_free):
    workers = start_workers(procs, base_port, "alice", "bob", "charlie")
    job = start_job(procs, base_port, big_log)
    busy(workers["alice"])
    os.kill(workers["alice"].pid, signal.SIGKILL)
    wait_for(lambda: declared_dead(job, "alice"), 10, "alice declared dead")
    status, report, err = job.finish(120)
    assert status == 0, err
    assert without_job(report) == fault_free
    assert report["job"]["retried_chunks"] >= 1 and report["job"]["failed_chunks"] == []


def test_a_killed_worker_is_known_by_its_closed_connection_not_its_missed_heartbeats(procs, base_port, big_log,
                                                                                   fault_free):
    """With --liveness 100 (50 s of missed heartbeats), only the connection the kernel closed
    can tell the coordinator of alice's death before the job's end: its socket's
    disconnection, or a chunk sent to her that ZeroMQ can no longer route (whichever the
    coordinator meets first)."""
    workers = start_workers(procs, base_port, "alice", "bob", "charlie")
    job = start_job(procs, base_port, big_log, 3, ("--heartbeat", "0.5", "--liveness", "100"))
    busy(workers["alice"])
    os.kill(workers["alice"].pid, signal.SIGKILL)
    wait_for(lambda: job.said("worker alice lost its connection") or job.said("worker alice unreachable"), 10,
             "alice's closed connection")
    status, report, err = job.finish(120)
    assert status == 0, err
    assert without_job(report) == fault_free and "stopped answering" not in err
    assert report["job"]["retried_chunks"] >= 1 and report["job"]["failed_chunks"] == []


def test_sigstop_then_sigcont_after_declared_dead(procs, base_port, big_log, fault_free):
    workers = start_workers(procs, base_port, "alice", "bob", "charlie")
    job = start_job(procs, base_port, big_log)
    busy(workers["bob"])
    os.kill(workers["bob"].pid, signal.SIGSTOP)
    try:
        wait_for(lambda: job.said("worker bob stopped answering"), 10, "bob declared dead")
    finally:
        os.kill(workers["bob"].pid, signal.SIGCONT)
    status, report, err = job.finish(120)
    assert status == 0, err
    assert without_job(report) == fault_free  # bob's late results were not counted twice
    assert report["job"]["retried_chunks"] >= 1
    assert workers["bob"].popen.poll() is None  # bob survived and serves on


def test_kill_every_worker_then_start_new_ones(procs, base_port, big_log, fault_free):
    workers = start_workers(procs, base_port, "alice", "bob", "charlie")
    job = start_job(procs, base_port, big_log)
    busy(workers["charlie"])
    for w in workers.values():
        os.kill(w.pid, signal.SIGKILL)
    for name in workers:
        wait_for(lambda: declared_dead(job, name), 10, f"{name} declared dead")
    start_workers(procs, base_port, "dave", "erin")
    status, report, err = job.finish(120)
    assert status == 0, err
    assert without_job(report) == fault_free
    assert {"dave", "erin"} <= set(report["job"]["workers"])


def test_sigterm_worker_finishes_its_chunk_and_hands_back_the_rest(procs, base_port, big_log, fault_free):
    workers = start_workers(procs, base_port, "alice", "bob", "charlie")
    job = start_job(procs, base_port, big_log)
    busy(workers["alice"])
    workers["alice"].popen.send_signal(signal.SIGTERM)
    assert workers["alice"].popen.wait(timeout=15) == 0
    status, report, err = job.finish(120)
    assert status == 0, err
    assert without_job(report) == fault_free
    assert report["job"]["failed_chunks"] == []


@pytest.mark.parametrize("damage", ["delete", "truncate"])
def test_a_chunk_that_always_fails_is_quarantined_and_the_rest_reported(procs, base_port, tmp_path, damage):
    victim = tmp_path / "victim.log"
    healthy = tmp_path / "healthy.log"
    generate_test_logs(0.2, str(victim), seed=1)
    generate_test_logs(0.2, str(healthy), seed=2)
    job = procs.watched("lograd-coordinator", "--port", str(base_port), "--json", "--workers", "1",
                        "--chunk-size", "1MiB", str(healthy), str(victim))
    wait_for(lambda: listening(job.pid, base_port), 20, "the coordinator to plan the job and listen")
    if damage == "delete":
        victim.unlink()
    else:
        victim.write_bytes(b"")
    start_workers(procs, base_port, "alice")
    status, report, err = job.finish(60)
    assert status == 1
    [failed] = report["job"]["failed_chunks"]
    assert failed["file"] == str(victim) and failed["start"] == 0
    reason = "No such file or directory" if damage == "delete" else "file shrank to 0 bytes"
    assert reason in failed["reason"] and reason in err
    assert report["entries"] > 0 and "Traceback" not in err


def test_workers_do_not_hang_when_the_coordinator_is_killed(procs, base_port, big_log):
    # the coordinator first: workers that give up after 2 s must not give up before it starts
    job = start_job(procs, base_port, big_log)
    wait_for(lambda: listening(job.pid, base_port), 20, "the coordinator to plan the job and listen")
    workers = start_workers(procs, base_port, "alice", "bob", "charlie", give_up="2")
    busy(workers["alice"])
    os.kill(job.pid, signal.SIGKILL)
    for name, w in workers.items():
        status, _, err = w.finish(timeout=20)
        assert status == 1, name
        assert "went silent" in err and "no coordinator" in err, err


def test_a_worker_busy_on_one_long_chunk_does_not_take_the_coordinator_for_gone(procs, base_port, tmp_path):
    # A gzip file is one chunk: reading it takes far longer than the worker's patience with a
    # silent coordinator (3 x 0.03 s here). The beats that came meanwhile are read before
    # silence is judged (they used to be read after, and the worker dropped its queue).
    import gzip
    plain = tmp_path / "big.log"
    generate_test_logs(100, str(plain), "error_spike", seed=4)
    with open(plain, "rb") as src, gzip.open(tmp_path / "big.log.gz", "wb", compresslevel=1) as dst:
        dst.write(src.read())
    fast = ("--heartbeat", "0.03", "--liveness", "3")
    worker = procs.watched("lograd-worker", "alice", "--coordinator", f"tcp://127.0.0.1:{base_port}", "--verbose", *fast)
    status, report, err = procs.coordinator(base_port, "--workers", "1", *fast, str(tmp_path / "big.log.gz"),
                                            timeout=120)
    assert status == 0, err
    took = [line for line in worker.err_lines if " did chunk " in line]
    # the premise (about 230 ms here in December 2026): longer than the worker's patience, else
    # nothing is tested
    assert took and float(took[0].split(" in ")[1].split()[0]) > 90, "the chunk took longer than the patience"
    assert not worker.said("went silent"), "".join(worker.err_lines)
    assert report["job"]["retried_chunks"] == 0 and report["job"]["late_results"] == 0
