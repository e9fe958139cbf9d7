"""Issue #7: CurveZMQ (only authorised workers, nothing readable on the wire), a warning
when listening beyond loopback unencrypted, and ``lograd-worker --root``."""
import os
import socket
import stat
import subprocess
import sys
import threading

import pytest
import zmq

from lograd.net import protocol
from lograd.net.protocol import Result
from tests.integration.conftest import BIN, LOGS, free_base_port, wait_for, without_job

pytestmark = pytest.mark.timeout(120)

NORMAL = os.path.join(LOGS, "normal.log")


def keys(tmp_path, *names: str) -> str:
    """A keys directory made by the real command."""
    directory = str(tmp_path / "keys")
    out = subprocess.run([sys.executable, os.path.join(BIN, "lograd-keys"), directory, *names],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return directory


def test_lograd_keys_makes_pairs_and_never_overwrites_a_secret(tmp_path):
    directory = keys(tmp_path)
    for name in ("coordinator", "worker"):
        assert os.path.exists(os.path.join(directory, f"{name}.key"))
        assert stat.S_IMODE(os.stat(os.path.join(directory, f"{name}.key_secret")).st_mode) == 0o600
    secret = open(os.path.join(directory, "worker.key_secret")).read()
    out = subprocess.run([sys.executable, os.path.join(BIN, "lograd-keys"), directory, "worker", "alice"],
                         capture_output=True, text=True, timeout=60)
    assert "worker.key_secret: kept" in out.stdout and "alice.key_secret: made" in out.stdout
    assert open(os.path.join(directory, "worker.key_secret")).read() == secret


def test_only_workers_with_an_authorised_key_get_work(procs, base_port, tmp_path):
    directory = keys(tmp_path)
    elsewhere = str(tmp_path / "mallory")  # a pair the coordinator does not know
    subprocess.run([sys.executable, os.path.join(BIN, "lograd-keys"), elsewhere, "mallory"], check=True,
                   capture_output=True, timeout=60)
    os.link(os.path.join(directory, "coordinator.key"), os.path.join(elsewhere, "coordinator.key"))
    url = f"tcp://127.0.0.1:{base_port}"
    mallory = procs.watched("lograd-worker", "mallory", "--coordinator", url, "--curve", elsewhere)
    procs.start("lograd-worker", "alice", "--coordinator", url, "--curve", directory)
    status, report, err = procs.coordinator(base_port, "--workers", "2", "--join-timeout", "4",
                                            "--chunk-size", "8KiB", "--curve", directory, NORMAL)
    assert status == 0, err
    assert list(report["job"]["workers"]) == ["alice"]  # mallory never got in ...
    assert "only 1 of 2 workers joined" in err
    wait_for(lambda: mallory.said("refused this worker's key"), 10, "mallory told why it cannot join")
    plain = procs.watched("lograd-worker", "plain", "--coordinator", url)  # no --curve at all
    status, report, err = procs.coordinator(base_port, "--workers", "2", "--join-timeout", "4",
                                            "--curve", directory, NORMAL)
    wait_for(lambda: plain.said("give this worker --curve DIR too"), 10, "the plain worker told why")
    assert status == 0 and list(report["job"]["workers"]) == ["alice"], err
    status, unencrypted, err = procs.coordinator(free_base_port(), "--local", "2", NORMAL)
    assert without_job(report) == without_job(unencrypted)  # ... and alice's report is the plain one


def test_a_peer_without_the_keys_can_neither_listen_nor_forge_results(procs, base_port, tmp_path):
    directory = keys(tmp_path)
    ctx = zmq.Context()
    spy = ctx.socket(zmq.SUB)  # tries to learn the job id from the coordinator's beats
    spy.setsockopt(zmq.SUBSCRIBE, b"")
    spy.connect(f"tcp://127.0.0.1:{base_port + protocol.BEATS}")
    forger = ctx.socket(zmq.PUSH)
    forger.connect(f"tcp://127.0.0.1:{base_port + protocol.RESULTS}")
    stop = threading.Event()
    heard = []

    def attack():
        bogus = {"n": [10**6, 10**6, 0, 0, 10**6, 10**6]}
        while not stop.is_set():
            if spy.poll(10):
                heard.append(spy.recv_multipart())
            for chunk in range(20):  # results for every chunk id, any job
                try:
                    forger.send_multipart(protocol.encode(Result("x", chunk, 1, "mallory", 0.0, bogus)),
                                          flags=zmq.NOBLOCK)
                except zmq.Again:  # no peer takes it: the handshake keeps failing
                    pass

    thread = threading.Thread(target=attack, daemon=True)
    thread.start()
    try:
        status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "16KiB",
                                                "--curve", directory, NORMAL)
    finally:
        stop.set()
        thread.join(timeout=10)
        ctx.destroy(linger=0)
    assert status == 0, err
    assert heard == [] and report["total_requests"] == 3000 and report["job"]["late_results"] == 0


