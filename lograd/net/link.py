"""A worker's side of the connection, without I/O: joined, lost, forgotten, giving up.

The worker's loop (:mod:`lograd.worker`) turns what happens into events and carries
out the actions :meth:`Link.handle` returns::

    a Beat heard ──▶ Heard(instance, pending) ─┐               Connect (open the tasks socket)
    a poll ended ──▶ Polled(busy) ─────────────┼─▶ Link.handle ─▶ Disconnect (close it, drop the queue)
    time passed ───▶ Tick ─────────────────────┘               SayHello · Tell(text) · Exit(status)

Reconnecting itself (20 ms doubling to 2 s) is libzmq's, set once on every socket a
worker connects (:data:`lograd.net.transport.RECONNECT_MAX_MS`).
"""
from __future__ import annotations

import msgspec

from ..config import Settings
from ..errors import EXIT_PARTIAL

FORGOTTEN_AFTER = 4
"""Heartbeat intervals idle, while the coordinator says chunks wait, before a worker
concludes its lease was dropped and says Hello again."""


class Heard(msgspec.Struct, frozen=True):
    """A Beat from coordinator ``instance``, which has ``pending`` chunks waiting."""

    instance: str
    pending: int


class Polled(msgspec.Struct, frozen=True):
    """A poll of the sockets ended; ``busy``: chunks are queued or in hand."""

    busy: bool


class Tick(msgspec.Struct, frozen=True):
    """Time passed (each turn of the loop)."""


class Connect(msgspec.Struct, frozen=True):
    """Open the tasks socket to the coordinator just joined."""


class Disconnect(msgspec.Struct, frozen=True):
    """Close the tasks socket and drop the queued chunks (Lazy Pirate); ``why``, when given,
    is said with the number of chunks dropped."""

    why: str | None = None


class SayHello(msgspec.Struct, frozen=True):
    """Send Hello (capacity) to the joined coordinator."""


class Tell(msgspec.Struct, frozen=True):
    """Say ``text`` on stderr; ``always``: even with --quiet."""

    text: str
    always: bool = True


class Exit(msgspec.Struct, frozen=True):
    """Stop serving with exit status ``status``."""

    status: int


class Link:
    """Which coordinator a worker serves, and when to give it up."""

    def __init__(self, url: str, settings: Settings, now: float) -> None:
        self.url = url
        self.settings = settings
        self.instance: str | None = None  # the coordinator we serve
        self.last_beat = 0.0
        self.pending_upstream = 0
        self.hello_at = 0.0
        self.lost_since = now  # since when no coordinator is joined
        self.idle_since: float | None = None  # since when polls found nothing to do
        self.heard = False  # a beat of the coordinator served was heard (silence is judged after)

    @property
    def joined(self) -> bool:
        return self.instance is not None

    def expect(self, instance: str, now: float) -> list:
        """Serve coordinator ``instance`` before a beat of it is heard (it started this worker:
        ``--local``): connect and say Hello at once. Its silence counts only from its first
        beat; until then the worker gives up after ``give_up`` as when no coordinator is joined."""
        self.instance = instance
        self.hello_at = now
        return [Connect(), SayHello()]

    def handle(self, event, now: float) -> list:
        """What to do about ``event`` at ``now``."""
        if isinstance(event, Heard):
            return self._heard(event, now)
        if isinstance(event, Polled):
            if event.busy:
                self.idle_since = None
            elif self.idle_since is None:
                self.idle_since = now
            return []
        if isinstance(event, Tick):
            return self._tick(now)
        raise TypeError(f"not an event: {event!r}")

    def _heard(self, beat: Heard, now: float) -> list:
        out: list = []
        if beat.instance != self.instance:  # a coordinator we do not serve yet: a new job
            if self.instance is not None:
                out.append(Disconnect())
            self.instance = beat.instance
            out += [Tell(f"joined coordinator at {self.url}", always=False), Connect(), SayHello()]
            self.hello_at = now
        self.last_beat = now
        self.heard = True
        self.pending_upstream = beat.pending
        return out

    def _tick(self, now: float) -> list:
        s = self.settings
        if self.instance is not None and self.heard and now - self.last_beat > s.expiry:
            self.instance = None
            self.heard = False
            self.lost_since = now
            return [Disconnect(f"coordinator at {self.url} went silent")]
        if (self.instance is None or not self.heard) and now - self.lost_since > s.give_up:
            return [Tell(f"no coordinator at {self.url} for {s.give_up:g} s; exiting"), Exit(EXIT_PARTIAL)]
        if self._forgotten(now):
            self.hello_at = now
            return [SayHello()]
        return []

    def _forgotten(self, now: float) -> bool:
        """Idle for a while although the coordinator says chunks wait: it lost our lease.

        Judged only from polls that found nothing, never right after a long chunk (whose
        successor may be waiting unread in the socket).
        """
        patience = FORGOTTEN_AFTER * self.settings.heartbeat_interval
        return (self.instance is not None and self.pending_upstream > 0 and self.idle_since is not None
                and now - self.idle_since > patience and now - self.hello_at > patience)
