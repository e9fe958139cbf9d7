"""The worker: asks the coordinator for chunks, summarises them, pushes partials.

A thin loop (Paranoid Pirate worker): poll the coordinator's beats and
assignments, summarise one chunk, push its result, run the timers. Its own
heartbeats go out from a separate thread and socket, so they keep coming
while a chunk is being read.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time
import uuid
from collections import deque

import zmq

from .net import transport
from .config import DEFAULT_COORDINATOR, Settings
from .errors import EXIT_OK
from .net.protocol import (BEATS, HEARTBEATS, RESULTS, TASKS, Assign, Beat, Failure, Heartbeat,
                       Hello, ListFiles, Listing, ProtocolError, Release, Result, coordinator_address,
                       endpoint)
from .net.link import Connect, Disconnect, Exit, Heard, Link, Polled, SayHello, Tell, Tick as LinkTick
from .net.security import Curve
from .sysstats import ProcessStats, libc, this_host


HANDSHAKE_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL
                    | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL | zmq.EVENT_HANDSHAKE_SUCCEEDED)


def _log(text: str) -> None:
    sys.stderr.write(f"lograd-worker: {text}\n")  # one write: lines from many processes stay whole
    sys.stderr.flush()


class Worker:
    """One worker process's work: chunks in, partial aggregates out."""

    def __init__(self, worker_id: str, coordinator_url: str = DEFAULT_COORDINATOR,
                 settings: Settings = Settings(), capacity: int | None = None,
                 quiet: bool = False, verbose: bool = False, curve: Curve | None = None,
                 roots: list[str] | None = None, served: list[str] | None = None,
                 hostname: str | None = None, instance: str | None = None) -> None:
        self.worker_id = worker_id
        self.instance = instance  # the coordinator that started this worker (--local): joined at once
        self.curve = curve
        self.served = list(served or [])  # --serve: this host's files, listed when asked
        # files are opened only inside --root and --serve directories, when any is given
        self.roots = [os.path.realpath(r) for r in [*(roots or []), *self.served]]
        self.hostname = hostname or this_host()
        self.coordinator_url = coordinator_address(coordinator_url)  # HOST:PORT and http:// too
        self.settings = settings
        self.capacity = capacity or settings.worker_capacity
        self.session = f"{worker_id}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
        self.chunks_done = 0
        self.stats = ProcessStats()
        self.quiet = quiet
        self.verbose = verbose
        self._stopping = threading.Event()
        self._stop_requested = False  # set by signal handlers, which must take no lock
        self._beat_now = threading.Event()  # set after each chunk: fresh figures at once
        self._serving: threading.Thread | None = None  # start(): run() in the background
        self.exit_status: int | None = None  # run()'s, once it returned

    # -- the Python API (SPEC §5) -----------------------------------------------

    async def process_chunk(self, filepath: str, start: int, size: int,
                            fmt: str = "app", file_index: int = 0, window=None,
                            hosts: tuple[bytes, ...] = (), reference_ms: int = 0) -> dict:
        """The partial aggregate (wire form) of chunk ``[start, start+size)`` of a file, read
        in a thread: the event loop goes on meanwhile."""
        import asyncio
        from .reader import summarise_chunk
        partial = await asyncio.to_thread(summarise_chunk, filepath, start, size, file_index, fmt, window,
                                          hosts=hosts, reference_ms=reference_ms)
        self.chunks_done += 1
        return partial.to_wire()

    async def report_health(self) -> dict:
        """This worker's heartbeat figures: chunks done, CPU %, RSS and peak RSS in MB (sampled
        in a thread: it reads /proc)."""
        import asyncio
        cpu, rss, peak = await asyncio.to_thread(self.stats.sample)
        return {"worker": self.worker_id, "chunks_done": self.chunks_done,
                "cpu_percent": cpu, "rss_mb": rss, "peak_rss_mb": peak}

    async def start(self) -> None:
        """Serve the coordinator in the background (a thread running :meth:`run`) and return
        at once; :meth:`close` stops it. A worker started before its coordinator waits for
        it (``give_up`` seconds at most)."""
        if self._serving is None:
            self._serving = threading.Thread(target=self._serve_in_background, name=f"worker {self.worker_id}",
                                             daemon=True)
            self._serving.start()

    async def close(self) -> None:
        """Stop serving (the chunk in hand finishes, the rest is handed back) and wait for it."""
        self.stop()
        if self._serving is not None:
            import asyncio
            await asyncio.to_thread(self._serving.join)
            self._serving = None

    def _serve_in_background(self) -> None:
        self.exit_status = self.run()

    # -- the service loop ---------------------------------------------------------

    def request_stop(self) -> None:
        """Ask for :meth:`stop` from a signal handler: only a flag is set, because the
        handler may interrupt the main thread inside an Event's lock (setting an Event
        there deadlocked); the loop turns the flag into a stop within 50 ms."""
        self._stop_requested = True

    def stopping(self) -> bool:
        """Whether to stop (a requested stop becomes one here, outside any handler)."""
        if self._stop_requested and not self._stopping.is_set():
            self.stop()
        return self._stopping.is_set()

    def stop(self) -> None:
        """Ask the loop to finish the chunk in hand, hand back the rest, and return."""
        self._stopping.set()
        self._beat_now.set()

    def run(self) -> int:
        """Serve coordinators until stopped or until none was heard for ``give_up`` seconds.

        Returns the exit status: 0 when stopped, 1 when the coordinator was lost.
        """
        ctx = zmq.Context()
        beat_thread = threading.Thread(target=self._heartbeats, args=(ctx,), daemon=True)
        try:
            session = _Session(self, ctx)  # a worker told its coordinator's instance says Hello here
            # the heartbeats start after the Hello: a new thread's first beat (a socket, a
            # sample of /proc, a send) runs before this one goes on, 1-6 ms of a --local
            # worker's way from its fork to its first chunk
            beat_thread.start()
            from .formats import formats
            formats()  # every format's module loaded now (numpy too), not inside the first chunk
            return session.loop()
        finally:
            self.stop()
            if beat_thread.ident is not None:
                beat_thread.join(timeout=2)
            ctx.destroy(linger=0)

    def connect(self, ctx: zmq.Context, kind: int, channel: int, identity: str | None = None) -> zmq.Socket:
        """A socket connected to the coordinator's ``channel`` port. A worker its coordinator
        started (``--instance``, ``--local``) retries every 20 ms without backing off: that
        coordinator binds within a moment of importing and planning (backing off, the first
        Hello came up to 80 ms after the bind), and the worker dies with it."""
        return transport.open_socket(ctx, kind, endpoint(self.coordinator_url, channel), bind=False,
                                     identity=identity, curve=self.curve,
                                     reconnect_max_ms=transport.RECONNECT_MS if self.instance is not None
                                     else transport.RECONNECT_MAX_MS)

    def _heartbeats(self, ctx: zmq.Context) -> None:
        """Publish a heartbeat every interval until stopped (own thread, own socket)."""
        pub = self.connect(ctx, zmq.PUB, HEARTBEATS)
        try:
            while not self._stopping.is_set():
                cpu, rss, peak = self.stats.sample()
                transport.send(pub, Heartbeat(self.worker_id, self.session, self.chunks_done,
                                              cpu, rss, peak))
                self._beat_now.wait(self.settings.heartbeat_interval)
                self._beat_now.clear()
        finally:
            pub.close(linger=0)


