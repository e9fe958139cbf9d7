"""The assessment's Python API as its tests use it: ``Coordinator(port=P)`` and ``await
coordinator.start()``, ``Worker("worker1", "localhost:P")`` and ``await worker.start()``,
then ``await coordinator.process_file(path)`` — on the bundled normal.log and malformed.log
(the assessment's figures, as tests/test_vectors.py states them), and with a worker failing
mid-job. Real ZeroMQ sockets on free loopback ports; the workers run in threads of this
process, as the API starts them."""
from __future__ import annotations

import asyncio
import math
import os
import time

import pytest

from lograd import Coordinator, Worker
from lograd.aggregate import Partial
from lograd.generate import generate_test_logs
from tests.integration.conftest import LOGS, free_base_port, without_job

pytestmark = pytest.mark.timeout(120)


async def until(condition, timeout: float, what: str) -> None:
    """Wait (without blocking the event loop) until ``condition()`` holds, or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def analyse(path: str, url_of, workers=("worker1",), **options) -> dict:
    """The assessment's sequence: start the coordinator, start the workers, process the file."""
    port = free_base_port()
    coordinator = Coordinator(port=port, **options)
    await coordinator.start()
    started = [Worker(name, url_of(port)) for name in workers]
    try:
        for worker in started:
            await worker.start()
        return await coordinator.process_file(path)
    finally:
        for worker in started:
            await worker.close()


def test_normal_log_through_the_api_with_a_host_port_address():
    report = asyncio.run(analyse(os.path.join(LOGS, "normal.log"), lambda p: f"localhost:{p}"))
    # the assessment: total_requests 3000, requests_per_second 50.0, avg 109.0 (1%), error_rate 0.0
    assert report["total_requests"] == 3000
    assert report["requests_per_second"] == 50.0
    assert math.isclose(report["avg_response_time"], 109.0, rel_tol=0.01)
    assert report["error_rate"] == 0.0
    assert list(report["job"]["workers"]) == ["worker1"]


def test_malformed_log_through_the_api_with_an_http_address():
    # the seed README starts workers with --coordinator http://localhost:8000
    report = asyncio.run(analyse(os.path.join(LOGS, "malformed.log"), lambda p: f"http://localhost:{p}"))
    assert report["malformed_lines"] == 30  # the assessment's figures
    assert report["total_requests"] == 200


def test_a_worker_failing_mid_job_leaves_the_report_unchanged(tmp_path, capfd):
    path = str(tmp_path / "app.log")
    generate_test_logs(40, path, "error_spike", seed=5)  # long enough that the failure falls mid-job
    fault_free = asyncio.run(analyse(path, lambda p: f"tcp://127.0.0.1:{p}", chunk_size=64 << 10))

    async def failing() -> dict:
        port = free_base_port()
        coordinator = Coordinator(port=port, workers_wanted=2, chunk_size=64 << 10)
        await coordinator.start()
        worker1, worker2 = Worker("worker1", f"localhost:{port}"), Worker("worker2", f"localhost:{port}")
        try:
            await worker1.start()
            await worker2.start()
            job = asyncio.create_task(coordinator.process_file(path))
            await until(lambda: worker1.chunks_done >= 1 or job.done(), 60, "worker1 to finish a chunk")
            assert not job.done(), "the job ended before the failure: make the log bigger"
            await coordinator.handle_worker_failure("worker1")  # declared failed, and it stops
            await worker1.close()
            return await job
        finally:
            await worker1.close()
            await worker2.close()

    report = asyncio.run(failing())
    assert without_job(report) == without_job(fault_free)
    assert report["job"]["failed_chunks"] == []
    # worker1's lease ended mid-job, by the declaration, by its connection closing or by a send
    # to it finding it gone, whichever the coordinator saw first; what it held at that instant
    # (0 or more chunks) went back
    err = capfd.readouterr().err
    assert any(f"worker worker1 {how}" in err for how in ("declared failed;", "lost its connection", "unreachable;")), err
    assert report["job"]["workers"]["worker2"]["chunks"] > 0


def test_process_chunk_and_report_health_leave_the_event_loop_free():
    # A coroutine that never gives the loop back would finish before a task created after it
    # gets to run; one that reads in a thread lets that task run first, however fast the read.
    path = os.path.join(LOGS, "normal.log")
    worker = Worker("worker1", "localhost:5555")

    async def main() -> list[str]:
        order: list[str] = []

        async def chunk():
            partial = await worker.process_chunk(path, 0, os.path.getsize(path))
            assert Partial.from_wire(partial).entries == 3000
            order.append("chunk")

        async def health():
            assert (await worker.report_health())["chunks_done"] >= 0
            order.append("health")

        async def other():
            order.append("other")

        for work in (chunk, health):
            task = asyncio.create_task(work())
            await asyncio.gather(task, asyncio.create_task(other()))
        return order

    assert asyncio.run(main()) == ["other", "chunk", "other", "health"]


@pytest.mark.parametrize("given, expected", [
    ("localhost:5600", "tcp://localhost:5600"),
    ("tcp://10.0.0.5:5600", "tcp://10.0.0.5:5600"),
    ("http://localhost:8000", "tcp://localhost:8000"),
    ("http://localhost:8000/", "tcp://localhost:8000"),
])
def test_coordinator_addresses_people_write_all_connect_over_tcp(given, expected):
    assert Worker("w", given).coordinator_url == expected


@pytest.mark.parametrize("given", ["localhost", "ftp://h:1", "tcp://h:port", "h:0", "h:70000", ":5600"])
def test_a_coordinator_address_that_is_not_one_is_refused(given):
    with pytest.raises(ValueError, match="not a coordinator address"):
        Worker("w", given)


def test_start_says_at_once_when_the_ports_are_taken():
    port = free_base_port()

    async def main():
        import zmq
        ctx = zmq.Context()
        taken = ctx.socket(zmq.PULL)
        try:
            taken.bind(f"tcp://127.0.0.1:{port + 1}")
            with pytest.raises(OSError, match=f"cannot listen on 127.0.0.1 ports {port}-{port + 3}"):
                await Coordinator(port=port).start()
        finally:
            taken.close(linger=0)
            ctx.destroy(linger=0)
    asyncio.run(main())
