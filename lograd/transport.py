"""The one place that creates ZeroMQ sockets, and sends and receives messages on them."""
from __future__ import annotations

import zmq

from . import protocol
from .protocol import Message
from .security import Curve


RECONNECT_MS = 20


def open_socket(ctx: zmq.Context, kind: int, address: str, bind: bool,
                identity: str | None = None, curve: Curve | None = None) -> zmq.Socket:
    """A socket bound or connected to ``address`` that never blocks exit (linger 0),
    encrypted and authenticated with ``curve`` when given."""
    sock = ctx.socket(kind)
    sock.setsockopt(zmq.MAXMSGSIZE, protocol.MAX_MESSAGE + 4096)  # a bigger one drops its sender
    if curve is not None:
        curve.apply(sock)
    sock.setsockopt(zmq.LINGER, 0)
    if identity is not None:
        sock.setsockopt(zmq.IDENTITY, identity.encode())
    if kind == zmq.ROUTER:
        sock.setsockopt(zmq.ROUTER_MANDATORY, 1)  # an unknown peer raises instead of vanishing
        # a worker's new connection takes over its identity: the old one of a worker that
        # came from the previous coordinator may have reached us first (its Hello was lost)
        sock.setsockopt(zmq.ROUTER_HANDOVER, 1)
    if kind == zmq.SUB:
        sock.setsockopt(zmq.SUBSCRIBE, b"")
    if kind in (zmq.PUSH, zmq.DEALER, zmq.PUB):
        sock.setsockopt(zmq.SNDHWM, 1000)
    if not bind:
        # a worker started before its coordinator retries every 20 ms, not every 100: its
        # heartbeats then reach even a job that lasts a tenth of a second
        sock.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)
    (sock.bind if bind else sock.connect)(address)
    return sock


def send(sock: zmq.Socket, message: Message, to: bytes | None = None) -> bool:
    """Send without blocking; False when it could not be queued (peer gone or full)."""
    frames = protocol.encode(message)
    if to is not None:
        frames = [to, *frames]
    try:
        sock.send_multipart(frames, flags=zmq.NOBLOCK, copy=False)
        return True
    except (zmq.Again, zmq.ZMQError):
        return False


def receive(sock: zmq.Socket, routed: bool = False) -> tuple[bytes | None, Message] | None:
    """The next waiting message as (sender identity or None, message); None if none waits.

    Raises :class:`protocol.ProtocolError` (with the sender in its text) on garbage.
    """
    try:
        frames = sock.recv_multipart(flags=zmq.NOBLOCK)
    except zmq.Again:
        return None
    sender = None
    if routed:
        if not frames:
            raise protocol.ProtocolError("empty message")
        sender, frames = frames[0], frames[1:]
    try:
        return sender, protocol.decode(frames)
    except protocol.ProtocolError as exc:
        who = sender.decode("utf-8", "replace") if sender else "a peer"
        raise protocol.ProtocolError(f"from {who}: {exc}") from None


class DropNotices:
    """Counts messages dropped as garbage and says so at most once per ``every`` seconds:
    a flood of garbage must not become a flood of stderr."""

    def __init__(self, say, every: float = 5.0) -> None:
        self.say = say
        self.every = every
        self.count = 0
        self._said = 0
        self._next = 0.0

    def drop(self, what: str, now: float) -> None:
        """Count one dropped message (``what`` it was)."""
        self.count += 1
        if now >= self._next:
            more = self.count - self._said - 1
            self.say(f"dropped {what}" + (f" (and {more} more since the last notice)" if more > 0 else ""))
            self._said = self.count
            self._next = now + self.every
