"""Coordinator bookkeeping without I/O: which chunk is where, which worker is alive.

Every method takes ``now`` (seconds, monotonic) and returns what the I/O layer
must do; nothing here reads a clock or touches a socket, so every timeout can
be tested by passing a later ``now``.

A chunk is *pending*, *in flight* (one attempt, one worker lease, one
deadline), *done* or *failed*. A worker lease (``session``) lasts from its
Hello until it is declared dead; results from a dead lease are ignored, and
the first result for a chunk wins (exactly once, whatever duplicates arrive).
"""
from __future__ import annotations

from collections import deque

import msgspec

from ..config import Settings

ASSUMED_BYTES_PER_SECOND = 2e6
"""Speed assumed for deadlines until a chunk has been timed."""


class Chunk(msgspec.Struct, frozen=True):
    """A byte range of one input file (SPEC §2); ``host``: the only host whose workers can
    read it (its own files, ``--on-workers``), or None (a path every worker reads)."""

    id: int
    file_index: int
    path: str
    start: int
    size: int
    host: str | None = None

    @property
    def file(self) -> str:
        """The file as reports name it: ``HOST:PATH`` for a host's own file."""
        return self.path if self.host is None else f"{self.host}:{self.path}"

    def failed_row(self, reason: str) -> dict:
        """The report's ``job.failed_chunks`` row of this chunk."""
        return {"file": self.file, "start": self.start, "size": self.size, "reason": reason}


class Peer(msgspec.Struct):
    """A worker's lease: who it is, what it holds, when it was last heard."""

    session: str
    name: str
    capacity: int
    expires: float
    held: dict[int, int] = msgspec.field(default_factory=dict)  # chunk id -> attempt
    host: str | None = None  # a worker that serves its host's files reads only them; None: shared paths

    @property
    def credit(self) -> int:
        """Chunks it can take now."""
        return self.capacity - len(self.held)


class Assignment(msgspec.Struct, frozen=True):
    """Send chunk ``chunk`` (attempt ``attempt``) to the worker with ``session``."""

    session: str
    chunk: Chunk
    attempt: int


class InFlight(msgspec.Struct, frozen=True):
    session: str
    attempt: int
    deadline: float


class Pending:
    """The chunks waiting, in order, each in the queue of the host that must read it (None:
    a shared path, read by the workers that serve no host's own files)."""

    def __init__(self, host_of) -> None:
        self.host_of = host_of  # chunk id -> its host, or None
        self.queues: dict[str | None, deque[int]] = {}
        self.ids: set[int] = set()

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, chunk_id: int) -> bool:
        return chunk_id in self.ids

    def append(self, chunk_id: int) -> None:
        self.queues.setdefault(self.host_of(chunk_id), deque()).append(chunk_id)
        self.ids.add(chunk_id)

    def appendleft(self, chunk_id: int) -> None:
        self.queues.setdefault(self.host_of(chunk_id), deque()).appendleft(chunk_id)
        self.ids.add(chunk_id)

    def remove(self, chunk_id: int) -> None:
        self.queues[self.host_of(chunk_id)].remove(chunk_id)
        self.ids.discard(chunk_id)

    def take(self, host: str | None) -> int | None:
        """The next chunk a worker of ``host`` (None: of shared paths) reads, taken off the
        queue; None if none waits."""
        queue = self.queues.get(host)
        if not queue:
            return None
        chunk_id = queue.popleft()
        self.ids.discard(chunk_id)
        return chunk_id

    def hosts(self) -> set[str | None]:
        """The hosts some waiting chunk must be read on (None: a shared path)."""
        return {h for h, queue in self.queues.items() if queue}

    def take_host(self, host: str | None) -> list[int]:
        """Every waiting chunk of ``host``, taken off the queue."""
        taken = list(self.queues.pop(host, ()))
        self.ids.difference_update(taken)
        return taken


FINER_TAIL_PIECES = 4
"""Pieces each of a job's last chunks is cut into (see :func:`plan_chunks`)."""
MIN_TAIL_PIECE = 1 << 20
"""Below this a piece's own costs (a message each way, a partial made and merged) outweigh
what finishing together saves: smaller chunks are not cut."""


