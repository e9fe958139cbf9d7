"""The coordinator: the command's jobs, their sockets, and the thin loop that serves them.

What to do is decided by the pure core (:mod:`lograd.jobs.core`: joins, leases,
deadlines, retries, the phases of ``--last``, when the job is done); :class:`JobSockets`
turns what arrives on the four sockets into its events and carries out its actions.
A batch job (:meth:`Coordinator.run`) and follow mode (:mod:`lograd.followjob`) are
two drivers of the same core.
"""
from __future__ import annotations

import asyncio
import os
import queue
import subprocess
import sys
import time
import uuid
from typing import Callable

import zmq

from . import transport
from .aggregate import Window
from .analyzer import Analyzer, shown_format
from .config import DEFAULT_BIND, DEFAULT_PORT, FREED_MEMORY_KEPT, Settings
from .errors import EXIT_OK, EXIT_PARTIAL, JobRefused, NothingToRead, NoWorkers
from .filters import EntryFilter
from .formats import get
from .inputs import InputFile, expand, first_line, format_for, reference_ms, unreadable_rows
from .jobs.core import (BeatNow, ConnectionLost, Declared, Drop, FileSpan, GiveUp, Hand, JobCore, JobOptions,
                        Received, Say, Tick, Unreachable)
from .protocol import BEATS, HEARTBEATS, RESULTS, TASKS, Beat, Failure, Heartbeat, Hello, ProtocolError, Release, Result
from .report import Progress
from .security import exposed, server_curve, start_authenticator
from .stdin import NAME as STDIN, StdinSpool, renamed
from .timestamps import LONGEST_WINDOW_MS


MIN_AUTO_CHUNK = 64 << 10
MAX_AUTO_CHUNK = 32 << 20
"""About 0.1 s of parsing for one worker: few enough chunks that per-chunk costs (a message
each way, a partial named, decoded and merged) stay small — with 8 MiB they took a third of
a 1 GiB access-log job —, small enough that a dead worker's chunks soon find a free slot
elsewhere (README, Failures: a kill cost 1.18x the job with 32 MiB, 1.13x with 8 MiB, and
the job was faster either way)."""


def say(text: str) -> None:
    """One line for the user on stderr."""
    sys.stderr.write(f"lograd-coordinator: {text}\n")  # one write: lines stay whole
    sys.stderr.flush()


def refuse_filters(filters: EntryFilter | None, formats: list[str], paths: list[str]) -> None:
    """Filters need entries with levels and messages: refuse a job that has files of a
    format without them (access, conn), rather than filter some files and not others."""
    if filters is None:
        return
    for fmt, path in zip(formats, paths):
        if not get(fmt).has_messages:
            raise JobRefused(f"{path} is read as {shown_format(fmt)}: --level, --grep and --template filter "
                             f"entries by level and message, which {shown_format(fmt)} lines have not "
                             "(README, Filters)")


def say_failed(row: dict) -> None:
    """Say on stderr that a chunk failed (a ``job.failed_chunks`` row)."""
    say(f"chunk {row['file']} [{row['start']}, +{row['size']}) failed: {row['reason']}")


def say_hosts_ignored(hosts: tuple[bytes, ...], formats: list[str]) -> None:
    """``--host`` asks about connection logs: say so when none of ``formats`` is one."""
    if hosts and "conn" not in formats:
        said = " ".join(f"--host {h.decode('utf-8', 'replace')}" for h in hosts)
        read = ", ".join(dict.fromkeys(formats))
        say(f"{said}: ignored, it asks about connection logs (conn) and these are {read}")


def no_entries_message(path: str, lines: int, fmt: str) -> str:
    """What a user is told of an input that gave no entry: which, its first line, and what
    lograd expected there."""
    if not lines:
        return f"no entries in {path}: it is empty"
    from .formats import get
    try:
        example = get(fmt).example
    except (KeyError, ValueError):
        example = ""
    first = first_line(path)
    a = "an" if fmt[:1] in "aeiou" else "a"
    expected = f"; {a} {fmt} line looks like {example!r}" if example else ""
    counted = "its only line is not" if lines == 1 else f"none of its {lines:,} lines is"
    return (f"no entries in {path}: {counted} {a} {fmt} entry (first line: {first!r}){expected}; "
            f"--format names another format (README, Formats)")