class _Session:
    """The worker's socket loop and its connection state."""

    def __init__(self, worker: Worker, ctx: zmq.Context) -> None:
        self.w = worker
        self.ctx = ctx
        url = worker.coordinator_url
        self.beats = worker.connect(ctx, zmq.SUB, BEATS)
        # the handshakes of the beats socket: a refused key would otherwise look like silence
        self.handshakes = self.beats.get_monitor_socket(HANDSHAKE_EVENTS)
        self.handshake_said = False  # a failed handshake was reported since the last success
        self.results = worker.connect(ctx, zmq.PUSH, RESULTS)
        self.tasks: zmq.Socket | None = None
        self.link = Link(url, worker.settings, time.monotonic())  # decides joined, lost, giving up
        self.queue: deque[Assign] = deque()
        self.drops = transport.DropNotices(_log)
        self.exit_status: int | None = None  # set by an Exit action
        if worker.instance is not None:  # Hello now, not after the first beat heard
            self._carry_out(self.link.expect(worker.instance, time.monotonic()))

    def loop(self) -> int:
        w, s = self.w, self.w.settings
        try:
            while not w.stopping():
                # short idle polls: a stop request (Ctrl-C, SIGTERM) is seen within 50 ms
                self._poll(0 if self.queue else min(s.heartbeat_interval / 2, 0.05))
                if self.queue and not w.stopping():
                    self._work(self.queue.popleft())
                # the beats that came while a chunk (or a listing) was read, before silence is judged
                self._drain(self.beats, time.monotonic())
                self._carry_out(self.link.handle(LinkTick(), time.monotonic()))
                if self.exit_status is not None:
                    return self.exit_status
            self._hand_back()
            return EXIT_OK
        finally:
            self.results.close(linger=1000)  # a finished chunk's result must still leave
            self.beats.disable_monitor()
            self.handshakes.close(linger=0)
            for sock in (self.beats, self.tasks):
                if sock is not None:
                    sock.close(linger=0)

    def _poll(self, timeout: float) -> None:
        poller = zmq.Poller()
        poller.register(self.beats, zmq.POLLIN)
        poller.register(self.handshakes, zmq.POLLIN)
        if self.tasks is not None:
            poller.register(self.tasks, zmq.POLLIN)
        ready = dict(poller.poll(int(timeout * 1000)))
        now = time.monotonic()
        if self.handshakes in ready:
            self._handshake_events()
        if self.beats in ready:
            self._drain(self.beats, now)
        if self.tasks is not None and self.tasks in ready:
            self._drain(self.tasks, now)
        self.link.handle(Polled(busy=bool(self.queue)), now)

    def _carry_out(self, actions: list) -> None:
        """Do what the link decided."""
        for action in actions:
            if isinstance(action, Connect):
                self.tasks = self.w.connect(self.ctx, zmq.DEALER, TASKS, identity=self.w.session)
            elif isinstance(action, Disconnect):  # Lazy Pirate: reopen the socket on the next beat
                if action.why:
                    _log(f"{action.why}; dropping {len(self.queue)} queued chunk(s) and reconnecting")
                if self.tasks is not None:
                    self.tasks.close(linger=0)
                    self.tasks = None
                self.queue.clear()
            elif isinstance(action, SayHello):
                if self.tasks is not None and self.link.instance is not None:
                    transport.send(self.tasks, Hello(self.w.worker_id, self.link.instance, self.w.capacity,
                                                     self.w.hostname, int(bool(self.w.served))))
            elif isinstance(action, Tell):
                if action.always or not self.w.quiet:
                    _log(action.text)
            elif isinstance(action, Exit):
                self.exit_status = action.status

    def _handshake_events(self) -> None:
        """Say once why the coordinator cannot be joined when its handshake fails."""
        while self.handshakes.poll(0):
            event, _ = transport.monitor_event(self.handshakes)
            if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
                self.handshake_said = False
            elif not self.handshake_said:
                self.handshake_said = True
                url = self.w.coordinator_url
                if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
                    _log(f"the coordinator at {url} refused this worker's key: its public key must be "
                         f"in the coordinator's --curve directory")
                else:
                    _log(f"no handshake with the coordinator at {url}: "
                         + ("it does not use --curve, this worker does" if self.w.curve is not None
                            else "it uses --curve; give this worker --curve DIR too"))

    def _drain(self, sock: zmq.Socket, now: float) -> None:
        """Beats come only on the beats socket and Assigns only on the tasks socket;
        anything else is counted and dropped (a Beat on the tasks socket must not make
        us close the socket being read)."""
        expected = Beat if sock is self.beats else (Assign, ListFiles)
        while True:
            try:
                got = transport.receive(sock)
            except ProtocolError as exc:
                self.drops.drop(f"a malformed message {exc}", now)
                continue
            if got is None:
                return
            message = got[1]
            if not isinstance(message, expected):
                self.drops.drop(f"an unexpected {type(message).__name__}", now)
            elif isinstance(message, Beat):
                self._carry_out(self.link.handle(Heard(message.instance, message.pending), now))
            elif isinstance(message, ListFiles):
                self._list(message)
            elif self.link.joined:
                self.queue.append(message)

    def _list(self, ask: ListFiles) -> None:
        """Say which of this host's files match the coordinator's pattern (or why none)."""
        from .inputs import served_files
        rows, refused = served_files(ask.pattern, self.w.served)
        if ask.follow:  # where each file is, and how far its complete lines go
            rows = [row + list(_followed(row[0], row[1])) for row in rows]
        if refused:
            _log(f"refused to list {ask.pattern}: {refused}")
        if self.tasks is not None:
            transport.send(self.tasks, Listing(ask.job, ask.pattern, self.w.hostname, rows, refused,
                                               int(time.time() * 1000)))

    def _work(self, task: Assign) -> None:
        from .filters import EntryFilter
        from .reader import Refused, summarise_chunk, summarise_chunk_in_buckets
        w = self.w
        began = time.monotonic()
        window = None
        if task.window_start is not None or task.window_end is not None:
            window = (task.window_start, task.window_end)
        buckets: dict = {}
        try:
            filters = EntryFilter.from_wire(task.filters)
        except ValueError as exc:
            transport.send(self.results, Failure(task.job, task.chunk, task.attempt, w.worker_id, str(exc)))
            return
        try:
            if task.bucket > 0:
                partial, buckets = summarise_chunk_in_buckets(task.path, task.start, task.size, task.bucket,
                                                              task.file_index, task.format, window,
                                                              hosts=tuple(task.hosts), roots=w.roots,
                                                              reference_ms=task.reference_ms, filters=filters,
                                                              templates=bool(task.templates))
            else:
                partial = summarise_chunk(task.path, task.start, task.size, task.file_index,
                                          task.format, window, hosts=tuple(task.hosts), scan=bool(task.scan),
                                          roots=w.roots, reference_ms=task.reference_ms, filters=filters,
                                          templates=bool(task.templates))
        except OSError as exc:
            reason = f"{exc.strerror or exc.__class__.__name__}: {task.path}"
            if isinstance(exc, Refused):
                _log(f"refused chunk {task.path}@{task.start}: {exc.strerror}")
            transport.send(self.results, Failure(task.job, task.chunk, task.attempt, w.worker_id, reason))
            return
        seconds = time.monotonic() - began
        w.chunks_done += 1
        transport.send(self.results, Result(task.job, task.chunk, task.attempt, w.worker_id,
                                            seconds, partial.to_wire(),
                                            [[b, p.to_wire()] for b, p in sorted(buckets.items())]))
        w._beat_now.set()
        if w.verbose:
            _log(f"{w.worker_id} did chunk {task.path}@{task.start}+{task.size} in {seconds * 1000:.1f} ms")

    def _hand_back(self) -> None:
        """On stop: give queued chunks back so the coordinator can requeue them at once."""
        if self.tasks is None or not self.queue:
            return
        by_job: dict[str, list] = {}
        for task in self.queue:
            by_job.setdefault(task.job, []).append([task.chunk, task.attempt])
        for job, chunks in by_job.items():
            transport.send(self.tasks, Release(job, chunks))
        self.queue.clear()
        self.tasks.close(linger=1000)  # linger: the Release must leave before we exit
        self.tasks = None


GONE = (0, 0, 0)
"""What a follow listing says of a file that went between listing and looking: nothing to read."""


def _followed(path: str, size: int) -> tuple[int, int, int]:
    """(device, inode, end of the last complete line) of a listed file; GONE if it went."""
    try:
        from .follow import last_line_end
        info = os.stat(path)
        return info.st_dev, info.st_ino, last_line_end(path, 0, min(size, info.st_size))
    except OSError:
        return GONE


def die_with_parent() -> None:
    """For local workers: exit when the coordinator that started us is gone (Linux)."""
    parent = os.environ.get("LOGRAD_PARENT")
    if not parent:
        return
    prctl = getattr(libc(), "prctl", None)
    if prctl is not None:
        prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if str(os.getppid()) != parent:
        raise SystemExit(0)


def serve(worker: Worker) -> int:
    """Run a worker with Ctrl-C and SIGTERM meaning: finish the chunk in hand, then stop."""
    def on_signal(signum, frame):
        worker.request_stop()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    die_with_parent()
    return worker.run()
