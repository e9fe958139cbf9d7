"""The wire protocol: every message lograd sends, and the only code that knows frames.

Sockets (the coordinator binds, workers connect; ``P`` is ``--port``)::

    P     ROUTER <- DEALER   Hello, Release (worker -> coordinator)
                 -> DEALER   Assign (coordinator -> worker)
    P+1   PULL   <- PUSH     Result, Failure (worker -> coordinator's sink)
    P+2   SUB    <- PUB      Heartbeat (worker -> coordinator)
    P+3   PUB    -> SUB      Beat (coordinator -> workers)

Frames of every message (a ROUTER adds the peer's identity in front)::

    [VERSION, kind, msgpack([field, ...])]

Fields are positional, in the order the class declares them, and checked on decode: a message
of an unknown kind, a wrong field count or a wrong field type raises
:class:`ProtocolError`, which receivers log and drop (never trust the peer).
"""
from __future__ import annotations

import msgpack
import msgspec

VERSION = b"lograd/1"
MAX_MESSAGE = 64 << 20
"""Largest body accepted; partials are compact, far below this."""
NAMES = "surrogateescape"
"""How text goes on the wire: a file name that is not UTF-8 (Python holds its bytes as
surrogates) travels as its own bytes and comes back the same name."""

TASKS, RESULTS, HEARTBEATS, BEATS = 0, 1, 2, 3
"""Port offsets from the base port."""


class ProtocolError(ValueError):
    """A frame or message that does not follow this protocol."""


_OPT_INT = (int, type(None))
_OPT_STR = (str, type(None))


class Hello(msgspec.Struct, frozen=True):
    """A worker offers ``capacity`` chunks at once to coordinator ``instance``; ``host`` is
    its machine's name, ``serves`` whether it lists its own files (``--serve``)."""

    worker: str
    instance: str
    capacity: int
    host: str = ""
    serves: int = 0


class ListFiles(msgspec.Struct, frozen=True):
    """The coordinator asks a worker which of its host's files match ``pattern`` (a glob);
    ``follow``: also each file's device, inode and end of its last complete line."""

    job: str
    pattern: str
    follow: int = 0


class Listing(msgspec.Struct, frozen=True):
    """A worker's answer to ListFiles: ``files`` are ``[path, size, format, mtime_ms,
    compressed]`` rows of the regular files it may read (with ``follow``, then ``device,
    inode, complete_end``: where the last complete line ends); ``refused`` says why it listed
    none (the pattern lies outside its ``--serve`` directories), else ""; ``clock_ms`` is
    its wall clock when it listed (a host whose clock is off is warned about)."""

    job: str
    pattern: str
    host: str
    files: list
    refused: str
    clock_ms: int


class Assign(msgspec.Struct, frozen=True):
    """One chunk for one worker: read ``path[start:start+size]`` (SPEC §2 ownership)."""

    job: str
    chunk: int
    attempt: int
    path: str
    file_index: int
    start: int
    size: int
    format: str
    window_start: int | None
    window_end: int | None
    hosts: list = msgspec.field(default_factory=list)  # conn: each --host, as bytes
    scan: int = 0  # 1: only find the newest entry (the first phase of --last)
    bucket: int = 0  # > 0 (follow --last): split the metrics by entry time into buckets of this many ms
    reference_ms: int = 0  # dates `text` stamps without a year: the file's mtime when planned
    filters: list = msgspec.field(default_factory=list)  # [level, grep, template] (filters.EntryFilter), or []
    templates: int = 1  # 0 (--no-templates): entries' templates are not counted


class Release(msgspec.Struct, frozen=True):
    """A worker gives back chunks it holds but will not finish (it is stopping)."""

    job: str
    chunks: list


class Result(msgspec.Struct, frozen=True):
    """A chunk's partial aggregate (``Partial.to_wire()``)."""

    job: str
    chunk: int
    attempt: int
    worker: str
    seconds: float
    partial: dict
    buckets: list = msgspec.field(default_factory=list)  # [[bucket, partial], ...] when Assign.bucket > 0


class Failure(msgspec.Struct, frozen=True):
    """A chunk the worker could not read; ``reason`` is for the user."""

    job: str
    chunk: int
    attempt: int
    worker: str
    reason: str


class Heartbeat(msgspec.Struct, frozen=True):
    """A worker is alive; its own resource usage (sysstats: the kernel's counters)."""

    worker: str
    session: str
    chunks_done: int
    cpu_percent: float
    rss_mb: float
    peak_rss_mb: float


class Beat(msgspec.Struct, frozen=True):
    """The coordinator is alive; ``job`` is empty once the job is over.

    ``pending`` is the number of chunks waiting: an idle worker that hears
    chunks are waiting has been forgotten (declared dead) and says Hello again.
    """

    instance: str
    job: str
    pending: int


