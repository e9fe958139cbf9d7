"""The one place that creates ZeroMQ sockets, and sends and receives messages on them."""
from __future__ import annotations

import struct

import zmq

from . import protocol
from .protocol import Message
from .security import Curve


RECONNECT_MS = 20
RECONNECT_MAX_MS = 2000
"""A connecting socket retries after 20 ms, doubling after each failure up to 2 s (the ZeroMQ
guide's Paranoid Pirate back-off, done by libzmq itself); a connection that succeeds starts
again from 20 ms."""


def ephemeral_ports() -> tuple[int, int] | None:
    """The ports this machine gives outgoing connections as their own (Linux), or None."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low, high = map(int, f.read().split()[:2])
    except (OSError, ValueError):
        return None
    return low, high


def open_socket(ctx: zmq.Context, kind: int, address: str, bind: bool,
                identity: str | None = None, curve: Curve | None = None,
                reconnect_max_ms: int = RECONNECT_MAX_MS) -> zmq.Socket:
    """A socket bound or connected to ``address`` that never blocks exit (linger 0),
    encrypted and authenticated with ``curve`` when given; a connecting one backs off to
    ``reconnect_max_ms`` between tries."""
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
        sock.setsockopt(zmq.RECONNECT_IVL_MAX, reconnect_max_ms)
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


def receive(sock: zmq.Socket, routed: bool = False,
            connections: Connections | None = None) -> tuple[bytes | None, Message] | None:
    """The next waiting message as (sender identity or None, message); None if none waits.
    With ``connections`` (a routed socket's), the connection it came over is noted.

    Raises :class:`protocol.ProtocolError` (with the sender in its text) on garbage.
    """
    if connections is not None:
        connections.read_events()  # what happened to connections before this message came
    try:
        parts = sock.recv_multipart(flags=zmq.NOBLOCK, copy=False)
    except zmq.Again:
        return None
    frames = [part.bytes for part in parts]
    sender = None
    if routed:
        if not frames:
            raise protocol.ProtocolError("empty message")
        sender, frames = frames[0], frames[1:]
        if connections is not None:
            connections.spoke(sender, parts[0].get(zmq.SRCFD))
    try:
        return sender, protocol.decode(frames)
    except protocol.ProtocolError as exc:
        who = sender.decode("utf-8", "replace") if sender else "a peer"
        raise protocol.ProtocolError(f"from {who}: {exc}") from None


class Connections:
    """Which TCP connection each peer of a ROUTER last spoke over, and which of those the
    kernel closed: a worker whose process died is known at once, not after its heartbeats
    were missed (SIGKILL closes its sockets as the process ends).

    The socket's monitor says when a connection is accepted and when it closes, by file
    descriptor; a message says the descriptor it came over. Events are read before each
    message, so a descriptor the kernel reused for a new connection is never taken for the
    old peer's."""

    def __init__(self, sock: zmq.Socket) -> None:
        self.sock = sock
        self.monitor = sock.get_monitor_socket(zmq.EVENT_ACCEPTED | zmq.EVENT_DISCONNECTED)
        self.peer_on: dict[int, bytes] = {}  # descriptor -> the peer that last spoke over it
        self.lost: list[bytes] = []  # peers whose connection closed, not yet taken

    def spoke(self, peer: bytes, descriptor: int) -> None:
        self.peer_on[descriptor] = peer

    def read_events(self) -> None:
        while self.monitor.poll(0):
            try:
                event, value = monitor_event(self.monitor)
            except zmq.Again:
                return
            peer = self.peer_on.pop(value, None)  # accepted: a new connection, no peer yet
            if event == zmq.EVENT_DISCONNECTED and peer is not None:
                self.lost.append(peer)

    def take_lost(self) -> list[bytes]:
        """The peers whose connection closed since the last call."""
        self.read_events()
        lost, self.lost = self.lost, []
        return lost

    def close(self) -> None:
        self.sock.disable_monitor()
        self.monitor.close(linger=0)


def monitor_event(monitor: zmq.Socket) -> tuple[int, int]:
    """The next event of a monitor socket, as (event, value); zmq.Again when there is none.
    Its first frame is the event (uint16) and value (uint32), native order; parsed here rather
    than by zmq.utils.monitor, which imports asyncio (40 ms and 7 MB a process: the
    coordinator's first loop stalled on it while its workers waited)."""
    event, value = struct.unpack("=HI", monitor.recv_multipart(zmq.NOBLOCK)[0][:6])
    return event, value


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
