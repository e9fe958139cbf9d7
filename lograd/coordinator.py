"""The coordinator: the command's jobs, their sockets, and the thin loop that serves them.

What to do is decided by the pure core (:mod:`lograd.jobs.core`: joins, leases,
deadlines, retries, the phases of ``--last``, when the job is done); :class:`JobSockets`
turns what arrives on the four sockets into its events and carries out its actions.
A batch job (:meth:`Coordinator.run`) and follow mode (:mod:`lograd.jobs.followjob`) are
two drivers of the same core.
"""
from __future__ import annotations

import queue
import sys
import time
import uuid

import zmq

from .aggregate import TimeBounds
from .analyzer import Analyzer
from .config import DEFAULT_BIND, DEFAULT_PORT, Settings
from .errors import EXIT_OK, EXIT_PARTIAL, NothingToRead
from .filters import EntryFilter
from .inputs import InputFile, expand, format_for, reference_ms, unreadable_rows
from .jobs.local import LocalWorkers, local_address
from .jobs.plan import chunk_size_for, no_entries_message, refuse_filters, say, say_failed, say_hosts_ignored
from .jobs.sockets import JobSockets
from .jobs.core import (FileSpan, JobCore, JobOptions)
from .net.security import server_curve
from .stdin import NAME as STDIN, StdinSpool, renamed
from .timestamps import LONGEST_WINDOW_MS

