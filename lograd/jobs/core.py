"""What the coordinator decides, without I/O: one job's state machine.

The coordinator is this core and a thin loop around it (:mod:`lograd.coordinator`
for a batch job, :mod:`lograd.jobs.followjob` for follow mode). The loop turns what
arrives into events and carries out the actions :meth:`JobCore.handle` returns::

    socket message ──▶ Received(session, message) ─┐
    a TCP connection closed ──▶ ConnectionLost ────┤
    a send that failed ──▶ Unreachable ────────────┼──▶ JobCore.handle(event, now) ──▶ [Action]
    the API's handle_worker_failure ──▶ Declared ──┤        Hand (send an Assign) · Beat · Say
    time passed (each turn of the loop) ──▶ Tick ──┘        · Drop (garbage, counted) · GiveUp

Nothing here reads a clock, a file or a socket: ``now`` (seconds, monotonic) comes
with every event, so a test drives every timeout by passing a later ``now``.
Leases, deadlines, retries and quarantine are the :class:`~lograd.jobs.dispatch.Dispatcher`'s
(also pure); this core adds joins ("enough workers joined", "no worker left"), the
phases of ``--last`` (:class:`LastPhase`), the merge into the Analyzer, and when
the job is done (:attr:`JobCore.finished`).
"""
from __future__ import annotations

import enum

import msgspec

from ..aggregate import Partial, TimeBounds
from ..analyzer import Analyzer
from ..config import Settings
from .dispatch import Chunk, Dispatcher, plan_chunks
from ..formats import LAYOUT_PREFIX, get, job_format
from ..inputs import Unreadable, chosen_format
from ..net.protocol import Assign, Beat, Failure, Heartbeat, Hello, ListFiles, Listing, Release, Result

TAIL_CHUNKS = 2
"""``--last`` guesses the newest entry from this many chunks at the end of each file."""
WAIT_SAID_AFTER = 0.5
"""Seconds without the workers awaited before the user is told where and how to start them."""
MAX_NAME = 100
"""Characters of a worker's name kept."""
MAX_STRANGERS = 256
"""Heartbeats of workers that have not said Hello are kept for this many names at most."""
JOINING_BEAT = 0.05
"""Seconds between beats while workers are joining: a new worker learns who we are from a
beat, and every beat it waits for delays the job's start."""
POLL_AT_LEAST = 0.25
"""The loop wakes at least this often (progress, and signals)."""
LISTING_SECONDS = 10.0
"""--on-workers: how long the workers asked may take to list their files."""
CLOCK_SKEW_MS = 60_000
"""A host whose clock differs from the coordinator's by more than this is warned about."""


class LastPhase(enum.Enum):
    """The phases of a ``--last`` job: SCAN the files' last chunks for the newest entry (times
    only), READ everything with the window ending there, REREAD with the right window when
    some entry was newer than the scan's guess."""

    SCAN = "scan"
    READ = "read"
    REREAD = "reread"


# -- events ---------------------------------------------------------------------------

class Received(msgspec.Struct, frozen=True):
    """A protocol message from a worker (``session``: the connection's identity, or "");
    ``wall_ms``: the coordinator's wall clock when it arrived (a Listing's clock is compared)."""

    session: str
    message: object
    wall_ms: int | None = None


class ConnectionLost(msgspec.Struct, frozen=True):
    """The TCP connection of ``session`` closed: its process ended, or its machine said so."""

    session: str


class Unreachable(msgspec.Struct, frozen=True):
    """A message to ``session`` could not be sent."""

    session: str


class Declared(msgspec.Struct, frozen=True):
    """The Python API declared the worker ``name`` failed (``handle_worker_failure``)."""

    name: str


class Tick(msgspec.Struct, frozen=True):
    """Time passed: timers run, chunks are handed out. ``local_exits``: the exit statuses of
    the ``--local`` workers when every one of them has exited, else None."""

    local_exits: tuple[int, ...] | None = None


# -- actions --------------------------------------------------------------------------

class Hand(msgspec.Struct, frozen=True):
    """Send ``assign`` to the worker ``session``; once sent, say ``note`` when there is one."""

    session: str
    assign: Assign
    note: str | None = None


class Ask(msgspec.Struct, frozen=True):
    """Send ``message`` (a ListFiles) to the worker ``session``."""

    session: str
    message: ListFiles


