"""Real processes on real loopback ports, always reaped, waited on with deadlines."""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest

from lograd.net.transport import ephemeral_ports

# A shell starts a background job (`make test &`, nohup) with SIGINT ignored, and an ignored
# signal stays ignored in every child: the Ctrl-C tests would then test nothing a user sees.
# A handler of our own is not inherited, so the processes we start get SIGINT's default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(ROOT, "bin")
LOGS = os.path.join(ROOT, "test_vectors", "logs")


def _ports_free(base: int, count: int) -> bool:
    for port in range(base, base + count):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def free_base_port() -> int:
    """A base port whose four ports (P..P+3) are free now, below the ephemeral range: a
    worker started before its coordinator keeps connecting to those ports, and a connection
    to a port of that range can be given the same port as its own and connect to itself
    (TCP's simultaneous open), which then holds the port the coordinator was to bind."""
    import random
    high = (ephemeral_ports() or (32768, 60999))[0] - 4
    for _ in range(200):
        port = random.randrange(20000, high)
        if _ports_free(port, 4):
            return port
    pytest.fail("no four free consecutive loopback ports")


@pytest.fixture
def base_port() -> int:
    return free_base_port()


def wait_for(condition, timeout: float, what: str, step: float = 0.05):
    """Poll ``condition`` until it returns something true, or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(step)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


class Running:
    """A process whose stdout and stderr are drained by threads (a full pipe never stalls it)."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.out = bytearray()
        self.err_lines: list[str] = []
        self._threads = [threading.Thread(target=self._pump_out, daemon=True),
                         threading.Thread(target=self._pump_err, daemon=True)]
        for t in self._threads:
            t.start()

    def _pump_out(self) -> None:
        for chunk in iter(lambda: self.popen.stdout.read1(65536), b""):  # what is there, at once
            self.out += chunk

    def _pump_err(self) -> None:
        for line in self.popen.stderr:
            self.err_lines.append(line.decode(errors="replace"))

    def said(self, text: str) -> bool:
        """Whether any stderr line so far contains ``text``."""
        return any(text in line for line in list(self.err_lines))

    def finish(self, timeout: float = 60) -> tuple[int, dict | None, str]:
        """Wait for the end: (exit status, JSON report or None, stderr)."""
        try:
            status = self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"process gave no result within {timeout} s")
        for t in self._threads:
            t.join(timeout=10)
        report = json.loads(bytes(self.out)) if self.out.strip() else None
        return status, report, "".join(self.err_lines)


def listening(pid: int, port: int) -> bool:
    """Whether process ``pid`` listens on TCP ``port`` (the coordinator has planned and bound)."""
    try:
        return any(c.laddr and c.laddr.port == port and c.status == psutil.CONN_LISTEN
                   for c in psutil.Process(pid).net_connections(kind="tcp"))
    except psutil.Error:
        return False


class Processes:
    """Starts lograd processes; ``reap`` kills whatever is left, children included."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen] = []

    def start(self, command: str, *args: str, **kw) -> subprocess.Popen:
        kw.setdefault("stdin", subprocess.DEVNULL)
        p = subprocess.Popen([sys.executable, os.path.join(BIN, command), *args],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, **kw)
        self.started.append(p)
        return p

    def watched(self, command: str, *args: str) -> Running:
        """Start a process in the background with its output drained and watchable."""
        return Running(self.start(command, *args))

    def coordinator(self, port: int, *args: str, timeout: float = 60,
                    stdin: bytes | None = None) -> tuple[int, dict | None, str]:
        """Run a coordinator to the end, ``stdin`` written to its standard input:
        (exit status, JSON report or None, stderr)."""
        p = self.start("lograd-coordinator", "--port", str(port), "--json", *args,
                       **({} if stdin is None else {"stdin": subprocess.PIPE}))
        try:
            out, err = p.communicate(input=stdin, timeout=timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"coordinator gave no report within {timeout} s")
        report = json.loads(out) if out.strip() else None
        return p.returncode, report, err.decode(errors="replace")

    def reap(self) -> None:
        for p in self.started:
            try:  # children first: once their parent is gone they are harder to find
                family = psutil.Process(p.pid).children(recursive=True)
            except psutil.Error:
                family = []
            for proc in family:
                try:
                    proc.kill()
                except psutil.Error:
                    pass
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=10)
            except (subprocess.TimeoutExpired, ValueError):
                pass
            psutil.wait_procs(family, timeout=5)


@pytest.fixture
def procs():
    processes = Processes()
    try:
        yield processes
    finally:
        processes.reap()


def without_job(report: dict) -> dict:
    """Everything the SPEC says must not depend on chunking or workers."""
    return {k: v for k, v in report.items() if k != "job"}


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """iproute2's ``ip`` (network namespaces, veth pairs), within a deadline."""
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=check)


def namespaced(procs: Processes, make, tools: tuple[str, ...] = ("ip",)):
    """Yield ``make()`` (which sets up network namespaces, with a ``remove()``), skipping
    the test where they are not allowed; every process is reaped before they go."""
    if os.geteuid() != 0 or not all(shutil.which(t) for t in tools):
        pytest.skip(f"separate hosts need root and {', '.join(tools)} (network namespaces)")
    try:
        made = make()
    except subprocess.CalledProcessError as exc:
        pytest.skip(f"network namespaces are not allowed here: {exc.stderr.strip()}")
    try:
        yield made
    finally:
        procs.reap()  # before the namespaces go: no process may outlive its host
        made.remove()


def start_in(procs: Processes, argv: list[str]) -> Running:
    """Start ``argv`` (a lograd command wrapped in ``ip netns exec`` ...) watched and reaped."""
    popen = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, cwd=ROOT)
    procs.started.append(popen)
    return Running(popen)

