"""Issue #7: anything sent to lograd's ports, and any file given to it, gives a clear
message or counted malformed lines — never a hang, a traceback or a wrong report."""
import os
import random
import shutil
import subprocess
import sys
import threading
import time

import msgpack
import pytest
import zmq

from lograd.net import protocol
from lograd.generate import generate_test_logs
from lograd.net.protocol import (Assign, Beat, Failure, Heartbeat, Hello, Release, Result)
from tests.integration.conftest import BIN, LOGS, ROOT, Running, free_base_port, listening, wait_for, without_job

pytestmark = pytest.mark.timeout(150)

FUZZ_SECONDS = 4.0


def samples() -> list:
    """One well-formed message of every kind, with fields nobody would send."""
    return [Hello("fuzz", "no-such-instance", 3), Release("no-such-job", [[1, 1]]),
            Assign("j", 1, 1, "/etc/passwd", 0, 0, 10, "app", None, None, [], 0, 0),
            Result("no-such-job", 0, 1, "fuzz", 0.1, {"n": []}), Failure("no-such-job", 0, 1, "fuzz", "x"),
            Heartbeat("fuzz", "fuzz.1", 0, float("nan"), float("inf"), -1.0), Beat("x", "y", 5)]


def garbage(rng: random.Random) -> list[bytes]:
    """Frames a hostile or broken peer might send."""
    message = rng.choice(samples())
    frames = protocol.encode(message)
    kind = rng.randrange(10)
    if kind == 0:  # random bytes, any number of frames
        return [rng.randbytes(rng.randrange(0, 200)) for _ in range(rng.randrange(1, 5))]
    if kind == 1:  # a real message cut short
        body = frames[2]
        return [frames[0], frames[1], body[:rng.randrange(len(body))]]
    if kind == 2:  # a known kind, a random msgpack body
        value = rng.choice([None, 1, "x", [1, 2], {"a": [b"b"]}, [0] * 20, 3.5, True])
        return [frames[0], frames[1], msgpack.packb(value)]
    if kind == 3:  # nesting deeper than any decoder's stack
        return [frames[0], frames[1], b"\x91" * 100_000 + b"\xc0"]
    if kind == 4:  # lengths that promise far more than is there
        return [frames[0], frames[1], b"\xdb\xff\xff\xff\xf0abc", b"\xdd\xff\xff\xff\xff"]
    if kind == 5:  # another protocol version, an unknown kind
        return [b"lograd/0", frames[1], frames[2]] if rng.random() < 0.5 else [frames[0], b"explode", frames[2]]
    if kind == 6:  # the right fields with the wrong types
        fields = msgpack.unpackb(frames[2])
        return [frames[0], frames[1], msgpack.packb([[f] for f in fields])]
    if kind == 7:  # a Result whose partial is hostile
        partial = rng.choice([{"n": [1] * 6, "samples": [[0, 0, "x"]] * 3, "span": [1, 2], "levels": {"X": -1}},
                              {"n": ["a"]}, {"seconds": [[[0, 99999, b"x" * 7]], []]}, {}])
        return protocol.encode(Result("no-such-job", 0, 1, "fuzz", float("nan"), partial))
    return frames  # well-formed, but of a kind or a job this socket does not expect


class Fuzzer:
    """Sends garbage to every socket of a coordinator at ``port`` from its own thread."""

    def __init__(self, port: int, seconds: float, seed: int = 7) -> None:
        self.ctx = zmq.Context()
        self.sent = 0
        self._stop = threading.Event()
        self._rng = random.Random(seed)
        self._sockets = []
        for kind, offset in ((zmq.DEALER, protocol.TASKS), (zmq.PUSH, protocol.RESULTS),
                             (zmq.PUB, protocol.HEARTBEATS)):
            sock = self.ctx.socket(kind)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, 100_000)
            sock.connect(f"tcp://127.0.0.1:{port + offset}")
            self._sockets.append(sock)
        self._deadline = time.monotonic() + seconds
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            for sock in self._sockets:
                try:
                    sock.send_multipart(garbage(self._rng), flags=zmq.NOBLOCK)
                    self.sent += 1
                except zmq.ZMQError:
                    pass
            time.sleep(0.0005)  # pacing the flood

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.ctx.destroy(linger=0)


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("logs") / "spike.log")
    generate_test_logs(4, path, "error_spike", seed=3)
    return path


def test_garbage_on_every_coordinator_socket_while_a_job_runs_changes_nothing(procs, base_port, log):
    status, clean, err = procs.coordinator(free_base_port(), "--local", "2", log)
    assert status == 0, err
    run = procs.watched("lograd-coordinator", "--port", str(base_port), "--local", "2", "--chunk-size", "8KiB",
                        "--json", log)
    wait_for(lambda: listening(run.pid, base_port + protocol.RESULTS), 30, "the coordinator listening")
    fuzzer = Fuzzer(base_port, FUZZ_SECONDS)
    try:
        status, report, err = run.finish(timeout=120)
    finally:
        fuzzer.close()
    assert status == 0, err
    assert without_job(report) == without_job(clean)  # exact, whatever was thrown at it
    assert fuzzer.sent > 100 and report["job"]["dropped_messages"] > 0
    assert "Traceback" not in err
    assert err.count("dropped") <= 2 + report["job"]["elapsed_seconds"] / 5  # notices, not a flood


