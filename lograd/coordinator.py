"""The coordinator: binds the four sockets, drives the Dispatcher, feeds the Analyzer.

A thin loop (Paranoid Pirate queue): poll, drain every ready socket into the
pure core (:mod:`lograd.dispatch`, :mod:`lograd.analyzer`), carry out what it
returns, then run every timer (beats, expiry, assignment, progress).
"""
from __future__ import annotations

import asyncio
import enum
import os
import queue
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from typing import Callable

import zmq

from . import transport
from .aggregate import Partial, Window
from .analyzer import Analyzer, shown_format
from .config import DEFAULT_BIND, DEFAULT_PORT, FREED_MEMORY_KEPT, Settings
from .dispatch import Chunk, Dispatcher, plan_chunks
from .errors import EXIT_OK, EXIT_PARTIAL, JobRefused, NothingToRead, NoWorkers
from .filters import EntryFilter
from .formats import get, job_format
from .inputs import InputFile, Unreadable, expand, first_line, format_for, reference_ms, unreadable_rows
from .protocol import (BEATS, HEARTBEATS, RESULTS, TASKS, Assign, Beat, Failure, Heartbeat, Hello,
                       ProtocolError, Release, Result)
from .report import Progress
from .security import exposed, server_curve, start_authenticator
from .stdin import NAME as STDIN, StdinSpool, renamed
from .timestamps import LONGEST_WINDOW_MS


MIN_AUTO_CHUNK = 64 << 10
TAIL_CHUNKS = 2
"""``--last`` guesses the newest entry from this many chunks at the end of each file."""
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


MAX_NAME = 100
"""Characters of a worker's name kept."""
MAX_STRANGERS = 256
"""Heartbeats of workers that have not said Hello are kept for this many names at most."""


def _finite(value: float) -> float:
    """A peer's figure as a number a report can print: NaN, infinities and negatives are 0."""
    value = float(value)
    return value if 0.0 <= value < float("inf") else 0.0


def _bucket_id(value) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"bucket is not an integer: {value!r}")
    return value


WAIT_SAID_AFTER = 0.5
"""Seconds without the workers awaited before the user is told where and how to start them."""


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


@dataclass
class WorkerFigures:
    """What the report says of one worker: its share of the work and its own usage."""

    chunks: int = 0
    bytes: int = 0
    cpu_total: float = 0.0  # the sum and count of CPU samples: a follow run's memory stays flat
    cpu_count: int = 0
    peak_rss_mb: float = 0.0
    cpu_now: float = 0.0  # the newest heartbeat's
    rss_now: float = 0.0

    def add_usage(self, cpu_percent: float, rss_mb: float, peak_rss_mb: float) -> None:
        """One heartbeat's figures."""
        self.cpu_total += cpu_percent
        self.cpu_count += 1
        self.peak_rss_mb = max(self.peak_rss_mb, peak_rss_mb)
        self.cpu_now, self.rss_now = cpu_percent, rss_mb

    def as_report(self, usage: WorkerFigures | None = None) -> dict:
        """Report form; CPU and memory from ``usage`` (the worker's heartbeats)."""
        usage = usage or self
        cpu = usage.cpu_total / usage.cpu_count if usage.cpu_count else 0.0
        return {"chunks": self.chunks, "bytes": self.bytes, "cpu_percent": round(cpu, 1),
                "peak_rss_mb": round(usage.peak_rss_mb, 1), "cpu_percent_now": round(usage.cpu_now, 1),
                "rss_mb_now": round(usage.rss_now, 1)}


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

    def start_local_workers(self, local: LocalWorkers, loop: JobLoop) -> None:
        """Start the --local workers; when no worker from elsewhere is awaited, the loop
        watches them (all of them exiting ends the job at once)."""
        local.start(self.local_workers, self.local_url(), self.settings, self.curve_dir)
        if self.workers_wanted <= self.local_workers:
            loop.local = local

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
        local = LocalWorkers()
        ctx = zmq.Context()
        try:
            loop = JobLoop(self, ctx, files)
            if loop.dispatcher.chunks and self.local_workers:
                self.start_local_workers(local, loop)
            loop.run()
            empty = loop.files_without_entries()
            for path, lines, fmt in empty:
                say(no_entries_message(self.shown_as.get(path, path), lines, fmt))
            report = loop.report(unreadable)
        finally:
            local.stop()
            ctx.destroy(linger=0)
        status = EXIT_PARTIAL if unreadable or report["job"]["failed_chunks"] or empty else EXIT_OK
        self.last_report, self.exit_status = report, status
        return report, status