class BeatNow(msgspec.Struct, frozen=True):
    """Publish ``beat`` to every worker."""

    beat: Beat


class Say(msgspec.Struct, frozen=True):
    """Tell the user ``text`` (one line on stderr)."""

    text: str


class Drop(msgspec.Struct, frozen=True):
    """A message was garbage or out of place: count it (``job.dropped_messages``)."""

    what: str


class GiveUp(msgspec.Struct, frozen=True):
    """No worker is left to do the work: end the job with NoWorkers(``message``), exit 3."""

    message: str


Action = Hand | Ask | BeatNow | Say | Drop | GiveUp


class JobOptions(msgspec.Struct, frozen=True):
    """What the command line asked that the core decides with."""

    settings: Settings = msgspec.field(default_factory=Settings)
    workers_wanted: int = 1
    local_workers: int = 0
    watch_local: bool = False  # every --local worker exiting ends the job (no other is awaited)
    chunk_size: int = 1 << 20
    finer_tail: int = 0  # workers whose worth of the job's last chunks is cut finer (0: none; a size asked)
    window: TimeBounds | None = None
    window_length_ms: int | None = None  # --last, in ms
    hosts: tuple[bytes, ...] = ()
    filters: list = msgspec.field(default_factory=list)  # EntryFilter.to_wire(), or []
    templates: bool = True
    on_workers: tuple[str, ...] = ()  # --on-workers: globs (or HOST:GLOB) the workers list
    follow: bool = False  # follow mode: the hosts list every round, their files are not planned here
    format_asked: str = "auto"  # --format, for the files the workers list
    url: str = ""  # where workers find the coordinator
    how_to_start: str = ""  # how to start a worker, said when none comes


class WorkerFigures(msgspec.Struct):
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


def finite(value: float) -> float:
    """A peer's figure as a number a report can print: NaN, infinities and negatives are 0."""
    value = float(value)
    return value if 0.0 <= value < float("inf") else 0.0


def bucket_id(value) -> int:
    """A follow bucket's id from the wire (an integer; anything else is garbage)."""
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"bucket is not an integer: {value!r}")
    return value


class FileSpan(msgspec.Struct):
    """A file the job reads: its path and size when planned, whether it is one chunk
    (compressed), and the time that dates its stamps without a year (its mtime, ms)."""

    path: str
    size: int
    whole: bool = False
    reference_ms: int = 0
    host: str | None = None  # a host's own file (--on-workers): only its workers read it

    @property
    def name(self) -> str:
        """The file as reports name it: ``HOST:PATH`` for a host's own file."""
        return self.path if self.host is None else f"{self.host}:{self.path}"


def _listed_row(row, follow: bool = False) -> bool:
    """Whether a Listing's row is ``[path, size, format, mtime_ms, compressed]`` (and with
    ``follow`` ``device, inode, complete_end``) with a format lograd has (a --log-format
    layout never comes from a peer)."""
    if not (isinstance(row, list) and len(row) == (8 if follow else 5) and isinstance(row[0], str)
            and isinstance(row[2], str) and all(type(v) is int for v in (row[1], *row[3:]))):
        return False
    if row[2].startswith(LAYOUT_PREFIX):
        return False
    try:
        get(row[2])
    except KeyError:
        return False
    return True


def split_pattern(pattern: str) -> tuple[str | None, str]:
    """``HOST:GLOB`` -> (HOST, GLOB); a glob alone (it starts with ``/``) -> (None, GLOB)."""
    host, colon, glob = pattern.partition(":")
    if colon and host and "/" not in host and glob.startswith("/"):
        return host, glob
    return None, pattern


class FleetListing(msgspec.Struct):
    """--on-workers: what was asked of which worker, and what the hosts answered."""

    patterns: tuple[str, ...]
    asked: set[tuple[str, str]] = msgspec.field(default_factory=set)  # (session, glob) not answered yet
    host_of: dict[str, str] = msgspec.field(default_factory=dict)  # session asked -> its host
    answered: set[tuple[str, str]] = msgspec.field(default_factory=set)  # (host, glob) some worker of it listed
    sent: bool = False
    deadline: float = 0.0
    files: dict[tuple[str, str], tuple[FileSpan, str]] = msgspec.field(default_factory=dict)  # (host, path) -> file, format
    matched: set[str] = msgspec.field(default_factory=set)  # globs some host listed a file for
    problems: list[Unreadable] = msgspec.field(default_factory=list)  # refusals, globs nothing matched
    clocks_said: set[str] = msgspec.field(default_factory=set)
    none_said: bool = False  # "no worker serves its own files", said once (follow mode asks every round)
    followed: dict[tuple[str, str], tuple[int, int, int]] = msgspec.field(default_factory=dict)  # -> device, inode, line end