class Coordinator:
    """Runs jobs: plans chunks, hands them to workers, merges their partials.

    ``local_workers`` starts that many worker processes on this machine;
    ``workers_wanted`` waits for that many before dispatching.
    """

    def __init__(self, port: int = DEFAULT_PORT, bind: str = DEFAULT_BIND,
                 settings: Settings = Settings(), local_workers: int = 0, workers_wanted: int = 0,
                 chunk_size: int | None = None, window: TimeBounds | None = None, fmt: str = "auto",
                 progress: bool = False, hosts: list[str] = (), last: float | None = None,
                 curve_dir: str | None = None, filters: EntryFilter | None = None, templates: bool = True,
                 on_workers: list[str] = (), started: LocalWorkers | None = None,
                 instance: str | None = None) -> None:
        self.port = port
        self.next_instance = instance  # the next job's instance, when chosen before (--local workers join it)
        self.curve_dir = curve_dir
        self.curve = None if curve_dir is None else server_curve(curve_dir)
        self.bind = bind
        self.settings = settings
        self.local_workers = local_workers
        self.started = started  # --local workers already started (by the command line)
        self.workers_wanted = max(workers_wanted, 1)  # --local: chunks go out from the first one ready
        self.chunk_size = chunk_size
        self.window = window
        self.fmt = fmt
        self.progress = progress
        self.hosts = tuple(dict.fromkeys(h.encode("utf-8", "surrogateescape") for h in hosts))  # --host, each once
        self.filters = filters
        self.templates = templates
        self.on_workers = tuple(on_workers)  # --on-workers: globs each worker's host lists
        self.window_length_ms = None if last is None else min(round(last * 1000), LONGEST_WINDOW_MS)
        self.analyzer = Analyzer()
        self.exit_status = EXIT_OK
        self.shown_as: dict[str, str] = {}  # a path as messages name it (a spool: standard input)
        self.last_report: dict | None = None
        self.stop_requested = False  # follow mode: set (by a signal handler too) to end the run
        self.declared_failed: queue.SimpleQueue[str] = queue.SimpleQueue()  # handle_worker_failure, from any thread

    def start_local_workers(self, local: LocalWorkers, loop: JobSockets) -> None:
        """Start the --local workers; when no worker from elsewhere is awaited, the loop
        watches them (all of them exiting ends the job at once: JobOptions.watch_local)."""
        if self.started is not None and self.started.processes:
            local.adopt(self.started)
        else:
            local.start(self.local_workers, self.local_url(), self.settings, self.curve_dir, loop.core.instance)
        loop.local = local

    def job_options(self, chunk_size: int, window_length_ms: int | None) -> JobOptions:
        """What the core decides a job with, from this coordinator's settings."""
        return JobOptions(
            settings=self.settings, workers_wanted=self.workers_wanted, local_workers=self.local_workers,
            watch_local=bool(self.local_workers) and self.workers_wanted <= self.local_workers,
            chunk_size=chunk_size, window=self.window, window_length_ms=window_length_ms, hosts=self.hosts,
            # a chosen size: the last chunks cut finer, a worker's worth each (--local ones too)
            finer_tail=max(self.workers_wanted, self.local_workers) if self.chunk_size is None else 0,
            filters=[] if self.filters is None else self.filters.to_wire(), templates=self.templates,
            on_workers=self.on_workers, format_asked=self.fmt, url=self.local_url(),
            how_to_start=self.how_to_start_workers())

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
        return JobCore(uuid.uuid4().hex, self.take_instance(), spans, formats, self.job_options(size, self.window_length_ms),
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

    async def start(self) -> None:
        """Check that this coordinator's four ports can be listened on, now rather than at
        the first job. Each job (:meth:`process_file`) listens on them while it runs; workers
        started in between wait for it and join as soon as it listens."""
        ctx = zmq.Context()
        try:
            JobSockets.check_ports(ctx, self.bind, self.port)
        finally:
            ctx.destroy(linger=0)

    async def process_file(self, filepath: str | list[str]) -> dict:
        """Analyse a file (or paths) with the workers that join; the SPEC §3 report."""
        await self.distribute_work(filepath)
        return self.last_report

    async def distribute_work(self, filepath: str | list[str]) -> None:
        """Run the whole job over ``filepath`` in a thread; the report lands in ``last_report``."""
        import asyncio  # only the async API needs it (30 ms of the command line's start-up)
        paths = [filepath] if isinstance(filepath, str) else list(filepath)
        await asyncio.to_thread(self.run, paths)

    async def handle_worker_failure(self, worker_id: str) -> None:
        """Declare every lease of ``worker_id`` dead: its chunks go back to the queue."""
        self.declared_failed.put(worker_id)

    def take_instance(self) -> str:
        """A new job's instance: the one chosen before, once, else a new one."""
        instance, self.next_instance = self.next_instance or uuid.uuid4().hex, None
        return instance

    def local_url(self) -> str:
        """Where a worker on this machine finds the coordinator."""
        return local_address(self.bind, self.port)

    def stop(self) -> None:
        """End a follow run: the chunks in hand finish, a final report is made.
        Safe from a signal handler (only a flag is set)."""
        self.stop_requested = True

    def follow(self, paths: list[str], every: float, emit, state_path: str | None = None,
               outputs: list[str] = ()) -> int:
        """Follow ``paths`` (SPEC §4 ``--follow``) until :meth:`stop`: ``emit(report)`` every
        ``every`` seconds and once at the end. ``outputs`` are files the run writes (never
        read as logs, even in a followed directory). Returns the exit status."""
        from .jobs.followjob import FollowJob
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
        if not files and not self.on_workers:
            raise NothingToRead("nothing to analyse: no input file could be read")
        local = LocalWorkers()
        ctx = zmq.Context()
        loop: JobSockets | None = None
        try:
            # listening before the files are read for their formats: the workers the command
            # line started say Hello meanwhile, and the first chunk goes out once planned
            loop = JobSockets(self, ctx)
            core = self.plan(files)
            if core.dispatcher.chunks or not core.listing_done:
                loop.attach(core)
                if self.local_workers:
                    self.start_local_workers(local, loop)
                loop.serve(lambda now: core.finished)
                loop.close()
                local.terminate()  # they exit while the report is built; reaped below
                job = loop.job_figures()
            else:
                loop.close()
                job = core.job_figures(0.0, 0)
            self.analyzer = core.analyzer
            empty = core.files_without_entries()
            for path, lines, fmt in empty:
                say(no_entries_message(self.shown_as.get(path, path), lines, fmt))
            report = core.analyzer.get_current_metrics()
            for row in job["failed_chunks"]:
                say_failed(row)
            unreadable = unreadable + core.listing_problems()
            report["unreadable_files"] = unreadable_rows(unreadable)
            hosts = core.hosts_report()
            if hosts is not None:
                report["hosts"] = hosts
            report["job"] = job
            self.add_job_keys(report)
        finally:
            if loop is not None:
                loop.close()
            local.stop()
            ctx.destroy(linger=0)
        status = EXIT_PARTIAL if unreadable or report["job"]["failed_chunks"] or empty else EXIT_OK
        self.last_report, self.exit_status = report, status
        return report, status