class LastPhase(enum.Enum):
    """The phases of a ``--last`` job: SCAN the files' last chunks for the newest entry (times
    only), READ everything with the window ending there, REREAD with the right window when
    some entry was newer than the scan's guess."""

    SCAN = "scan"
    READ = "read"
    REREAD = "reread"


class JobLoop:
    """One job's sockets and state; ``run`` is the poll loop."""

    def __init__(self, coord: Coordinator, ctx: zmq.Context, files: list[InputFile],
                 follow: bool = False) -> None:
        self.coord = coord
        self.settings = coord.settings
        self.files = files
        self.instance = uuid.uuid4().hex
        self.job = uuid.uuid4().hex
        self.formats = [format_for(f.path, coord.fmt, say) for f in files]
        if files and not follow:
            say_hosts_ignored(coord.hosts, self.formats)
            refuse_filters(coord.filters, self.formats, [f.path for f in files])
        self.whole = {i for i, f in enumerate(files) if f.compression}  # compressed: one chunk each
        self.fmt = job_format(self.formats)
        total = sum(f.size for f in files)
        self.total_bytes = total
        size, note = chunk_size_for(total, coord.chunk_size, coord.workers_wanted)
        if note:
            say(note)
        self.chunk_size = size
        self.window = coord.window
        # --last: guess the newest entry from the end of each file (a scan of its last
        # chunks, timestamps only), read everything with the window ending there, and
        # read again only if some entry turned out newer than the guess
        chunks = plan_chunks([(f.path, f.size) for f in files], size, whole=self.whole)
        self.scan_ids: set[int] = set()
        self.newest_scanned: int | None = None
        self.last_phase: LastPhase | None = None
        self.rereads = 0
        self.guess: int | None = None
        if coord.last_ms is not None and files:
            tails = [c for i in range(len(files)) for c in [c for c in chunks if c.file_index == i][-TAIL_CHUNKS:]]
            chunks = [Chunk(n, c.file_index, c.path, c.start, c.size) for n, c in enumerate(tails)]
            self.scan_ids = {c.id for c in chunks}
            self.last_phase = LastPhase.SCAN
        self.dispatcher = Dispatcher(chunks, coord.settings)
        self.next_chunk_id = len(chunks)
        self._new_analyzer()
        self.workers: dict[str, WorkerFigures] = {}
        self.heartbeat_figures: dict[str, WorkerFigures] = {}
        self.names: dict[str, str] = {}  # session -> worker name
        self.bytes_done = 0
        self.started = time.monotonic()
        self.local: LocalWorkers | None = None  # local workers, when no other worker is awaited
        self.elapsed = 0.0
        self.progress = Progress(enabled=coord.progress)
        self.bucket_ms = 0  # follow --last: metrics split by entry time (Assign.bucket)
        self.next_beat = time.monotonic()
        self.lonely_since: float | None = self.started  # since when no worker is alive
        self.dispatching = False  # until enough workers joined (or we waited long enough)
        self.wait_said = False  # whether the user was told what the job waits for
        self.sockets: dict[str, zmq.Socket] = {}
        self.connections: transport.Connections | None = None  # who is on which TCP connection of "tasks"
        self.auth = None  # the CURVE authenticator (--curve)
        self.drops = transport.DropNotices(say)  # messages dropped as garbage or out of place
        if self.dispatcher.chunks or follow:
            host = f"tcp://{coord.bind}"
            port = coord.port
            curve = coord.curve
            if curve is not None:  # before binding: every CURVE handshake asks it
                self.auth = start_authenticator(ctx, coord.curve_dir)
            elif exposed(coord.bind):
                say(f"listening on {coord.bind} without encryption: anyone who reaches ports "
                    f"{port}-{port + 3} can join as a worker, send results and read what it is sent; "
                    f"use --curve DIR (README, Security)")
            try:
                self.sockets = {
                    "tasks": transport.open_socket(ctx, zmq.ROUTER, f"{host}:{port + TASKS}", True, curve=curve),
                    "results": transport.open_socket(ctx, zmq.PULL, f"{host}:{port + RESULTS}", True, curve=curve),
                    "heartbeats": transport.open_socket(ctx, zmq.SUB, f"{host}:{port + HEARTBEATS}", True,
                                                        curve=curve),
                    "beats": transport.open_socket(ctx, zmq.PUB, f"{host}:{port + BEATS}", True, curve=curve),
                }
            except zmq.ZMQError as exc:
                for sock in self.sockets.values():
                    sock.close(linger=0)
                raise OSError(f"cannot listen on {coord.bind} ports {port}-{port + 3}: {exc}") from None
            self.connections = transport.Connections(self.sockets["tasks"])
            self.poller = zmq.Poller()
            for name in ("tasks", "results", "heartbeats"):
                self.poller.register(self.sockets[name], zmq.POLLIN)
            self.poller.register(self.connections.monitor, zmq.POLLIN)

    # -- the loop ---------------------------------------------------------------------

    def run(self) -> None:
        """Serve until every chunk is done or failed, then close the sockets."""
        if not self.dispatcher.chunks:
            return
        try:
            self.serve(lambda now: self.dispatcher.finished)
        finally:
            self.close()

    def serve(self, done: Callable[[float], bool], wake_at: float | None = None) -> None:
        """Poll and run the timers until ``done(now)``; ``wake_at`` (monotonic) is a time at
        which ``done`` may change without a message arriving."""
        s = self.settings
        poller = self.poller
        while not done(time.monotonic()):
            now = time.monotonic()
            wake = [self.next_beat, now + 0.25]
            if wake_at is not None:
                wake.append(wake_at)
            if self.lonely_since is not None and self.dispatcher.pending:
                wake.append(self.lonely_since + s.join_timeout)
            deadline = self.dispatcher.next_deadline()
            if deadline is not None:
                wake.append(deadline)
            timeout = max(0.0, min(wake) - now)
            ready = dict(poller.poll(int(timeout * 1000) + 1))
            now = time.monotonic()
            if self.sockets["tasks"] in ready:
                self._drain_tasks(now)
            for lost in self.connections.take_lost():
                session = lost.decode("utf-8", "replace")
                if session in self.dispatcher.peers:
                    self._worker_failed(session, "lost its connection (its process ended?)")
            if self.sockets["results"] in ready:
                self._drain_results(now)
                if self.last_phase is not None and self.dispatcher.finished:
                    self._next_last_phase()
            if self.sockets["heartbeats"] in ready:
                self._drain_heartbeats(now)
            # timers
            if now >= self.next_beat:
                transport.send(self.sockets["beats"],
                               Beat(self.instance, self.job, len(self.dispatcher.pending)))
                # while workers are still joining, beat often: a new worker
                # learns who we are from a beat, and every beat it waits for
                # delays the job's start
                self.next_beat = now + (s.heartbeat_interval if self.dispatching
                                        else min(s.heartbeat_interval, 0.05))
            self._forget_requested()
            for peer in self.dispatcher.silent(now):
                self._worker_failed(peer.session, "stopped answering")
            for chunk_id in self.dispatcher.expire(now):
                say(f"chunk {chunk_id} timed out; retrying it elsewhere")
            self._check_workers(now)
            if self.dispatching:
                self._assign(now)
            self.progress.update(self.bytes_done, self.total_bytes, now - self.started,
                                 self.dispatcher.workers_alive())

    def _check_workers(self, now: float) -> None:
        """Start dispatching once enough workers joined; give up when none is left."""
        s = self.settings
        alive = self.dispatcher.workers_alive()
        if alive:
            self.lonely_since = None
        elif self.lonely_since is None:
            self.lonely_since = now
        elif not self.dispatcher.pending:
            self.lonely_since = now  # nothing waits for a worker (follow mode, between rounds)
        elif now - self.lonely_since >= s.join_timeout:
            raise NoWorkers(self._no_worker_message())
        elif self.local is not None and (codes := self.local.all_exited()) is not None:
            raise NoWorkers(f"every local worker exited (status {', '.join(map(str, codes))}) "
                            f"and none is left to do the work; their messages are above")
        if (not self.dispatching and not self.wait_said and now - self.started >= WAIT_SAID_AFTER
                and self.dispatcher.pending and alive < self.coord.workers_wanted
                and self.coord.workers_wanted > self.coord.local_workers):
            self.wait_said = True  # workers from elsewhere are awaited: say where, and how
            missing = self.coord.workers_wanted - alive
            say(f"waiting up to {s.join_timeout:g} s for {missing} more worker{'s' if missing > 1 else ''} on "
                f"{self.coord.local_url()}. {self._how_to_start_workers()}")
        if not self.dispatching and alive:
            waited = now - self.started >= s.join_timeout
            if alive >= self.coord.workers_wanted or waited:
                if alive < self.coord.workers_wanted:
                    say(f"only {alive} of {self.coord.workers_wanted} workers joined "
                         f"within {s.join_timeout:g} s; starting with them")
                self.dispatching = True

    def close(self) -> None:
        """Say the job is over (an empty Beat) and close the sockets."""
        self.elapsed = time.monotonic() - self.started
        self.progress.close()
        if "beats" in self.sockets:
            transport.send(self.sockets["beats"], Beat(self.instance, "", 0))
        if self.connections is not None:
            self.connections.close()
            self.connections = None
        for sock in self.sockets.values():
            sock.close(linger=0)
        self.sockets = {}
        if self.auth is not None:
            self.auth.stop()
            self.auth = None

    def _new_analyzer(self) -> None:
        """An empty Analyzer for this job (shared with the Coordinator for the API)."""
        c = self.coord
        c.analyzer = self.analyzer = Analyzer([f.path for f in self.files], c.window, self.fmt,
                                              c.last_ms, c.hosts)
        self.analyzer.file_formats = self.formats
        self.file_tally: dict[int, list[int]] = {}  # file index -> [lines, entries] merged

    def _next_last_phase(self) -> None:
        """``--last``: the scan of the files' ends is over, or a read is."""
        if self.last_phase is LastPhase.SCAN:
            self.guess = self.newest_scanned
            self._read_all(self.guess)
            self.last_phase = LastPhase.READ
            return
        newest = self.analyzer.total.last_ms  # of every entry, inside the window or not
        if self.last_phase is LastPhase.READ and newest != self.guess:
            # an entry newer than the guess: the window was wrong, read again
            self.rereads += 1
            self._new_analyzer()
            self._read_all(newest)
            self.last_phase = LastPhase.REREAD
            return
        self.last_phase = None

    def _read_all(self, newest: int | None) -> None:
        """Queue every chunk again, with the window of the last N seconds up to ``newest``."""
        # no entry at all: a window nothing is inside
        self.window = (0, -1) if newest is None else (newest - self.coord.last_ms, newest)
        d = self.dispatcher
        d.add(plan_chunks([(f.path, f.size) for f in self.files], self.chunk_size, first_id=len(d.chunks),
                          whole=self.whole))

    def _assign(self, now: float) -> None:
        for a in self.dispatcher.assign(now):
            if a.session not in self.dispatcher.peers:
                continue  # found unreachable at an earlier send of this pass: its chunks are requeued
            c = a.chunk
            window = self.window or (None, None)
            message = Assign(self.job, c.id, a.attempt, c.path, c.file_index, c.start, c.size,
                             self.formats[c.file_index], window[0], window[1], list(self.coord.hosts),
                             int(c.id in self.scan_ids), self.bucket_ms, reference_ms(c.path),
                             [] if self.coord.filters is None else self.coord.filters.to_wire(),
                             int(self.coord.templates))
            if not transport.send(self.sockets["tasks"], message, to=a.session.encode()):
                self._worker_failed(a.session, "unreachable")
            elif a.attempt > 1:
                say(f"chunk {c.id} ({c.path} @{c.start}) retried on {self.names.get(a.session)}, "
                     f"attempt {a.attempt}")

    # -- draining sockets into the core ---------------------------------------------------

    def _receive_all(self, name: str, expected: tuple, routed: bool = False):
        """Every message waiting on socket ``name``; what is garbage, or of a kind that
        socket does not carry, is counted and dropped."""
        sock = self.sockets[name]
        connections = self.connections if name == "tasks" else None
        while True:
            try:
                got = transport.receive(sock, routed, connections)
            except ProtocolError as exc:
                self._drop(f"a malformed message {exc}")
                continue
            if got is None:
                return
            if not isinstance(got[1], expected):
                self._drop(f"an unexpected {type(got[1]).__name__} on the {name} socket")
                continue
            yield got

    def _drop(self, what: str) -> None:
        self.drops.drop(what, time.monotonic())

    def _drain_tasks(self, now: float) -> None:
        for sender, message in self._receive_all("tasks", (Hello, Release), routed=True):
            session = sender.decode("utf-8", "replace")
            if isinstance(message, Hello) and message.instance == self.instance:
                name = message.worker[:MAX_NAME]
                if session not in self.dispatcher.peers and not name.startswith("local-"):
                    say(f"worker {name} joined")
                self.names[session] = name
                self.workers.setdefault(name, WorkerFigures())
                self.dispatcher.hello(session, name, message.capacity, now)
            elif isinstance(message, Release) and message.job == self.job:
                self.dispatcher.release(session, message.chunks, now)

    def _drain_results(self, now: float) -> None:
        for _, message in self._receive_all("results", (Result, Failure)):
            if message.job != self.job:
                continue
            if isinstance(message, Failure):
                self.dispatcher.failure(message.chunk, message.attempt, message.reason[:500], now)
                continue
            try:
                partial = Partial.from_wire(message.partial)
                buckets = {_bucket_id(b): Partial.from_wire(p) for b, p in message.buckets}
            except Exception as exc:  # never trust the peer: whatever its partial does to the decoder
                self._drop(f"a malformed result from {message.worker[:MAX_NAME]}: {str(exc)[:200]}")
                self.dispatcher.failure(message.chunk, message.attempt, "malformed result", now)
                continue
            if self.dispatcher.result(message.chunk, message.attempt, _finite(message.seconds), now):
                if message.chunk in self.scan_ids:
                    newest = partial.last_ms
                    if newest is not None and (self.newest_scanned is None or newest > self.newest_scanned):
                        self.newest_scanned = newest
                    continue
                chunk = self.dispatcher.chunks[message.chunk]
                if self.analyzer.update_metrics(partial, message.chunk, buckets):
                    tally = self.file_tally.setdefault(chunk.file_index, [0, 0])
                    tally[0] += partial.lines
                    tally[1] += partial.entries
                size = chunk.size
                self.bytes_done += size
                figures = self.workers.setdefault(message.worker, WorkerFigures())
                figures.chunks += 1
                figures.bytes += size

    def _drain_heartbeats(self, now: float) -> None:
        for _, beat in self._receive_all("heartbeats", (Heartbeat,)):
            known = self.dispatcher.alive(beat.session, now)
            # Figures from any heartbeat during the job, even one that beat its Hello here
            # (only workers that joined are reported); strangers' only while they are few
            name = beat.worker[:MAX_NAME]
            if known or name in self.heartbeat_figures or len(self.heartbeat_figures) < MAX_STRANGERS:
                figures = self.heartbeat_figures.setdefault(name, WorkerFigures())
                figures.add_usage(_finite(beat.cpu_percent), _finite(beat.rss_mb), _finite(beat.peak_rss_mb))

    def _forget_requested(self) -> None:
        """Carry out ``Coordinator.handle_worker_failure`` calls made from other threads."""
        while True:
            try:
                name = self.coord._forget.get_nowait()
            except queue.Empty:
                return
            for session, peer in list(self.dispatcher.peers.items()):
                if peer.name == name:
                    self._worker_failed(session, "declared failed")

    def _worker_failed(self, session: str, why: str) -> None:
        """A worker's lease ends: what it held goes back to the queue, for other workers."""
        name = self.names.get(session, session)
        requeued = self.dispatcher.worker_gone(session, why)
        say(f"worker {name} {why}; {len(requeued)} chunk(s) requeued")

    # -- the outcome ----------------------------------------------------------------------

    def _no_worker_message(self) -> str:
        return f"no worker joined within {self.settings.join_timeout:g} s. {self._how_to_start_workers()}"

    def _how_to_start_workers(self) -> str:
        url = self.coord.local_url()
        curve = f" --curve {self.coord.curve_dir}" if self.coord.curve_dir else ""
        elsewhere = (" (on another machine, this machine's name or address instead of 127.0.0.1)"
                     if self.coord.bind in ("0.0.0.0", "*") else "")
        return (f"Start one in another terminal with\n    bin/lograd-worker alice --coordinator {url}{curve}\n"
                f"{elsewhere.strip() + chr(10) if elsewhere else ''}"
                f"or let the coordinator start its own with --local 2")

    def files_without_entries(self) -> list[tuple[str, int, str]]:
        """(path, lines, format) of each file that gave no entry, though none of its chunks
        failed (a failed chunk is said on its own)."""
        failed = {self.dispatcher.chunks[c].file_index for c in self.dispatcher.failed}
        return [(f.path, self.file_tally.get(i, [0, 0])[0], self.formats[i]) for i, f in enumerate(self.files)
                if i not in failed and not self.file_tally.get(i, [0, 0])[1]]

    def report(self, unreadable: list[Unreadable]) -> dict:
        d = self.dispatcher
        report = self.analyzer.get_current_metrics()
        failed = [d.chunks[c].failed_row(reason) for c, reason in sorted(d.failed.items())]
        for row in failed:
            say_failed(row)
        report["unreadable_files"] = unreadable_rows(unreadable)
        report["job"] = self.job_figures()
        report["job"].update(chunks=len(d.chunks), retried_chunks=len(d.retried), failed_chunks=failed)
        self.coord.add_job_keys(report)
        return report

    def job_figures(self) -> dict:
        """The report's ``job`` key: bytes, chunks, workers, time."""
        d = self.dispatcher
        elapsed = self.elapsed or (time.monotonic() - self.started)
        return {
            "bytes": self.total_bytes,
            "chunks": len(d.chunks),
            "scan_chunks": len(self.scan_ids),
            "window_rereads": self.rereads,
            "retried_chunks": len(d.retried),
            "failed_chunks": [],
            "workers": {name: w.as_report(self.heartbeat_figures.get(name))
                        for name, w in sorted(self.workers.items())},
            "elapsed_seconds": round(elapsed, 3),
            "throughput_mb_s": round(self.total_bytes / 1e6 / elapsed, 2) if elapsed > 0 else 0.0,
            "late_results": d.late_results,
            "dropped_messages": self.drops.count,
        }