_TYPES: dict[type, tuple] = {
    Hello: (str, str, int, str, int),
    ListFiles: (str, str, int),
    Listing: (str, str, str, list, str, int),
    Assign: (str, int, int, str, int, int, int, str, _OPT_INT, _OPT_INT, list, int, int, int, list, int),
    Release: (str, list),
    Result: (str, int, int, str, (float, int), dict, list),
    Failure: (str, int, int, str, str),
    Heartbeat: (str, str, int, (float, int), (float, int), (float, int)),
    Beat: (str, str, int),
}
_KINDS = {cls.__name__.lower().encode(): cls for cls in _TYPES}

Message = Hello | ListFiles | Listing | Assign | Release | Result | Failure | Heartbeat | Beat


def encode(message: Message) -> list[bytes]:
    """The frames of a message: its fields as they are (plain values, lists and dicts), never
    deep-copied (a Result's partial is tens of thousands of objects)."""
    cls = type(message)
    body = [getattr(message, name) for name in cls.__struct_fields__]
    return [VERSION, cls.__name__.lower().encode(), msgpack.packb(body, use_bin_type=True, unicode_errors=NAMES)]


def decode(frames: list[bytes]) -> Message:
    """The message in ``frames``; raises ProtocolError if they are not one."""
    if len(frames) != 3:
        raise ProtocolError(f"expected 3 frames, got {len(frames)}")
    version, kind, body = frames
    if version != VERSION:
        raise ProtocolError(f"unknown protocol version {bytes(version)[:20]!r}")
    cls = _KINDS.get(bytes(kind))
    if cls is None:
        raise ProtocolError(f"unknown message kind {bytes(kind)[:20]!r}")
    if len(body) > MAX_MESSAGE:
        raise ProtocolError("message body too large")
    try:
        values = msgpack.unpackb(body, raw=False, use_list=True, strict_map_key=False, unicode_errors=NAMES)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise ProtocolError(f"undecodable {cls.__name__} body: {exc.__class__.__name__}") from None
    types = _TYPES[cls]
    if not isinstance(values, list) or len(values) != len(types):
        raise ProtocolError(f"{cls.__name__}: expected {len(types)} fields")
    for name, value, allowed in zip(cls.__struct_fields__, values, types):
        if not isinstance(value, allowed) or isinstance(value, bool):
            raise ProtocolError(f"{cls.__name__}.{name}: unexpected {type(value).__name__}")
    if cls is Assign and not all(isinstance(h, bytes) for h in values[10]):
        raise ProtocolError("Assign.hosts: not all bytes")
    if cls is Assign and values[14] and (len(values[14]) != 3 or not isinstance(values[14][0], (str, type(None)))
                                         or not all(isinstance(v, (bytes, type(None))) for v in values[14][1:])):
        raise ProtocolError("Assign.filters: not [level, pattern, template]")
    return cls(*values)


def coordinator_address(url: str) -> str:
    """A coordinator's base address as ZeroMQ connects to it, ``tcp://HOST:PORT``, from what
    people write: ``HOST:PORT``, ``tcp://HOST:PORT`` or ``http://HOST:PORT`` (the seed
    README's form; lograd speaks ZeroMQ, not HTTP, on that port), a trailing ``/`` allowed.
    Raises ValueError for anything else."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    host, colon, port = rest.rstrip("/").rpartition(":")
    if scheme.lower() not in ("tcp", "http", "https") or not colon or not host or "/" in host \
            or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{url!r} is not a coordinator address: use tcp://HOST:PORT (or HOST:PORT)")
    return f"tcp://{host}:{int(port)}"


def endpoint(url: str, offset: int) -> str:
    """``tcp://host:port`` moved by a port offset (the four sockets share a base)."""
    head, sep, port = url.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"not a tcp://HOST:PORT address: {url!r}")
    return f"{head}:{int(port) + offset}"


STATE_VERSION = b"lograd-state/1"


def pack_state(state: dict) -> bytes:
    """A follow run's saved state (offsets and figures) as bytes for its ``--state`` file."""
    return STATE_VERSION + b"\n" + msgpack.packb(state, use_bin_type=True, unicode_errors=NAMES)


def unpack_state(data: bytes) -> dict:
    """Inverse of :func:`pack_state`; raises ProtocolError when ``data`` is not a state."""
    head, _, body = data.partition(b"\n")
    if head != STATE_VERSION:
        raise ProtocolError("not a lograd state file (or one of another version)")
    try:
        state = msgpack.unpackb(body, raw=False, use_list=True, strict_map_key=False, unicode_errors=NAMES)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise ProtocolError(f"damaged state file: {exc.__class__.__name__}") from None
    if not isinstance(state, dict):
        raise ProtocolError("damaged state file: not a map")
    return state