def plan_chunks(files: list[tuple[str, int]], chunk_size: int, first_id: int = 0,
                only: set[int] | None = None, whole: set[int] = frozenset(), finer_tail: int = 0) -> list[Chunk]:
    """Cut (path, size) files into chunks of ``chunk_size`` bytes, numbered from ``first_id``
    (only the files whose index is in ``only``, when given); the files whose index is in
    ``whole`` (compressed ones) are one chunk each.

    With ``finer_tail`` (the workers expected), the chunks at the job's end that make up
    ``finer_tail`` chunks' worth of bytes (the one that reaches it included, unless less
    than a quarter chunk was left to reach; a compressed file ends the run) are cut in
    quarters: chunks go out in order, so each worker's last piece of work is short and the
    workers finish together, where one would otherwise read a whole last chunk while the
    others wait (a 1 GiB job on two workers: 17 ms idle at the end, median of 8, with 32
    MiB chunks; 7.5 ms with the last two cut in four)."""
    chunks = []
    for file_index, (path, size) in enumerate(files):
        if only is not None and file_index not in only:
            continue
        for start in range(0, size, max(size, 1) if file_index in whole else chunk_size):
            chunks.append(Chunk(first_id + len(chunks), file_index, path, start, min(chunk_size, size - start)))
    piece = -(-chunk_size // FINER_TAIL_PIECES)
    piece += -piece % 4096  # whole pages, as the chunks
    if finer_tail <= 0 or piece < MIN_TAIL_PIECE:
        return chunks
    cut, left = len(chunks), finer_tail * chunk_size
    while cut > 0 and left >= piece and chunks[cut - 1].file_index not in whole:
        cut -= 1
        left -= chunks[cut].size
    pieces = [Chunk(0, c.file_index, c.path, start, min(piece, c.start + c.size - start))
              for c in chunks[cut:] for start in range(c.start, c.start + c.size, piece)]
    return [msgspec.structs.replace(c, id=first_id + n) for n, c in enumerate(chunks[:cut] + pieces)]


class Dispatcher:
    """Hands chunks to live workers, retries what times out, quarantines what keeps failing."""

    def __init__(self, chunks: list[Chunk], settings: Settings = Settings()) -> None:
        self.settings = settings
        self.chunks = {c.id: c for c in chunks}
        self.pending = Pending(lambda chunk_id: self.chunks[chunk_id].host)
        for c in chunks:
            self.pending.append(c.id)
        self.in_flight: dict[int, InFlight] = {}
        self.done: set[int] = set()
        self.failed: dict[int, str] = {}
        self.attempts: dict[int, int] = {}  # last attempt number handed out
        self.strikes: dict[int, int] = {}  # attempts that failed or timed out
        self.last_error: dict[int, str] = {}
        self.peers: dict[str, Peer] = {}
        self.retried: set[int] = set()
        self.late_results = 0
        self._bytes_timed = 0
        self._seconds_timed = 0.0
        self._turn = 0

    def add(self, chunks: list[Chunk]) -> None:
        """More chunks for the same job (ids not used before), queued after the rest."""
        for c in chunks:
            self.chunks[c.id] = c
            self.pending.append(c.id)

    def forget_settled(self) -> tuple[list[int], list[tuple[Chunk, str]], int]:
        """Drop every record of the chunks that are done or failed, so a follow run's
        memory does not grow with its age: (done ids, failed chunks with their
        reasons, how many of them were retried). Late results for them count as late."""
        done = sorted(self.done)
        failed = [(self.chunks[c], reason) for c, reason in sorted(self.failed.items())]
        settled = done + [c.id for c, _ in failed]
        retried = len(self.retried.intersection(settled))
        for chunk_id in settled:
            del self.chunks[chunk_id]
            for record in (self.attempts, self.strikes, self.last_error):
                record.pop(chunk_id, None)
            self.retried.discard(chunk_id)
        self.done.clear()
        self.failed.clear()
        return done, failed, retried

    # -- state --------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Every chunk is done or failed."""
        return len(self.done) + len(self.failed) == len(self.chunks)

    def workers_alive(self) -> int:
        """Leases currently alive."""
        return len(self.peers)

    # -- events -------------------------------------------------------------

    def hello(self, session: str, name: str, capacity: int, now: float, host: str | None = None) -> None:
        """A worker holding nothing offers ``capacity`` chunks.

        A known lease saying it holds nothing has lost what we think it holds:
        those chunks go back to the queue.
        """
        peer = self.peers.get(session)
        if peer is not None:
            for chunk_id, attempt in list(peer.held.items()):
                self._requeue(chunk_id, attempt, "assignment lost", strike=False)
        self.peers[session] = Peer(session, name, max(1, min(capacity, 64)),
                                   now + self.settings.expiry, host=host)

    def alive(self, session: str, now: float) -> bool:
        """Any sign of life from a lease; False when the lease is unknown or dead."""
        peer = self.peers.get(session)
        if peer is None:
            return False
        peer.expires = now + self.settings.expiry
        return True

    def result(self, chunk_id: int, attempt: int, seconds: float, now: float) -> bool:
        """A chunk's result arrived; True when it is the one to merge."""
        lease = self._settle(chunk_id, attempt, now)
        if lease is None or chunk_id in self.done or chunk_id in self.failed:
            self.late_results += 1
            return False
        self.in_flight.pop(chunk_id, None)
        if chunk_id in self.pending:
            self.pending.remove(chunk_id)
        self.done.add(chunk_id)
        if seconds > 0:
            self._bytes_timed += self.chunks[chunk_id].size
            self._seconds_timed += seconds
        return True

    def failure(self, chunk_id: int, attempt: int, reason: str, now: float) -> None:
        """A worker could not read a chunk: retry elsewhere, or quarantine."""
        lease = self._settle(chunk_id, attempt, now)
        if lease is None or chunk_id in self.done or chunk_id in self.failed:
            return
        flight = self.in_flight.get(chunk_id)
        if flight is not None and flight.attempt == attempt:
            self._requeue(chunk_id, attempt, reason, strike=True)

    def release(self, session: str, chunk_attempts: list, now: float) -> None:
        """A stopping worker gives chunks back; they are requeued without penalty."""
        peer = self.peers.get(session)
        if peer is None:
            return
        for item in chunk_attempts:
            if not (isinstance(item, list) and len(item) == 2 and all(type(v) is int for v in item)):
                continue  # never trust the peer: only [chunk, attempt] pairs of integers
            chunk_id, attempt = item
            if peer.held.get(chunk_id) == attempt:
                self._requeue(chunk_id, attempt, "released", strike=False)

    def worker_gone(self, session: str, reason: str = "worker lost") -> list[int]:
        """End a lease now (death, or unreachable); its chunks go back to the queue. Their ids."""
        peer = self.peers.pop(session, None)
        if peer is None:
            return []
        held = list(peer.held.items())
        for chunk_id, attempt in held:
            self._requeue(chunk_id, attempt, f"{reason} ({peer.name})", strike=True)
        return [chunk_id for chunk_id, _ in held]

    # -- timers -------------------------------------------------------------

    def silent(self, now: float) -> list[Peer]:
        """Leases not heard from for ``liveness`` heartbeats: the caller ends them
        with :meth:`worker_gone` (the coordinator's ``handle_worker_failure``)."""
        return [p for p in self.peers.values() if now >= p.expires]

    def expire(self, now: float) -> list[int]:
        """Lazy Pirate: requeue (or quarantine) every chunk past its deadline; their ids."""
        overdue = [cid for cid, f in self.in_flight.items() if now >= f.deadline]
        for chunk_id in overdue:
            self._requeue(chunk_id, self.in_flight[chunk_id].attempt, "timed out", strike=True)
        return overdue

    def assign(self, now: float) -> list[Assignment]:
        """Fill every live worker's credit from the queue, one chunk per worker per turn."""
        out: list[Assignment] = []
        peers = list(self.peers.values())
        if not peers:
            return out
        while self.pending:
            progressed = False
            for i in range(len(peers)):
                peer = peers[(self._turn + i) % len(peers)]
                if not self.pending:
                    break
                if peer.credit <= 0:
                    continue
                chunk_id = self.pending.take(peer.host)
                if chunk_id is None:
                    continue
                attempt = self.attempts.get(chunk_id, 0) + 1
                self.attempts[chunk_id] = attempt
                peer.held[chunk_id] = attempt
                self.in_flight[chunk_id] = InFlight(peer.session, attempt, now + self._timeout(chunk_id))
                out.append(Assignment(peer.session, self.chunks[chunk_id], attempt))
                progressed = True
            self._turn += 1
            if not progressed:
                break
        return out

    def stranded(self) -> set[str | None]:
        """Hosts whose chunks wait but none of whose workers is alive (None: shared paths, and
        no worker that reads them)."""
        return self.pending.hosts() - {p.host for p in self.peers.values()}

    def fail_host(self, host: str | None, reason: str) -> list[int]:
        """Quarantine every waiting chunk of ``host`` (none of its workers came back)."""
        failed = self.pending.take_host(host)
        for chunk_id in failed:
            self.failed[chunk_id] = reason
        return failed

    def next_deadline(self) -> float | None:
        """The earliest time at which :meth:`expire` has something to do."""
        times = [p.expires for p in self.peers.values()]
        times += [f.deadline for f in self.in_flight.values()]
        return min(times) if times else None

    # -- internals ----------------------------------------------------------

    def _timeout(self, chunk_id: int) -> float:
        rate = (self._bytes_timed / self._seconds_timed if self._seconds_timed > 0
                else ASSUMED_BYTES_PER_SECOND)
        expected = self.chunks[chunk_id].size / max(rate, 1.0)
        return max(self.settings.chunk_timeout_floor, self.settings.chunk_timeout_factor * expected)

    def _settle(self, chunk_id: int, attempt: int, now: float) -> Peer | None:
        """The live lease that held (chunk, attempt), freed of it; None if none did."""
        for peer in self.peers.values():
            if peer.held.get(chunk_id) == attempt:
                del peer.held[chunk_id]
                peer.expires = max(peer.expires, now + self.settings.expiry)
                return peer
        return None

    def _requeue(self, chunk_id: int, attempt: int, reason: str, strike: bool) -> None:
        """Take (chunk, attempt) off its worker and back to the queue, or quarantine it."""
        flight = self.in_flight.get(chunk_id)
        if flight is not None and flight.attempt == attempt:
            del self.in_flight[chunk_id]
        for peer in self.peers.values():
            if peer.held.get(chunk_id) == attempt:
                del peer.held[chunk_id]
        if (chunk_id in self.done or chunk_id in self.failed or chunk_id in self.in_flight
                or chunk_id in self.pending):
            return
        self.last_error[chunk_id] = reason
        if strike:
            self.strikes[chunk_id] = self.strikes.get(chunk_id, 0) + 1
            if self.strikes[chunk_id] >= self.settings.max_attempts:
                self.failed[chunk_id] = reason
                return
        self.retried.add(chunk_id)
        self.pending.appendleft(chunk_id)