class JobCore:
    """One job: its chunks, its workers, its phases and its figures.

    A batch job plans every file's chunks at once (``files``); follow mode starts with
    none and adds each round's with :meth:`add_chunks`. ``analyzer`` is where results
    are merged (follow mode passes its sliding window).
    """

    def __init__(self, job: str, instance: str, files: list[FileSpan], formats: list[str],
                 options: JobOptions, now: float, analyzer: Analyzer | None = None) -> None:
        self.job = job
        self.instance = instance
        self.files = files
        self.formats = formats
        self.options = options
        self.settings = options.settings
        self.window = options.window
        self.started = now
        self.total_bytes = sum(f.size for f in files)
        self.scan_ids: set[int] = set()
        self.newest_scanned: int | None = None
        self.last_phase: LastPhase | None = None
        self.rereads = 0
        self.guess: int | None = None
        self.read_from = 0  # the first chunk of the reading that counts (--last: its last phase)
        self.next_chunk_id = 0
        self.fleet = FleetListing(options.on_workers) if options.on_workers else None
        self.listing_done = self.fleet is None  # --on-workers: nothing is planned before the hosts list
        self.dispatcher = Dispatcher([] if self.fleet else self._first_chunks(), options.settings)
        self.bucket_ms = getattr(analyzer, "bucket_ms", 0)  # follow --last: metrics split by entry time
        self.analyzer = analyzer if analyzer is not None else self._fresh_analyzer()
        self.file_tally: dict[int, list[int]] = {}  # file index -> [lines, entries, errors, bytes] merged
        self.workers: dict[str, WorkerFigures] = {}
        self.heartbeat_figures: dict[str, WorkerFigures] = {}
        self.names: dict[str, str] = {}  # session -> worker name
        self.bytes_done = 0
        self.next_beat = now
        self.lonely_since: float | None = now  # since when no worker is alive
        self.dispatching = False  # until enough workers joined (or we waited long enough)
        self.serving: dict[str, str] = {}  # session -> host, of the workers that serve their files
        self.stranded_since: dict[str | None, float] = {}  # host (None: shared paths) -> since when its chunks wait
        self.wait_said = False  # whether the user was told what the job waits for

    # -- what the loop asks -------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Every chunk planned so far is done or failed, and no ``--last`` phase (and no
        listing of the hosts' files) is left."""
        return self.listing_done and self.dispatcher.finished and self.last_phase is None

    def next_wake(self, now: float) -> float:
        """The latest time (monotonic) at which the loop should send a :class:`Tick`."""
        wake = [self.next_beat, now + POLL_AT_LEAST]
        if self.lonely_since is not None and self._work_waits():
            wake.append(self.lonely_since + self.settings.join_timeout)
        deadline = self.dispatcher.next_deadline()
        if deadline is not None:
            wake.append(deadline)
        return min(wake)

    def relist(self) -> None:
        """Follow mode with --on-workers: ask the hosts again (each round) what their files are."""
        fleet = self.fleet
        fleet.sent = False
        fleet.asked.clear()
        fleet.answered.clear()
        fleet.files.clear()
        fleet.followed.clear()
        fleet.problems.clear()
        self.listing_done = False

    def add_file(self, path: str, fmt: str, host: str | None = None) -> int:
        """Follow mode: a file seen for the first time (``host``'s own, or a shared path); its index."""
        self.files.append(FileSpan(path, 0, host=host))
        self.formats.append(fmt)
        self._set_format()
        return len(self.files) - 1

    def add_chunks(self, spans: list[tuple[int, int, int]], chunk_size: int, window: TimeBounds | None,
                   references: dict[int, int]) -> list[Chunk]:
        """Follow mode: a round's new lines, (file index, start, size) each, cut into chunks
        of ``chunk_size`` and queued, read with ``window``; ``references`` dates each
        file's stamps without a year. The chunks."""
        chunks = []
        for index, begin, size in spans:
            for start in range(begin, begin + size, chunk_size):
                chunks.append(Chunk(self.next_chunk_id + len(chunks), index, self.files[index].path, start,
                                    min(chunk_size, begin + size - start), self.files[index].host))
        for index, ms in references.items():
            self.files[index].reference_ms = ms
        self.next_chunk_id += len(chunks)
        self.window = window
        self.dispatcher.add(chunks)
        return chunks

    def hosts_report(self) -> dict | None:
        """The report's ``hosts`` (--on-workers): per host, its files, the bytes of them read,
        entries, errors and error rate; None when no file is a host's own."""
        if self.fleet is None:
            return None
        hosts: dict[str, dict] = {}
        for i, f in enumerate(self.files):
            if f.host is None:
                continue
            lines, entries, errors, read = self.file_tally.get(i, [0, 0, 0, 0])
            row = hosts.setdefault(f.host, {"files": 0, "bytes": 0, "entries": 0, "errors": 0})
            row["files"] += 1
            row["bytes"] += read
            row["entries"] += entries
            row["errors"] += errors
        for row in hosts.values():
            row["error_rate"] = round(row["errors"] / row["entries"], 6) if row["entries"] else 0.0
        return dict(sorted(hosts.items()))

    def listing_problems(self) -> list[Unreadable]:
        """--on-workers: the refusals of hosts and the globs no host had a file for."""
        return [] if self.fleet is None else list(self.fleet.problems)

    def failed_rows(self) -> list[dict]:
        """The report's ``job.failed_chunks``: the chunks of the reading that counts which
        failed. With ``--last``, a scan chunk or an earlier phase's chunk that failed is read
        again by the last phase: listed once, if it failed there too."""
        d = self.dispatcher
        return [d.chunks[c].failed_row(reason) for c, reason in sorted(d.failed.items()) if c >= self.read_from]

    def settle(self) -> tuple[int, list[tuple[Chunk, str]], int]:
        """Follow mode, between rounds: forget the chunks that are done or failed (memory stays
        flat): (how many were done, the failed ones with their reasons, how many retried)."""
        done, failed, retried = self.dispatcher.forget_settled()
        self.analyzer.forget_chunks(done)
        return len(done), failed, retried

    def job_figures(self, elapsed: float, dropped: int) -> dict:
        """The report's ``job`` key, ``elapsed`` seconds after the start, ``dropped`` messages
        thrown away."""
        d = self.dispatcher
        return {
            "bytes": self.total_bytes,
            "chunks": len(d.chunks),
            "scan_chunks": len(self.scan_ids),
            "window_rereads": self.rereads,
            "retried_chunks": len(d.retried),
            "failed_chunks": self.failed_rows(),
            "workers": {name: w.as_report(self.heartbeat_figures.get(name))
                        for name, w in sorted(self.workers.items())},
            "elapsed_seconds": round(elapsed, 3),
            "throughput_mb_s": round(self.total_bytes / 1e6 / elapsed, 2) if elapsed > 0 else 0.0,
            "late_results": d.late_results,
            "dropped_messages": dropped,
        }

    def files_without_entries(self) -> list[tuple[str, int, str]]:
        """(path, lines, format) of each file that gave no entry, though none of its chunks
        failed (a failed chunk is said on its own)."""
        failed = {self.dispatcher.chunks[c].file_index for c in self.dispatcher.failed}
        return [(f.name, self.file_tally.get(i, [0, 0, 0, 0])[0], self.formats[i]) for i, f in enumerate(self.files)
                if i not in failed and not self.file_tally.get(i, [0, 0, 0, 0])[1]]

    # -- events -------------------------------------------------------------------------

    def handle(self, event, now: float) -> list[Action]:
        """What to do about ``event`` at ``now``."""
        actions = self._handle(event, now)
        # a --last phase ends when its chunks are done or failed, whatever settled the last
        # one (a result, a Failure, a deadline, a lost worker); a phase may have no chunk
        while self.last_phase is not None and self.dispatcher.finished:
            self._next_last_phase()
        return actions

    def _handle(self, event, now: float) -> list[Action]:
        if isinstance(event, Received):
            return self._received(event.session, event.message, now, event.wall_ms)
        if isinstance(event, Tick):
            return self._tick(event, now)
        if isinstance(event, ConnectionLost):
            if event.session in self.dispatcher.peers:
                return self._worker_failed(event.session, "lost its connection (its process ended?)")
            return []
        if isinstance(event, Unreachable):
            return self._worker_failed(event.session, "unreachable")
        if isinstance(event, Declared):
            return [a for session, peer in list(self.dispatcher.peers.items()) if peer.name == event.name
                    for a in self._worker_failed(session, "declared failed")]
        raise TypeError(f"not an event: {event!r}")

    def _received(self, session: str, message, now: float, wall_ms: int | None = None) -> list[Action]:
        if isinstance(message, Hello):
            if message.instance != self.instance:
                return []
            name = message.worker[:MAX_NAME]
            said = ([Say(f"worker {name} joined")]
                    if session not in self.dispatcher.peers and not name.startswith("local-") else [])
            self.names[session] = name
            self.workers.setdefault(name, WorkerFigures())
            # a worker serving its host's files reads only them; the others read shared paths
            self.dispatcher.hello(session, name, message.capacity, now,
                                  message.host[:MAX_NAME] if message.serves else None)
            if message.serves:
                self.serving[session] = message.host[:MAX_NAME]
                if self.fleet is not None and self.fleet.sent and not self.listing_done:
                    said += self._ask(session)  # joined (or came back) while the hosts list
            return said
        if isinstance(message, Listing):
            return self._listed(session, message, wall_ms, now) if message.job == self.job else []
        if isinstance(message, Release):
            if message.job == self.job:
                self.dispatcher.release(session, message.chunks, now)
            return []
        if isinstance(message, Failure):
            if message.job == self.job:
                self.dispatcher.failure(message.chunk, message.attempt, message.reason[:500], now)
            return []
        if isinstance(message, Result):
            return self._result(message, now) if message.job == self.job else []
        if isinstance(message, Heartbeat):
            known = self.dispatcher.alive(message.session, now)
            # Figures from any heartbeat during the job, even one that beat its Hello here
            # (only workers that joined are reported); strangers' only while they are few
            name = message.worker[:MAX_NAME]
            if known or name in self.heartbeat_figures or len(self.heartbeat_figures) < MAX_STRANGERS:
                figures = self.heartbeat_figures.setdefault(name, WorkerFigures())
                figures.add_usage(finite(message.cpu_percent), finite(message.rss_mb), finite(message.peak_rss_mb))
            return []
        return [Drop(f"an unexpected {type(message).__name__}")]

    def _result(self, message: Result, now: float) -> list[Action]:
        try:
            partial = Partial.from_wire(message.partial)
            buckets = {bucket_id(b): Partial.from_wire(p) for b, p in message.buckets}
        except Exception as exc:  # never trust the peer: whatever its partial does to the decoder
            self.dispatcher.failure(message.chunk, message.attempt, "malformed result", now)
            return [Drop(f"a malformed result from {message.worker[:MAX_NAME]}: {str(exc)[:200]}")]
        if not self.dispatcher.result(message.chunk, message.attempt, finite(message.seconds), now):
            return []
        if message.chunk in self.scan_ids:
            newest = partial.last_ms
            if newest is not None and (self.newest_scanned is None or newest > self.newest_scanned):
                self.newest_scanned = newest
        else:
            chunk = self.dispatcher.chunks[message.chunk]
            if self.analyzer.update_metrics(partial, message.chunk, buckets):
                tally = self.file_tally.setdefault(chunk.file_index, [0, 0, 0, 0])
                tally[0] += partial.lines
                tally[1] += partial.entries
                tally[2] += partial.errors
                tally[3] += chunk.size
            self.bytes_done += chunk.size
            figures = self.workers.setdefault(message.worker[:MAX_NAME], WorkerFigures())
            figures.chunks += 1
            figures.bytes += chunk.size
        return []

    def _tick(self, tick: Tick, now: float) -> list[Action]:
        out: list[Action] = []
        if now >= self.next_beat:
            out.append(BeatNow(Beat(self.instance, self.job, len(self.dispatcher.pending))))
            interval = self.settings.heartbeat_interval
            self.next_beat = now + (interval if self.dispatching else min(interval, JOINING_BEAT))
        for peer in self.dispatcher.silent(now):
            out += self._worker_failed(peer.session, "stopped answering")
        for chunk_id in self.dispatcher.expire(now):
            out.append(Say(f"chunk {chunk_id} timed out; retrying it elsewhere"))
        out += self._check_workers(now, tick.local_exits)
        if self.dispatching and not self.listing_done:
            out += self._listing(now)
        out += self._strand(now)
        if self.dispatching and not any(isinstance(a, GiveUp) for a in out):
            out += self._assign(now)
        return out

    # -- decisions ----------------------------------------------------------------------

    def _check_workers(self, now: float, local_exits: tuple[int, ...] | None) -> list[Action]:
        """Start dispatching once enough workers joined; give up when none is left."""
        s, o = self.settings, self.options
        alive = self.dispatcher.workers_alive()
        if alive:
            self.lonely_since = None
        elif self.lonely_since is None:
            self.lonely_since = now
        elif not self._work_waits():
            self.lonely_since = now  # nothing waits for a worker (follow mode, between rounds)
        elif now - self.lonely_since >= s.join_timeout:
            return [GiveUp(f"no worker joined within {s.join_timeout:g} s. {o.how_to_start}")]
        elif o.watch_local and local_exits is not None:
            return [GiveUp(f"every local worker exited (status {', '.join(map(str, local_exits))}) "
                           f"and none is left to do the work; their messages are above")]
        out: list[Action] = []
        if (not self.dispatching and not self.wait_said and now - self.started >= WAIT_SAID_AFTER
                and self._work_waits() and alive < o.workers_wanted and o.workers_wanted > o.local_workers):
            self.wait_said = True  # workers from elsewhere are awaited: say how to start them
            missing = o.workers_wanted - alive
            out.append(Say(f"waiting up to {s.join_timeout:g} s for {missing} more "
                           f"worker{'s' if missing > 1 else ''} on {o.url}. {o.how_to_start}"))
        if not self.dispatching and alive:
            if alive >= o.workers_wanted or now - self.started >= s.join_timeout:
                if alive < o.workers_wanted:
                    out.append(Say(f"only {alive} of {o.workers_wanted} workers joined "
                                   f"within {s.join_timeout:g} s; starting with them"))
                self.dispatching = True
        return out

    def _work_waits(self) -> bool:
        """Whether something waits for workers: chunks, or the hosts' listing (--on-workers)."""
        return bool(self.dispatcher.pending) or not self.listing_done

    def _assign(self, now: float) -> list[Action]:
        out: list[Action] = []
        o = self.options
        window = self.window or (None, None)
        for a in self.dispatcher.assign(now):
            c = a.chunk
            f = self.files[c.file_index]
            note = (f"chunk {c.id} ({c.path} @{c.start}) retried on {self.names.get(a.session)}, "
                    f"attempt {a.attempt}" if a.attempt > 1 else None)
            out.append(Hand(a.session, Assign(
                self.job, c.id, a.attempt, c.path, c.file_index, c.start, c.size, self.formats[c.file_index],
                window[0], window[1], list(o.hosts), int(c.id in self.scan_ids), self.bucket_ms, f.reference_ms,
                o.filters, int(o.templates)), note))
        return out

    def _worker_failed(self, session: str, why: str) -> list[Action]:
        """A worker's lease ends: what it held goes back to the queue, for other workers."""
        if session not in self.dispatcher.peers:
            return []
        self.serving.pop(session, None)  # (what it was asked to list may still come, until the deadline)
        requeued = self.dispatcher.worker_gone(session, why)
        return [Say(f"worker {self.names.get(session, session)} {why}; {len(requeued)} chunk(s) requeued")]

    # -- --on-workers -------------------------------------------------------------------

    def _listing(self, now: float) -> list[Action]:
        """Ask the serving workers for their files once; plan when all answered or time is up."""
        fleet = self.fleet
        out: list[Action] = []
        if not fleet.sent:
            fleet.sent = True
            fleet.deadline = now + LISTING_SECONDS
            for session in sorted(self.serving):
                out += self._ask(session)
            if not self.serving and not fleet.none_said:
                fleet.none_said = True
                out.append(Say("no worker serves its own files (lograd-worker --serve DIR): "
                               "--on-workers finds nothing"))
        if not fleet.asked or now >= fleet.deadline:
            for host, glob in sorted({(fleet.host_of[s], g) for s, g in fleet.asked} - fleet.answered):
                fleet.problems.append(Unreadable(f"{host}:{glob}", f"no worker of host {host} listed it "
                                                                   f"within {LISTING_SECONDS:g} s"))
                out.append(Say(f"no worker of host {host} listed {glob} within {LISTING_SECONDS:g} s"))
            out += self._plan_listed()
        return out

    def _ask(self, session: str) -> list[Action]:
        """Ask a serving worker for each glob meant for its host that its host has not answered
        (again, when it comes back: what it was asked may have been lost with its connection)."""
        fleet, host = self.fleet, self.serving[session]
        out: list[Action] = []
        for pattern in fleet.patterns:
            only, glob = split_pattern(pattern)
            if (only is None or only == host) and (host, glob) not in fleet.answered:
                fleet.asked.add((session, glob))
                fleet.host_of[session] = host
                out.append(Ask(session, ListFiles(self.job, glob, int(self.options.follow))))
        return out

    def _listed(self, session: str, listing: Listing, wall_ms: int | None, now: float) -> list[Action]:
        """A worker's files (or its refusal)."""
        fleet = self.fleet
        if fleet is None or (session, listing.pattern) not in fleet.asked:
            return [Drop("a Listing nobody asked for")]
        host = fleet.host_of[session]  # the host it said at Hello: a Listing cannot speak for another
        # one answer per host and glob: the others asked on that host need not answer
        fleet.asked = {(s, g) for s, g in fleet.asked if not (g == listing.pattern and fleet.host_of[s] == host)}
        if (host, listing.pattern) in fleet.answered:
            return []
        fleet.answered.add((host, listing.pattern))
        if not all(_listed_row(row, self.options.follow) for row in listing.files):  # never trust the peer
            fleet.problems.append(Unreadable(f"{host}:{listing.pattern}", "its worker's listing was malformed"))
            return [Drop(f"a malformed Listing from {host}")]
        out: list[Action] = []
        if wall_ms is not None and abs(listing.clock_ms - wall_ms) > CLOCK_SKEW_MS and host not in fleet.clocks_said:
            fleet.clocks_said.add(host)
            out.append(Say(f"host {host}'s clock is {(listing.clock_ms - wall_ms) / 1000:+.0f} s off this "
                           f"machine's: windows compare entry times, which are its own (README, Fleets)"))
        if listing.refused:
            fleet.problems.append(Unreadable(f"{host}:{listing.pattern}", listing.refused[:500]))
            return out + [Say(f"host {host} refused to list {listing.pattern}: {listing.refused[:500]}")]
        for path, size, detected, mtime_ms, compressed, *followed in listing.files:
            if size < 0:
                continue
            if followed:
                fleet.followed[(host, path)] = tuple(followed)
            fleet.files.setdefault((host, path), (FileSpan(path, size, bool(compressed), mtime_ms, host),
                                                  chosen_format(self.options.format_asked, detected)))
            fleet.matched.add(listing.pattern)
        return out

    def _plan_listed(self) -> list[Action]:
        """Every host answered (or time is up): the job's files are the shared ones and the
        listed ones (by host, then path); plan their chunks."""
        fleet = self.fleet
        fleet.asked.clear()
        self.listing_done = True
        if self.options.follow:  # the follow driver plans what grew; a glob may match later
            return []
        for pattern in fleet.patterns:
            if split_pattern(pattern)[1] not in fleet.matched:
                fleet.problems.append(Unreadable(pattern, "no worker's host has a file that matches this pattern"))
        listed = [fleet.files[key] for key in sorted(fleet.files)]
        self.files.extend(f for f, _ in listed)
        self.formats.extend(fmt for _, fmt in listed)
        self.total_bytes = sum(f.size for f in self.files)
        self.analyzer = self._fresh_analyzer()
        self.dispatcher.add(self._first_chunks())
        hosts = {f.host for f, _ in listed}
        return [Say(f"{len(listed)} file(s), {sum(f.size for f, _ in listed):,} bytes, on {len(hosts)} host(s)")]

    def _strand(self, now: float) -> list[Action]:
        """A host's chunks whose every worker is gone wait --join-timeout for one to come
        back, then fail: the report names the host whose data is missing."""
        out: list[Action] = []
        # no worker at all: the job's own rule (wait --join-timeout, then exit 3)
        stranded = self.dispatcher.stranded() if self.dispatcher.peers else set()
        for host in list(self.stranded_since):
            if host not in stranded:
                del self.stranded_since[host]
        for host in stranded:
            since = self.stranded_since.setdefault(host, now)
            if now - since >= self.settings.join_timeout:
                reason = (f"host {host} unavailable" if host is not None else
                          "no worker reads shared paths (a worker started with --serve reads only its host's files)")
                failed = self.dispatcher.fail_host(host, reason)
                del self.stranded_since[host]
                out.append(Say(f"host {host} has had no worker for {self.settings.join_timeout:g} s: "
                               f"{len(failed)} chunk(s) of its files not read" if host is not None else
                               f"{len(failed)} chunk(s) of shared paths not read: {reason}"))
        return out

    def _first_chunks(self) -> list[Chunk]:
        """The first chunks of the files planned (with --last: each file's last ones, scanned)."""
        chunks = self._planned()
        if self.options.window_length_ms is not None and self.files:
            # --last: guess the newest entry from the end of each file (a scan of its last
            # chunks, timestamps only), read everything with the window ending there, and
            # read again only if some entry turned out newer than the guess
            tails = [c for i in range(len(self.files)) for c in [c for c in chunks if c.file_index == i][-TAIL_CHUNKS:]]
            chunks = [msgspec.structs.replace(c, id=self.next_chunk_id + n) for n, c in enumerate(tails)]
            self.scan_ids = {c.id for c in chunks}
            self.last_phase = LastPhase.SCAN
        self.next_chunk_id += len(chunks)
        return chunks

    def _planned(self) -> list[Chunk]:
        """Every file cut into chunks, numbered on from the last chunk planned (the caller
        counts them in ``next_chunk_id``)."""
        chunks = plan_chunks([(f.path, f.size) for f in self.files], self.options.chunk_size,
                             first_id=self.next_chunk_id, whole={i for i, f in enumerate(self.files) if f.whole},
                             finer_tail=self.options.finer_tail)
        return [msgspec.structs.replace(c, host=self.files[c.file_index].host) if self.files[c.file_index].host else c
                for c in chunks]

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
            self.analyzer = self._fresh_analyzer()
            self.file_tally = {}
            self._read_all(newest)
            self.last_phase = LastPhase.REREAD
            return
        self.last_phase = None

    def _read_all(self, newest: int | None) -> None:
        """Queue every chunk again, with the window of the last N seconds up to ``newest``."""
        # no entry at all: a window nothing is inside
        self.window = (0, -1) if newest is None else (newest - self.options.window_length_ms, newest)
        self.read_from = self.next_chunk_id
        chunks = self._planned()
        self.next_chunk_id += len(chunks)
        self.dispatcher.add(chunks)

    def _fresh_analyzer(self) -> Analyzer:
        o = self.options
        analyzer = Analyzer([f.name for f in self.files], o.window, job_format(self.formats),
                            o.window_length_ms, o.hosts)
        analyzer.file_formats = self.formats
        return analyzer

    def _set_format(self) -> None:
        self.analyzer.format = job_format(self.formats)
        self.analyzer.file_formats = self.formats


