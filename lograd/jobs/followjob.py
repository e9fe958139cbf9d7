"""Follow mode: growing files analysed as lines arrive, a report every period.

The run is a series of short *rounds*: the :class:`~lograd.follow.Follower`
says which complete lines arrived, they are cut into chunks and handed to
the workers over the same sockets as a batch job, and the round ends when
every chunk is done. Between rounds, on each tick of the period (aligned to
the clock: every 10 s means at :00, :10, :20 ...), a report is made and
the state saved, so the offsets and the figures in a ``--state`` file always
describe the same lines.

With ``--last N`` the metrics cover the N seconds before the tick
(:class:`~lograd.jobs.window.SlidingWindow`); without it, every entry read (inside
``--from``/``--to`` when given).
"""
from __future__ import annotations

import os
import time
import uuid
from typing import TYPE_CHECKING, Callable

import msgspec
import zmq

from ..analyzer import Analyzer
from .local import LocalWorkers
from .plan import MIN_AUTO_CHUNK, chunk_size_for, refuse_filters, say, say_failed, say_hosts_ignored
from .sockets import JobSockets
from ..errors import EXIT_OK, EXIT_PARTIAL, NoWorkers, StateError
from ..follow import Follower, advance, followed_from_state, followed_state, load_state, save_state
from ..formats import job_format
from ..inputs import NO_FILES, expand, format_for, reference_ms, unreadable_rows
from .core import STOP_GRACE, FileSpan, FollowTicks, JobCore, split_pattern
from ..timestamps import format_ms
from .window import SlidingWindow, bucket_size

if TYPE_CHECKING:
    from ..coordinator import Coordinator

FAILED_KEPT = 100
"""Failed chunks listed in a report at most (the count covers all)."""