def test_a_worker_survives_a_hostile_coordinator_then_serves_a_real_one(procs, base_port, tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    ctx = zmq.Context()
    router, pull, sub, pub = (ctx.socket(k) for k in (zmq.ROUTER, zmq.PULL, zmq.SUB, zmq.PUB))
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    for sock, offset in ((router, 0), (pull, 1), (sub, 2), (pub, 3)):
        sock.setsockopt(zmq.LINGER, 0)
        sock.bind(f"tcp://127.0.0.1:{base_port + offset}")
    worker = procs.watched("lograd-worker", "alice", "--coordinator", f"tcp://127.0.0.1:{base_port}")
    rng = random.Random(11)
    failures = []
    try:
        def hello():  # a valid beat makes the worker say Hello: now we know its identity
            pub.send_multipart(protocol.encode(Beat("evil", "job", 0)))
            if router.poll(50):
                return router.recv_multipart()[0]
        identity = wait_for(hello, 20, "the worker's Hello")
        hostile_tasks = [Assign("job", 1, 1, str(fifo), 0, 0, 100, "app", None, None, [], 0, 0),
                         Assign("job", 2, 1, "/dev/zero", 0, 0, 100, "app", None, None, [], 0, 0),
                         Assign("job", 3, 1, "/no/such/file", 0, 0, 100, "app", None, None, [], 0, 0),
                         Assign("job", 4, 1, os.path.join(LOGS, "normal.log"), 0, 10**12, 100, "app",
                                None, None, [], 0, 0)]
        for task in hostile_tasks:
            router.send_multipart([identity, *protocol.encode(task)])
        deadline = time.monotonic() + FUZZ_SECONDS
        while time.monotonic() < deadline:
            pub.send_multipart(garbage(rng))
            router.send_multipart([identity, *garbage(rng)])
            pub.send_multipart(protocol.encode(Beat("evil", "job", 0)))  # it keeps us as its coordinator
            while pull.poll(0):
                message = protocol.decode(pull.recv_multipart())
                if isinstance(message, Failure):
                    failures.append((message.chunk, message.reason))
            time.sleep(0.002)
        assert worker.popen.poll() is None, "".join(worker.err_lines)[-3000:]  # still running ...
        assert sub.poll(2000)  # ... and heartbeating
        assert {c for c, _ in failures} == {1, 2, 3, 4}, (failures, "".join(worker.err_lines)[-3000:])  # each hostile chunk refused, none hung it
        assert any("not a regular file" in why for _, why in failures)
    finally:
        ctx.destroy(linger=0)
    status, report, err = procs.coordinator(base_port, "--workers", "1", os.path.join(LOGS, "normal.log"))
    assert status == 0 and report["total_requests"] == 3000 and list(report["job"]["workers"]) == ["alice"], err
    assert "Traceback" not in "".join(worker.err_lines)


def test_hostile_files_give_messages_or_malformed_lines_and_the_rest_is_analysed(procs, base_port, tmp_path):
    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "inner.log").write_bytes(open(os.path.join(LOGS, "normal.log"), "rb").read())
    os.mkfifo(folder / "pipe")  # skipped inside a directory: not a regular file
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    binary = tmp_path / "binary.bin"
    binary.write_bytes(random.Random(5).randbytes(1 << 20))
    long_line = tmp_path / "long.log"
    with open(long_line, "wb") as f:
        f.write(b"2024-01-24 10:15:32.123 INFO " + b"x" * (100 << 20) + b"\n")  # one 100 MiB line
        f.write(b"2024-01-24 10:15:33.000 ERROR after the long line\n")
    status, report, err = procs.coordinator(base_port, "--local", "2", str(folder), str(fifo), "/dev/zero",
                                            str(binary), str(long_line), timeout=120)
    assert status == 1, err  # a report, but some input could not be read (SPEC §4)
    unreadable = {u["file"]: u["reason"] for u in report["unreadable_files"]}
    assert unreadable == {str(fifo): "not a regular file", "/dev/zero": "not a regular file"}
    assert report["files"] == [str(folder / "inner.log"), str(binary), str(long_line)]
    expected_binary_lines = open(binary, "rb").read().count(b"\n") + 1
    assert report["lines"] == 3000 + expected_binary_lines + 2
    assert report["entries"] == 3000 + 1 and report["errors"] == 1  # the line after the long one
    assert report["malformed_lines"] + report["blank_lines"] == expected_binary_lines + 1
    assert "Traceback" not in err
    assert all(w["peak_rss_mb"] < 200 for w in report["job"]["workers"].values())  # never held whole


def test_a_file_without_read_permission_is_reported_and_the_rest_analysed(procs, base_port, tmp_path):
    readable, secret = tmp_path / "ok.log", tmp_path / "secret.log"
    for path in (readable, secret):
        path.write_bytes(open(os.path.join(LOGS, "normal.log"), "rb").read())
    secret.chmod(0)
    prefix = []
    if os.geteuid() == 0:  # root reads anything: run lograd without the capabilities that let it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without util-linux's setpriv: no way to be denied a read")
        drop = "-dac_override,-dac_read_search"
        prefix = [setpriv, f"--inh-caps={drop}", f"--bounding-set={drop}"]
    popen = subprocess.Popen(
        [*prefix, sys.executable, os.path.join(BIN, "lograd-coordinator"), "--port", str(base_port),
         "--local", "1", "--json", str(readable), str(secret)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT)
    procs.started.append(popen)
    status, report, err = Running(popen).finish(timeout=60)
    assert status == 1, err
    assert report["unreadable_files"] == [{"file": str(secret), "reason": "Permission denied"}]
    assert report["total_requests"] == 3000 and "Traceback" not in err