POLL_SECONDS = 0.2
"""Follow mode: how often the files are looked at: a line waits at most this long to be read."""
STOP_GRACE = 5.0
"""Follow mode: after Ctrl-C, how long the chunks in hand may take to finish before the final report."""


class FollowTicks:
    """When follow mode looks at its files and when it reports: a report on each whole
    multiple of the period on the wall clock (every 10 s: at :00, :10, :20 ...), a look at
    the files at least every POLL_SECONDS between. Times are wall-clock seconds (entry
    times are compared with them); ticks are ms."""

    def __init__(self, every_ms: int, now: float) -> None:
        self.every_ms = every_ms
        self.next_ms = self.after(now)

    def after(self, now: float) -> int:
        """The first tick (ms) after ``now``."""
        now_ms = int(now * 1000)
        return now_ms - now_ms % self.every_ms + self.every_ms

    def pause(self, now: float) -> float:
        """Seconds to serve the sockets before the next look at the files or the next tick."""
        return min(POLL_SECONDS, max(0.0, self.next_ms / 1000 - now))

    def due(self, now: float) -> int | None:
        """The tick to report now, if one is due (ticks a slow round missed are not made up:
        the next is the first after ``now``)."""
        if now * 1000 < self.next_ms:
            return None
        tick, self.next_ms = self.next_ms, self.after(now)
        return tick

    @staticmethod
    def final(now: float, bucket_ms: int = 0) -> int:
        """The final report's time (ms): now, or with a sliding window the end of the bucket
        now is in, so that the window holds every line read."""
        end = int(now * 1000)
        return end + (-end % bucket_ms if bucket_ms else 0)