class FollowJob:
    """One follow run of a :class:`Coordinator` over ``paths``.

    ``emit(report)`` is called with each report (the SPEC §3 keys, ``job``,
    and ``follow``), the last one once the run is stopped (``final`` true).
    ``clock`` gives wall-clock seconds (entry times are compared with it).
    """

    def __init__(self, coord: Coordinator, paths: list[str], every: float, emit: Callable[[dict], None],
                 state_path: str | None = None, clock: Callable[[], float] = time.time,
                 outputs: list[str] = ()) -> None:
        self.coord = coord
        self.paths = paths
        self.every_ms = max(1, round(every * 1000))
        self.emit = emit
        self.state_path = state_path
        self.clock = clock
        self.files: list[str] = []  # as reports name them: HOST:PATH for a host's own file
        self.file_hosts: list[str | None] = []  # each file's host (--on-workers), or None
        self.remote: dict[str, dict] = {}  # --on-workers: per host, its followed files by device and inode
        self.remote_problems: list = []  # the last round's refusals and silent hosts
        self.chunk_note_said = False  # --chunk-size raised: said in the first round only
        self.formats: list[str] = []
        self.index: dict[str, int] = {}
        self.reports = 0
        self.retried = 0
        self.failed: list[dict] = []
        self.failed_count = 0
        self.said_unreadable: set[str] = set()
        self.bytes_read = 0
        self.chunks_done = 0
        if coord.window_length_ms is not None:
            self.analyzer: Analyzer = SlidingWindow([], coord.window_length_ms,
                                                    bucket_size(coord.window_length_ms, self.every_ms),
                                                    "app", coord.hosts)
        else:
            self.analyzer = Analyzer([], coord.window, "app", None, coord.hosts)
        self.analyzer.files = self.files  # one list, grown as files appear
        try:
            own = [*([state_path] if state_path else []), *outputs]
            self.follower = Follower(paths, self._restore(), ignore=own)
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(f"{state_path} is damaged ({exc!r})") from None

    # -- state ----------------------------------------------------------------------

    def _options(self) -> dict:
        """What the saved figures depend on: a state saved with other options cannot be reused."""
        c = self.coord
        bucket = self.analyzer.bucket_ms if isinstance(self.analyzer, SlidingWindow) else None
        options = {"format": c.fmt, "last_ms": c.window_length_ms,  # the key state files were saved with
                   "bucket_ms": bucket, "hosts": list(c.hosts),
                   "window": list(c.window) if c.window else None}
        if c.on_workers:
            options["on_workers"] = list(c.on_workers)
        return options

    def _restore(self) -> dict | None:
        """Offsets and figures from ``--state``, when it exists; the follower's part."""
        if self.state_path is None:
            return None
        try:
            state = load_state(self.state_path)
        except ValueError as exc:
            raise StateError(f"{self.state_path}: {exc}") from None
        except OSError as exc:
            raise StateError(f"cannot read {self.state_path}: {exc.strerror}") from None
        if state is None:
            return None
        try:
            follower = state["follower"]
            if state.get("options") != self._options():
                raise StateError(
                    f"{self.state_path} was saved by a run with other options "
                    f"({_describe(state.get('options'))}); give those again, or another --state file")
            self.files[:] = [str(p) for p in state["files"]]
            self.formats[:] = [str(f) for f in state["formats"]]
            self.file_hosts[:] = [None if h is None else str(h) for h in state.get("file_hosts", [None] * len(self.files))]
            self.remote = {str(h): followed_from_state(e) for h, e in state.get("fleet", {}).items()}
            self.analyzer.load_state(state["figures"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StateError):
                raise
            raise StateError(f"{self.state_path} is damaged ({exc})") from None
        self.index = {p: i for i, p in enumerate(self.files)}
        self._set_format()
        say(f"continuing from {self.state_path}: {len(self.files)} file(s), "
             f"{self.analyzer.total.lines:,} lines read before")
        return follower

    def _save(self) -> None:
        if self.state_path is None:
            return
        try:
            save_state(self.state_path, {"follower": self.follower.state(), "options": self._options(),
                                         "files": self.files, "formats": self.formats, "file_hosts": self.file_hosts,
                                         "fleet": {h: followed_state(f) for h, f in self.remote.items()},
                                         "figures": self.analyzer.to_state()})
        except OSError as exc:
            raise StateError(f"cannot write the state file {self.state_path}: {exc.strerror}") from None

    # -- the run --------------------------------------------------------------------

    def run(self) -> int:
        """Follow until the coordinator is asked to stop; the exit status."""
        c = self.coord
        local = LocalWorkers()
        ctx = zmq.Context()
        loop: JobSockets | None = None
        self._save()  # now, so that a state file that cannot be written stops us before any work
        try:
            spans = [FileSpan(name if host is None else name.split(":", 1)[1], 0, host=host)
                     for name, host in zip(self.files, self.file_hosts)]
            options = msgspec.structs.replace(c.job_options(c.chunk_size or MIN_AUTO_CHUNK, None), follow=True)
            self.core = JobCore(uuid.uuid4().hex, c.take_instance(), spans, self.formats, options, time.monotonic(),
                                self.analyzer)
            c.analyzer = self.analyzer
            loop = JobSockets(c, ctx, self.core)
            if c.local_workers:
                c.start_local_workers(local, loop)
            for problem in expand(self.paths)[1]:
                if not os.path.lexists(problem.path) or problem.reason == NO_FILES:
                    say(f"nothing at {problem.path} yet ({problem.reason}): it is read when it appears")
            ticks = FollowTicks(self.every_ms, self.clock())
            while not c.stop_requested:
                self._round(loop)
                if c.stop_requested:
                    break
                # wait for the next look at the files or the next tick, serving the sockets meanwhile
                wake = time.monotonic() + ticks.pause(self.clock())
                loop.serve(lambda m: c.stop_requested or m >= wake, wake_at=wake)
                tick = ticks.due(self.clock())
                if tick is not None and not c.stop_requested:
                    self._report(loop, tick)
                    self._save()
            # stopped: let the chunks in hand finish, briefly (a Ctrl-C in a terminal
            # stops the local workers too: what they hand back stays unread)
            grace = time.monotonic() + STOP_GRACE
            try:
                loop.serve(lambda m: self.core.finished or m >= grace, wake_at=grace)
            except NoWorkers:
                pass
            complete = self.core.finished
            self._settle(loop)
            self._report(loop, FollowTicks.final(self.clock(), self.core.bucket_ms), final=True)
            if complete:
                self._save()
            else:
                say("stopped with chunks unfinished; the state file keeps the last tick's offsets")
        finally:
            local.stop()
            if loop is not None:
                loop.close()
            ctx.destroy(linger=0)
        return EXIT_PARTIAL if self.failed_count or self.follower.unreadable or self.remote_problems else EXIT_OK

    def _round(self, loop: JobSockets) -> None:
        """Hand out the lines that arrived since the last round and wait until they are done."""
        indexed = [(self._file_index(span.path), span.start, span.size) for span in self.follower.poll()]
        references = {i: reference_ms(self.files[i]) for i, _, _ in indexed}
        if self.coord.on_workers:  # and what grew on each host, as its workers say
            self.core.relist()
            loop.serve(lambda m: self.coord.stop_requested or self.core.listing_done)
            if self.coord.stop_requested:
                return
            indexed += self._grown_on_hosts(references)
        if indexed:
            self._plan(indexed, references)
        loop.serve(lambda m: self.coord.stop_requested or self.core.finished)
        if not self.coord.stop_requested:
            self._settle(loop)

    def _plan(self, indexed: list[tuple[int, int, int]], references: dict[int, int]) -> None:
        """Queue a round's new lines, (file index, start, size) each: chunks of the round's
        size, read with the window as of now."""
        total = sum(size for _, _, size in indexed)
        size, note = chunk_size_for(total, self.coord.chunk_size, self.coord.workers_wanted)
        if note and not self.chunk_note_said:  # said once, not every round
            self.chunk_note_said = True
            say(note)
        window = (self.analyzer.horizon(int(self.clock() * 1000)), None) \
            if isinstance(self.analyzer, SlidingWindow) else self.coord.window
        self.core.add_chunks(indexed, size, window, references)
        self.bytes_read += total

    def _grown_on_hosts(self, references: dict[int, int]) -> list[tuple[int, int, int]]:
        """--on-workers: the complete lines that arrived in each host's files, from the
        round's listings (each file known by its device and inode, as a Follower knows it:
        growth, rotation within the glob, copy-truncate). A host that did not answer every
        glob meant for it this round keeps its offsets for the next."""
        fleet = self.core.fleet
        self.remote_problems = list(fleet.problems)
        now: dict[str, dict] = {}
        ends: dict[tuple[str, str], int] = {}
        for (host, path), (span, fmt) in fleet.files.items():
            device, inode, end = fleet.followed.get((host, path), (0, 0, 0))
            if device or inode:
                now.setdefault(host, {})[(device, inode)] = (path, span.size)
                ends[(host, path)] = end
        out = []
        for host in sorted(set(self.remote) | set(now)):
            globs = [g for h, g in map(split_pattern, self.coord.on_workers) if h in (None, host)]
            if not all((host, g) in fleet.answered for g in globs):
                continue  # not heard from this round: nothing forgotten, nothing read
            followed = self.remote.setdefault(host, {})
            for span in advance(followed, now.get(host, {}),
                                lambda path, start, size: max(start, min(ends[(host, path)], size))):
                fmt = fleet.files[(host, span.path)][1]
                index = self._file_index(f"{host}:{span.path}", fmt, host)
                references[index] = fleet.files[(host, span.path)][0].reference_ms
                out.append((index, span.start, span.size))
        return out

    def _file_index(self, name: str, fmt: str | None = None, host: str | None = None) -> int:
        """The report's index of a file (``HOST:PATH`` for a host's own, whose format its
        worker detected), and its format, decided when first seen."""
        index = self.index.get(name)
        if index is None:
            fmt = fmt or format_for(name, self.coord.fmt, say)
            if not self.formats:  # said once, of the first file
                say_hosts_ignored(self.coord.hosts, [fmt])
            refuse_filters(self.coord.filters, [fmt], [name])
            path = name if host is None else name.split(":", 1)[1]
            index = self.index[name] = self.core.add_file(path, fmt, host)  # the format joins self.formats
            self.files.append(name)
            self.file_hosts.append(host)
        return index

    def _set_format(self) -> None:
        self.analyzer.format = job_format(self.formats)
        self.analyzer.file_formats = self.formats

    def _settle(self, loop: JobSockets) -> None:
        """Forget the finished chunks (memory stays flat); keep the failures for the report."""
        done, failed, retried = self.core.settle()
        self.chunks_done += done
        self.retried += retried
        self.failed_count += len(failed)
        for chunk, reason in failed:
            self.failed.append(chunk.failed_row(reason))
            say_failed(self.failed[-1])
        del self.failed[:-FAILED_KEPT]

    def _report(self, loop: JobSockets, tick_ms: int, final: bool = False) -> None:
        if isinstance(self.analyzer, SlidingWindow):
            report = self.analyzer.report_at(tick_ms)
        else:
            report = self.analyzer.get_current_metrics()
        job = loop.job_figures()
        job.update(bytes=self.bytes_read, chunks=self.chunks_done, retried_chunks=self.retried,
                   failed_chunks=list(self.failed), failed_chunk_count=self.failed_count,
                   throughput_mb_s=round(self.bytes_read / 1e6 / job["elapsed_seconds"], 2)
                   if job["elapsed_seconds"] > 0 else 0.0)
        unreadable = self.follower.unreadable + self.remote_problems
        report["unreadable_files"] = unreadable_rows(unreadable)
        hosts = self.core.hosts_report()
        if hosts is not None:
            report["hosts"] = hosts
        for u in unreadable:
            if u.path not in self.said_unreadable:
                self.said_unreadable.add(u.path)
                say(f"cannot read {u.path}: {u.reason}")
        report["job"] = job
        self.coord.add_job_keys(report)
        self.reports += 1
        report["follow"] = {"report": self.reports, "time": format_ms(tick_ms), "final": final,
                            "state_file": self.state_path}
        self.emit(report)


def _describe(options) -> str:
    if not isinstance(options, dict):
        return "unknown"
    parts = []
    if options.get("last_ms") is not None:
        parts.append(f"--last {options['last_ms'] / 1000:g}")
    for host in options.get("hosts") or ():
        parts.append(f"--host {host!r}")
    if options.get("format") not in (None, "auto"):
        parts.append(f"--format {options['format']}")
    return " ".join(parts) or "no window"