class Relay:
    """A man in the middle on loopback: forwards four ports and keeps every byte that passes."""

    def __init__(self, listen_base: int, target_base: int) -> None:
        self.seen = bytearray()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listeners = []
        for offset in range(4):
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", listen_base + offset))
            server.listen()
            server.settimeout(0.1)
            self._listeners.append(server)
            threading.Thread(target=self._accept, args=(server, target_base + offset), daemon=True).start()

    def _accept(self, server: socket.socket, port: int) -> None:
        while not self._stop.is_set():
            try:
                client, _ = server.accept()
            except (socket.timeout, OSError):
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", port))
            except OSError:  # the coordinator is not listening yet: the worker will retry
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    self.seen += data
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        for server in self._listeners:
            server.close()


@pytest.mark.parametrize("curve", [False, True])
def test_what_crosses_the_wire_is_unreadable_with_curve(procs, base_port, tmp_path, curve):
    directory = keys(tmp_path)
    relay_base = free_base_port()
    while abs(relay_base - base_port) < 4:
        relay_base = free_base_port()
    relay = Relay(relay_base, base_port)
    try:
        extra = ["--curve", directory] if curve else []
        # heartbeats every 50 ms: the job is over in a fraction of a second, and the control
        # needs one to have crossed (a PUB drops what it sends before its connection is up)
        procs.start("lograd-worker", "alice", "--coordinator", f"tcp://127.0.0.1:{relay_base}",
                    "--heartbeat", "0.05", *extra)
        status, report, err = procs.coordinator(base_port, "--workers", "1", *extra, NORMAL)
        assert status == 0 and report["total_requests"] == 3000, err
    finally:
        relay.close()
    seen = bytes(relay.seen)
    assert len(seen) > 1000  # the whole job went through the relay
    plain = [protocol.VERSION, b"assign", b"heartbeat", NORMAL.encode(), b"alice"]
    if curve:
        assert not [p for p in plain if p in seen]
    else:  # the control: the same traffic unencrypted shows all of it
        assert all(p in seen for p in plain)


def test_listening_beyond_loopback_without_curve_warns(procs, base_port, tmp_path):
    status, report, err = procs.coordinator(base_port, "--local", "1", "--bind", "0.0.0.0", NORMAL)
    assert status == 0 and "listening on 0.0.0.0 without encryption" in err and "--curve" in err
    status, report, err = procs.coordinator(free_base_port(), "--local", "1", NORMAL)
    assert status == 0 and "without encryption" not in err


def test_a_worker_refuses_files_outside_its_roots_even_through_a_symlink(procs, base_port, tmp_path):
    root = tmp_path / "allowed"
    root.mkdir()
    inside = root / "app.log"
    inside.write_bytes(open(NORMAL, "rb").read())
    outside = tmp_path / "secret.log"
    outside.write_bytes(open(NORMAL, "rb").read())
    (root / "escape.log").symlink_to(outside)  # looks inside, is not
    url = f"tcp://127.0.0.1:{base_port}"
    worker = procs.watched("lograd-worker", "alice", "--coordinator", url, "--root", str(root))
    status, report, err = procs.coordinator(base_port, "--workers", "1", str(inside))
    assert status == 0 and report["total_requests"] == 3000, err
    for path in (outside, root / "escape.log"):
        status, report, err = procs.coordinator(base_port, "--workers", "1", "--max-attempts", "2", str(path))
        assert status == 1 and report["total_requests"] == 0, (path, err, worker.err_lines)
        assert report["job"]["failed_chunks"] and all("--root" in c["reason"]
                                                       for c in report["job"]["failed_chunks"])
        wait_for(lambda: worker.said(f"refused chunk {path}"), 10, "the worker saying it refused")
