"""One job's four sockets and the thin loop that serves them (see :mod:`lograd.jobs.core`)."""
from __future__ import annotations

import queue
import sys
import threading
import time
from typing import TYPE_CHECKING, Callable

import zmq

from ..net import transport
from ..net.protocol import BEATS, HEARTBEATS, RESULTS, TASKS, Beat, Failure, Heartbeat, Hello, Listing, ProtocolError, Release, Result
from ..net.security import exposed, start_authenticator
from ..errors import NoWorkers
from ..outputs.report import Progress
from ..sysstats import seconds_since_start
from .core import Ask, BeatNow, ConnectionLost, Declared, Drop, GiveUp, Hand, JobCore, Received, Say, Tick, Unreachable
from .local import LocalWorkers
from .plan import say

if TYPE_CHECKING:
    from ..coordinator import Coordinator

OPEN_FILES = 65536
"""Open files a coordinator asks for: each worker holds four TCP connections to it, and the
usual soft limit (1024) would stop a fleet at about 250 workers."""


def more_open_files() -> None:
    """Raise this process's soft limit of open files towards OPEN_FILES (up to the hard limit)."""
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES if hard == resource.RLIM_INFINITY else min(OPEN_FILES, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass  # kept as it is: the README says how to raise it


class JobSockets:
    """One job's four sockets and the thin loop that serves them: what arrives becomes an
    event for the :class:`~lograd.jobs.core.JobCore`, and what it decides is carried out
    here (sent, said, counted, or raised as NoWorkers)."""

    def __init__(self, coord: Coordinator, ctx: zmq.Context, core: JobCore | None = None) -> None:
        """Listen on the four ports; the job is ``core``, or the one :meth:`attach` gives
        once planned (meanwhile what workers send waits in the sockets)."""
        more_open_files()
        self.coord = coord
        self.core = core
        self.started = time.monotonic()
        self.elapsed = 0.0
        self.first_chunk_after: float | None = None  # seconds from the command to the first chunk handed out
        self.local: LocalWorkers | None = None  # watched when no worker from elsewhere is awaited
        self.progress = Progress(enabled=coord.progress)
        self.drops = transport.DropNotices(say)  # messages dropped as garbage or out of place
        self.auth = None  # the CURVE authenticator (--curve)
        host, port, curve = f"tcp://{coord.bind}", coord.port, coord.curve
        if curve is not None:  # before binding: every CURVE handshake asks it
            self.auth = start_authenticator(ctx, coord.curve_dir)
        elif exposed(coord.bind):
            say(f"listening on {coord.bind} without encryption: anyone who reaches ports "
                f"{port}-{port + 3} can join as a worker, send results and read what it is sent; "
                f"use --curve DIR (README, Security)")
        ephemeral = transport.ephemeral_ports()
        if ephemeral is not None and port <= ephemeral[1] and port + 3 >= ephemeral[0]:
            say(f"ports {port}-{port + 3} are among this machine's ephemeral ports ({ephemeral[0]}-{ephemeral[1]}): "
                f"a worker here that connects before the coordinator listens may connect to itself and "
                f"then never retry (libzmq #4588); a --port below {ephemeral[0] - 3} avoids it")
        self.sockets: dict[str, zmq.Socket] = {}
        try:
            for name, kind, offset in (("tasks", zmq.ROUTER, TASKS), ("results", zmq.PULL, RESULTS),
                                       ("heartbeats", zmq.SUB, HEARTBEATS), ("beats", zmq.PUB, BEATS)):
                self.sockets[name] = transport.open_socket(ctx, kind, f"{host}:{port + offset}", True, curve=curve)
        except zmq.ZMQError as exc:
            self.close()
            raise OSError(f"cannot listen on {coord.bind} ports {port}-{port + 3}: {exc}") from None
        self.connections = transport.Connections(self.sockets["tasks"])
        self.poller = zmq.Poller()
        for name in ("tasks", "results", "heartbeats"):
            self.poller.register(self.sockets[name], zmq.POLLIN)
        self.poller.register(self.connections.monitor, zmq.POLLIN)

    @staticmethod
    def check_ports(ctx: zmq.Context, bind: str, port: int) -> None:
        """Raise OSError (as a job would) unless ports ``port``..``port + 3`` can be bound."""
        sockets = []
        try:
            for offset in (TASKS, RESULTS, HEARTBEATS, BEATS):
                sock = ctx.socket(zmq.PULL)
                sock.setsockopt(zmq.LINGER, 0)
                sockets.append(sock)
                sock.bind(f"tcp://{bind}:{port + offset}")
        except zmq.ZMQError as exc:
            raise OSError(f"cannot listen on {bind} ports {port}-{port + 3}: {exc}") from None
        finally:
            for sock in sockets:
                sock.close(linger=0)

    def serve(self, done: Callable[[float], bool], wake_at: float | None = None) -> None:
        """Poll and tick until ``done(now)``; ``wake_at`` (monotonic) is a time at which
        ``done`` may change without a message arriving."""
        core = self.core
        while not done(time.monotonic()):
            now = time.monotonic()
            wake = core.next_wake(now) if wake_at is None else min(core.next_wake(now), wake_at)
            ready = dict(self.poller.poll(int(max(0.0, wake - now) * 1000) + 1))
            now = time.monotonic()
            events: list = []
            if self.sockets["tasks"] in ready:
                events += self._received("tasks", (Hello, Release, Listing), routed=True)
            events += [ConnectionLost(s.decode("utf-8", "replace")) for s in self.connections.take_lost()]
            if self.sockets["results"] in ready:
                events += self._received("results", (Result, Failure))
            if self.sockets["heartbeats"] in ready:
                events += self._received("heartbeats", (Heartbeat,))
            events += self._declared()
            events.append(Tick(self._local_exits()))
            for event in events:
                self.carry_out(core.handle(event, now), now)
            self.progress.update(core.bytes_done, core.total_bytes, now - self.started,
                                 core.dispatcher.workers_alive())

    def carry_out(self, actions: list, now: float) -> None:
        """Do what the core decided. A send that fails is an Unreachable event at once (its
        chunks requeued); the rest of this batch skips that worker."""
        unreachable: set[str] = set()
        for action in actions:
            if isinstance(action, Hand):
                if action.session in unreachable:
                    continue
                if transport.send(self.sockets["tasks"], action.assign, to=action.session.encode()):
                    if self.first_chunk_after is None:
                        self.first_chunk_after = seconds_since_start()
                        _import_numpy_aside()
                    if action.note:
                        say(action.note)
                else:
                    unreachable.add(action.session)
                    self.carry_out(self.core.handle(Unreachable(action.session), now), now)
            elif isinstance(action, Ask):
                if action.session not in unreachable and not transport.send(
                        self.sockets["tasks"], action.message, to=action.session.encode()):
                    unreachable.add(action.session)
                    self.carry_out(self.core.handle(Unreachable(action.session), now), now)
            elif isinstance(action, BeatNow):
                transport.send(self.sockets["beats"], action.beat)
            elif isinstance(action, Say):
                say(action.text)
            elif isinstance(action, Drop):
                self.drops.drop(action.what, now)
            elif isinstance(action, GiveUp):
                raise NoWorkers(action.message)

    def _received(self, name: str, expected: tuple, routed: bool = False) -> list[Received]:
        """Every message waiting on socket ``name``; garbage, or a kind that socket does not
        carry, is counted and dropped."""
        sock = self.sockets[name]
        connections = self.connections if name == "tasks" else None
        out = []
        while True:
            try:
                got = transport.receive(sock, routed, connections)
            except ProtocolError as exc:
                self.drops.drop(f"a malformed message {exc}", time.monotonic())
                continue
            if got is None:
                return out
            sender, message = got
            if not isinstance(message, expected):
                self.drops.drop(f"an unexpected {type(message).__name__} on the {name} socket", time.monotonic())
                continue
            out.append(Received((sender or b"").decode("utf-8", "replace"), message, int(time.time() * 1000)))

    def _declared(self) -> list[Declared]:
        """``Coordinator.handle_worker_failure`` calls made from other threads."""
        out = []
        while True:
            try:
                out.append(Declared(self.coord.declared_failed.get_nowait()))
            except queue.Empty:
                return out

    def _local_exits(self) -> tuple[int, ...] | None:
        codes = self.local.all_exited() if self.local is not None else None
        return None if codes is None else tuple(codes)

    def attach(self, core: JobCore) -> None:
        """Serve job ``core`` (planned after the sockets listened); its time starts now."""
        self.core = core
        self.started = time.monotonic()

    def close(self) -> None:
        """Say the job is over (an empty Beat) and close the sockets (again: nothing)."""
        if not self.sockets:
            return
        self.elapsed = time.monotonic() - self.started
        self.progress.close()
        if "beats" in self.sockets and self.core is not None:
            transport.send(self.sockets["beats"], Beat(self.core.instance, "", 0))
        connections = getattr(self, "connections", None)
        if connections is not None:
            connections.close()
            self.connections = None
        for sock in self.sockets.values():
            sock.close(linger=0)
        self.sockets = {}
        if self.auth is not None:
            self.auth.stop()
            self.auth = None

    def job_figures(self) -> dict:
        """The report's ``job`` key as it stands."""
        figures = self.core.job_figures(self.elapsed or (time.monotonic() - self.started), self.drops.count)
        if self.first_chunk_after is not None:
            figures["first_chunk_seconds"] = round(self.first_chunk_after, 3)
        return figures


def _import_numpy_aside() -> None:
    """Import numpy in a thread of its own, once the first chunk is out (the workers of most
    formats start without it, and so does this loop: cli): the first result's merge needs
    it, and importing it then, on this loop's thread, would hold the heartbeats back for
    50-100 ms — longer than a worker's patience with ``--heartbeat 0.03``."""
    if "numpy" not in sys.modules:
        threading.Thread(target=_import_numpy, name="lograd-import", daemon=True).start()


def _import_numpy() -> None:
    import numpy  # noqa: F401