MAX_CHUNKS = 100_000
"""Chunks one job (or one follow round) is cut into at most: a smaller --chunk-size is raised."""


def chunk_size_for(total_bytes: int, asked: int | None, workers: int) -> tuple[int, str | None]:
    """The chunk size of a job: ``--chunk-size`` when given, else :func:`auto_chunk_size`;
    raised (with a note for the user) when it would cut the input into more than MAX_CHUNKS."""
    if asked is None:
        return auto_chunk_size(total_bytes, workers), None
    if -(-total_bytes // asked) <= MAX_CHUNKS:
        return asked, None
    size = -(-total_bytes // MAX_CHUNKS)
    size += -size % 4096  # whole pages
    return size, (f"--chunk-size {asked:,} B would cut {total_bytes:,} bytes into "
                  f"{-(-total_bytes // asked):,} chunks; using {size:,} B (at most {MAX_CHUNKS:,} chunks)")


def auto_chunk_size(total_bytes: int, workers: int) -> int:
    """About four chunks per worker, between 64 KiB and 32 MiB (page-aligned)."""
    size = total_bytes // (4 * max(workers, 1))
    size = min(max(size, MIN_AUTO_CHUNK), MAX_AUTO_CHUNK)
    return size - size % 4096


class LocalWorkers:
    """Worker processes started by the coordinator (``--local N``), always reaped."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, count: int, url: str, settings: Settings, curve_dir: str | None = None) -> None:
        env = dict(os.environ, LOGRAD_PARENT=str(os.getpid()), **FREED_MEMORY_KEPT)
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        for i in range(1, count + 1):
            cmd = [sys.executable, "-m", "lograd.cli", "worker", f"local-{i}", "--coordinator", url,
                   "--give-up", str(max(settings.expiry * 4, 5.0)),
                   "--heartbeat", str(settings.heartbeat_interval), "--quiet"]
            if curve_dir is not None:
                cmd += ["--curve", curve_dir]
            self.processes.append(subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL))

    def all_exited(self) -> list[int] | None:
        """The exit statuses when every worker started here has exited, else None."""
        codes = [p.poll() for p in self.processes]
        return codes if codes and None not in codes else None

    def stop(self, grace: float = 3.0) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.terminate()
        deadline = time.monotonic() + grace
        for p in self.processes:
            try:
                p.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.processes.clear()


class Coordinator:
    """Runs jobs: plans chunks, hands them to workers, merges their partials.

    ``local_workers`` starts that many worker processes on this machine;
    ``workers_wanted`` waits for that many before dispatching.
    """

    def __init__(self, port: int = DEFAULT_PORT, bind: str = DEFAULT_BIND,
                 settings: Settings = Settings(), local_workers: int = 0, workers_wanted: int = 0,
                 chunk_size: int | None = None, window: Window | None = None, fmt: str = "auto",
                 progress: bool = False, hosts: list[str] = (), last: float | None = None,
                 curve_dir: str | None = None, filters: EntryFilter | None = None, templates: bool = True) -> None:
        self.port = port
        self.curve_dir = curve_dir
        self.curve = None if curve_dir is None else server_curve(curve_dir)
        self.bind = bind
        self.settings = settings
        self.local_workers = local_workers
        self.workers_wanted = max(workers_wanted, local_workers, 1)
        self.chunk_size = chunk_size
        self.window = window
        self.fmt = fmt
        self.progress = progress
        self.hosts = tuple(dict.fromkeys(h.encode("utf-8", "surrogateescape") for h in hosts))  # --host, each once
        self.filters = filters
        self.templates = templates
        self.last_ms = None if last is None else min(round(last * 1000), LONGEST_WINDOW_MS)
        self.analyzer = Analyzer()
        self.exit_status = EXIT_OK
        self.shown_as: dict[str, str] = {}  # a path as messages name it (a spool: standard input)
        self.last_report: dict | None = None
        self.stop_requested = False  # follow mode: set (by a signal handler too) to end the run
        self._forget: queue.SimpleQueue[str] = queue.SimpleQueue()

    def start_local_workers(self, local: LocalWorkers, loop: JobSockets) -> None:
        """Start the --local workers; when no worker from elsewhere is awaited, the loop
        watches them (all of them exiting ends the job at once: JobOptions.watch_local)."""
        local.start(self.local_workers, self.local_url(), self.settings, self.curve_dir)
        loop.local = local

    def job_options(self, chunk_size: int, window_length_ms: int | None) -> JobOptions:
        """What the core decides a job with, from this coordinator's settings."""
        return JobOptions(
            settings=self.settings, workers_wanted=self.workers_wanted, local_workers=self.local_workers,
            watch_local=bool(self.local_workers) and self.workers_wanted <= self.local_workers,
            chunk_size=chunk_size, window=self.window, window_length_ms=window_length_ms, hosts=self.hosts,
            filters=[] if self.filters is None else self.filters.to_wire(), templates=self.templates,
            url=self.local_url(), how_to_start=self.how_to_start_workers())

    def how_to_start_workers(self) -> str:
        """What a user is told when the job waits for workers."""
        url = self.local_url()
        curve = f" --curve {self.curve_dir}" if self.curve_dir else ""
        elsewhere = (" (on another machine, this machine's name or address instead of 127.0.0.1)"
                     if self.bind in ("0.0.0.0", "*") else "")
        return (f"Start one in another terminal with\n    bin/lograd-worker alice --coordinator {url}{curve}\n"
                f"{elsewhere.strip() + chr(10) if elsewhere else ''}"
                f"or let the coordinator start its own with --local 2")

    def plan(self, files: list[InputFile]) -> JobCore:
        """A batch job over ``files``: each one's format decided (from its first lines), the
        options checked against them, the chunk size chosen."""
        formats = [format_for(f.path, self.fmt, say) for f in files]
        if files:
            say_hosts_ignored(self.hosts, formats)
            refuse_filters(self.filters, formats, [f.path for f in files])
        size, note = chunk_size_for(sum(f.size for f in files), self.chunk_size, self.workers_wanted)
        if note:
            say(note)
        spans = [FileSpan(f.path, f.size, bool(f.compression), reference_ms(f.path)) for f in files]
        return JobCore(uuid.uuid4().hex, uuid.uuid4().hex, spans, formats, self.job_options(size, self.last_ms),
                       time.monotonic())

    def add_job_keys(self, report: dict) -> None:
        """What the command line asked that shapes the report: ``filters``, and with
        --no-templates the template keys as None (not counted, rather than none found)."""
        report["filters"] = None if self.filters is None else self.filters.shown()
        if not self.templates:
            for key in ("templates", "templates_total", "new_templates", "new_templates_total"):
                if key in report:
                    report[key] = None

    # -- the Python API (SPEC §5) ---------------------------------------------------

    async def process_file(self, filepath: str | list[str]) -> dict:
        """Analyse a file (or paths) with the workers that join; the SPEC §3 report."""
        await self.distribute_work(filepath)
        return self.last_report

    async def distribute_work(self, filepath: str | list[str]) -> None:
        """Run the whole job over ``filepath`` in a thread; the report lands in ``last_report``."""
        paths = [filepath] if isinstance(filepath, str) else list(filepath)
        await asyncio.to_thread(self.run, paths)

    async def handle_worker_failure(self, worker_id: str) -> None:
        """Declare every lease of ``worker_id`` dead: its chunks go back to the queue."""
        self._forget.put(worker_id)

    def local_url(self) -> str:
        """Where a worker on this machine finds the coordinator."""
        host = "127.0.0.1" if self.bind in ("0.0.0.0", "*") else self.bind
        return f"tcp://{host}:{self.port}"

    def stop(self) -> None:
        """End a follow run: the chunks in hand finish, a final report is made.
        Safe from a signal handler (only a flag is set)."""
        self.stop_requested = True

    def follow(self, paths: list[str], every: float, emit, state_path: str | None = None,
               outputs: list[str] = ()) -> int:
        """Follow ``paths`` (SPEC §4 ``--follow``) until :meth:`stop`: ``emit(report)`` every
        ``every`` seconds and once at the end. ``outputs`` are files the run writes (never
        read as logs, even in a followed directory). Returns the exit status."""
        from .followjob import FollowJob
        if STDIN in paths:  # follow what arrives on standard input, spooled as it comes
            with StdinSpool() as spool:
                names = {spool.path: STDIN}
                return FollowJob(self, [spool.path if p == STDIN else p for p in paths], every,
                                 lambda report, *rest: emit(renamed(report, names), *rest), state_path,
                                 outputs=list(outputs)).run()
        return FollowJob(self, paths, every, emit, state_path, outputs=list(outputs)).run()

    # -- the job -----------------------------------------------------------------------

    def run(self, paths: list[str]) -> tuple[dict, int]:
        """Analyse ``paths`` (``-`` is standard input, read to its end first); returns
        (report, exit status). Raises NoWorkers (status 3)."""
        if STDIN in paths:
            with StdinSpool() as spool:
                if sys.stdin.isatty():
                    say("reading standard input until it ends (Ctrl-D)")
                spool.wait()
                if spool.error is not None:
                    say(f"standard input could not be read to its end: {spool.error}")
                self.shown_as = {spool.path: "standard input"}
                report, status = self.run([spool.path if p == STDIN else p for p in paths])
                self.last_report = renamed(report, {spool.path: STDIN})
                return self.last_report, status
        files, unreadable = expand(paths)
        for problem in unreadable:
            say(f"cannot read {problem.path}: {problem.reason}")
        if not files:
            raise NothingToRead("nothing to analyse: no input file could be read")
        core = self.plan(files)
        local = LocalWorkers()
        ctx = zmq.Context()
        try:
            if core.dispatcher.chunks:
                loop = JobSockets(self, ctx, core)
                try:
                    if self.local_workers:
                        self.start_local_workers(local, loop)
                    loop.serve(lambda now: core.finished)
                finally:
                    loop.close()
                job = loop.job_figures()
            else:
                job = core.job_figures(0.0, 0)
            self.analyzer = core.analyzer
            empty = core.files_without_entries()
            for path, lines, fmt in empty:
                say(no_entries_message(self.shown_as.get(path, path), lines, fmt))
            report = core.analyzer.get_current_metrics()
            for row in job["failed_chunks"]:
                say_failed(row)
            report["unreadable_files"] = unreadable_rows(unreadable)
            report["job"] = job
            self.add_job_keys(report)
        finally:
            local.stop()
            ctx.destroy(linger=0)
        status = EXIT_PARTIAL if unreadable or report["job"]["failed_chunks"] or empty else EXIT_OK
        self.last_report, self.exit_status = report, status
        return report, status


class JobSockets:
    """One job's four sockets and the thin loop that serves them: what arrives becomes an
    event for the :class:`~lograd.jobs.core.JobCore`, and what it decides is carried out
    here (sent, said, counted, or raised as NoWorkers)."""

    def __init__(self, coord: Coordinator, ctx: zmq.Context, core: JobCore) -> None:
        self.coord = coord
        self.core = core
        self.started = time.monotonic()
        self.elapsed = 0.0
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
                events += self._received("tasks", (Hello, Release), routed=True)
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
                    if action.note:
                        say(action.note)
                else:
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
            out.append(Received((sender or b"").decode("utf-8", "replace"), message))

    def _declared(self) -> list[Declared]:
        """``Coordinator.handle_worker_failure`` calls made from other threads."""
        out = []
        while True:
            try:
                out.append(Declared(self.coord._forget.get_nowait()))
            except queue.Empty:
                return out

    def _local_exits(self) -> tuple[int, ...] | None:
        codes = self.local.all_exited() if self.local is not None else None
        return None if codes is None else tuple(codes)

    def close(self) -> None:
        """Say the job is over (an empty Beat) and close the sockets."""
        self.elapsed = time.monotonic() - self.started
        self.progress.close()
        if "beats" in self.sockets:
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
        return self.core.job_figures(self.elapsed or (time.monotonic() - self.started), self.drops.count)
