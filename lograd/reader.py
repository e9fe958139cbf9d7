"""Reading a chunk's lines from a file under the ownership rule of SPEC §2.

A chunk ``[start, start+size)`` owns the lines whose first byte lies inside
it: the partial line at ``start`` is skipped (unless ``start`` is 0) and the
line that crosses the end is read to its ``\\n``. The lines come in blocks of
whole lines read into one reused buffer of ``MAX_LINE + 2`` bytes, so memory
stays flat whatever the chunk size, and a line longer than ``MAX_LINE`` is
never held whole: its first ``MAX_LINE + 2`` bytes come as a block of their
own (still over-long, so counted malformed) and the rest is skipped.
"""
from __future__ import annotations

import bisect
import errno
import os
import stat
from typing import BinaryIO, Callable, Iterator, TYPE_CHECKING

from .aggregate import Partial, TimeBounds
from .compression import HEAD, compression_of, damage_types, decompressed
from .filters import EntryFilter
from .inputs import inside
from .formats import Entries, Reading, get
from .parsing import MAX_LINE

if TYPE_CHECKING:
    import numpy as np

BLOCK = 1 << 20
"""Bytes read and parsed at a time: per-call costs are small next to a block's work
(benchmarks/parse.py: 256 KiB blocks parse at 275 MB/s, 1 MiB at 327, 4 MiB at 325)."""
_HELD = MAX_LINE + 2
"""Most bytes ever held: a line longer than MAX_LINE + 1 never fits whole."""
_SCAN = 1 << 16
WHOLE = 1 << 62
"""The size of a chunk that is a whole compressed file: its decompressed end is not known."""


def _next_line_start(f: BinaryIO, at: int, limit: int | None = None) -> int | None:
    """Offset after the first newline at or after ``at`` (where ``f`` is positioned),
    looking only before ``limit``; None when there is none."""
    while limit is None or at < limit:
        block = f.read(_SCAN if limit is None else min(_SCAN, limit - at))
        if not block:
            return None
        nl = block.find(b"\n")
        if nl >= 0:
            return at + nl + 1
        at += len(block)
    return None


def _first_owned(f: BinaryIO, start: int, end: int) -> int | None:
    """File offset of the first line that starts in ``[start, end)``, or None."""
    if start == 0:
        return 0
    f.seek(start - 1)  # a line starts at p when byte p-1 is a newline
    return _next_line_start(f, start - 1, end - 1)


def owned_blocks(f: BinaryIO, start: int, size: int,
                 block_size: int = BLOCK) -> Iterator[tuple[memoryview, int]]:
    """The lines chunk ``[start, start+size)`` owns, as (block of whole lines, its file offset).

    Each block is a view of one reused buffer: use it before asking for the next.
    """
    end = start + size
    at = _first_owned(f, start, end)
    if at is None or at >= end:
        return
    f.seek(at)
    buf = bytearray(_HELD)
    view = memoryview(buf)
    filled = 0  # buf[:filled] holds file bytes [at, at + filled); buf[0] starts a line
    while True:
        want = min(block_size, _HELD - filled, max(end - at - filled, 0) + _SCAN)
        got = f.readinto(view[filled:filled + want])
        filled += got
        if filled == 0:
            return
        last = buf.find(b"\n", max(end - at - 1, 0), filled)
        if last >= 0:  # the newline that ends the last owned line
            yield view[:last + 1], at
            return
        if got == 0:  # end of file: the last line has no newline
            yield view[:filled], at
            return
        cut = buf.rfind(b"\n", 0, filled) + 1
        if cut:
            yield view[:cut], at
            buf[:filled - cut] = buf[cut:filled]
            at += cut
            filled -= cut
        if filled == _HELD:  # an unfinished line already too long to be an entry
            yield view[:_HELD], at
            at = _next_line_start(f, at + filled)
            if at is None or at >= end:
                return
            f.seek(at)
            filled = 0


def _line_before(f: BinaryIO, at: int) -> bytes | None:
    """The line that ends just before offset ``at`` (a line start > 0), without its
    ``\n``; None when it is longer than ``MAX_LINE`` (no record goes on from such a line)."""
    low = max(0, at - 1 - _HELD)
    f.seek(low)
    data = f.read(at - 1 - low)
    start = data.rfind(b"\n") + 1
    if start == 0 and low > 0:
        return None
    line = data[start:]
    return line[:-1] if line.endswith(b"\r") else line


def _record_start(f: BinaryIO, at: int, length: int, goes_on: Callable[[bytes], bool]) -> int:
    """The first record start at or after offset ``at`` (``length`` at the end of the file):
    the first line start there whose line before does not go on."""
    line = _first_owned(f, at, length + 1) if at > 0 else 0
    if line is None or line >= length:
        return length
    previous = _line_before(f, line) if line > 0 else None
    while previous is not None and goes_on(previous):
        f.seek(line)
        following = _next_line_start(f, line)
        if following is None:
            return length
        f.seek(line)
        text = f.read(min(following - line, _HELD))
        previous = text[:-1].removesuffix(b"\r") if following - line <= _HELD else None
        line = following
    return line


def record_blocks(f: BinaryIO, start: int, size: int, goes_on: Callable[[bytes], bool],
                  block_size: int = BLOCK) -> Iterator[tuple[memoryview, int]]:
    """The lines of the records chunk ``[start, start+size)`` owns, in blocks as
    :func:`owned_blocks` gives them. A record is a line and, while ``goes_on(line)``,
    the lines after it; it belongs to the chunk where its first line starts: the lines
    from the first record start in the chunk to the first one after it."""
    length = f.seek(0, os.SEEK_END)
    begin = _record_start(f, start, length, goes_on)
    if begin >= start + size:
        return
    stop = _record_start(f, start + size, length, goes_on)
    yield from owned_blocks(f, begin, stop - begin, block_size)


class ChunkUnreadable(OSError):
    """The chunk's bytes are no longer there (the file shrank or was replaced)."""


class Refused(OSError):
    """The chunk's file lies outside the directories this worker may read (``--root``)."""


def opened_path(f: BinaryIO, path: str) -> str:
    """Where the open file ``f`` (opened as ``path``) really is, symlinks resolved."""
    try:
        return os.readlink(f"/proc/self/fd/{f.fileno()}")
    except OSError:  # no /proc: the name as it resolves now
        return os.path.realpath(path)


def chunk_blocks(path: str, start: int, size: int, block_size: int = BLOCK,
                 roots: list[str] | None = None,
                 goes_on: Callable[[bytes], bool] | None = None) -> Iterator[tuple[memoryview, int]]:
    """Open ``path`` and yield the blocks of whole lines chunk ``[start, start+size)`` owns
    (with ``goes_on``, of the whole records it owns: :func:`record_blocks`).

    Raises OSError when the file cannot be read, :class:`ChunkUnreadable` when
    it no longer holds the whole chunk: a partial of missing bytes would be a lie;
    :class:`Refused` when ``roots`` are given and the file, once opened, is not in one
    (checked on the open file, so a symlink swapped in after a check cannot escape).
    """
    # O_NONBLOCK: a FIFO swapped in for the file must not hang the open; only regular files are read
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ChunkUnreadable(errno.EINVAL, "not a regular file", path)
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        if roots and not inside(opened_path(f, path), roots):
            raise Refused(errno.EACCES, "outside this worker's --root directories", path)
        length = os.fstat(f.fileno()).st_size
        if length < start + size:
            raise ChunkUnreadable(errno.ENODATA, f"file shrank to {length} bytes, chunk ends at {start + size}")
        kind = compression_of(f.read(HEAD))
        f.seek(start)
        if kind is None:
            if goes_on is None:
                yield from owned_blocks(f, start, size, block_size)
            else:
                yield from record_blocks(f, start, size, goes_on, block_size)
            return
        if start != 0:
            raise ChunkUnreadable(errno.EINVAL, f"a {kind} file is read as one chunk, not from byte {start}", path)
        f.seek(0)
        try:
            with decompressed(f, kind) as stream:
                yield from owned_blocks(stream, 0, WHOLE, block_size)
        except damage_types() as exc:
            raise ChunkUnreadable(errno.EIO, f"damaged {kind} data ({exc})", path) from None


def _goes_on(fmt: str) -> Callable[[bytes], bool] | None:
    """For a format whose records may span lines (container wrappers), whether a line's
    record goes on in the next line."""
    return getattr(get(fmt), "record_goes_on", None)


def add_block(partial: Partial, block, base: int, fmt: str, reading: Reading,
              window: TimeBounds | None) -> None:
    """Summarise one block of whole lines of format ``fmt`` into ``partial``."""
    get(fmt).add_block(partial, block, base, reading, window)


def block_entries(block, fmt: str, reading: Reading | None = None) -> Entries:
    """Every entry of a block of whole lines: (times, first bytes, newlines) as arrays."""
    return get(fmt).block_entries(block, reading or Reading())


def summarise_chunk(path: str, start: int, size: int, file_index: int = 0,
                    fmt: str = "app", window: TimeBounds | None = None, block_size: int = BLOCK,
                    hosts: tuple[bytes, ...] = (), scan: bool = False, roots: list[str] | None = None,
                    reference_ms: int = 0, filters: EntryFilter | None = None, templates: bool = True) -> Partial:
    """Summarise chunk ``[start, start+size)`` of ``path`` (errors as :func:`chunk_blocks`).

    With ``scan``, only the newest entry is found: the partial has just ``last_ms``.
    ``reference_ms`` dates stamps without a year (the file's modification time); entries
    that do not pass ``filters`` count as outside the window; ``templates``: whether entries'
    templates are counted.
    """
    filters = filters if get(fmt).has_messages else None  # access and conn: never filtered
    partial = Partial(filters=filters, count_templates=templates)
    reading = Reading(file_index, hosts, reference_ms)
    for block, base in chunk_blocks(path, start, size, block_size, roots, _goes_on(fmt)):
        if scan:
            times = block_entries(block, fmt, reading)[0]
            if len(times) and (partial.last_ms is None or int(times.max()) > partial.last_ms):
                partial.last_ms = int(times.max())
        else:
            add_block(partial, block, base, fmt, reading, window)
    get(fmt).finish(partial, reading)
    return partial


NOTHING: TimeBounds = (0, -1)
"""A window no entry is inside."""
SPARSE = 16
"""A bucket with fewer than one in this many of a block's entries has its lines read again
on their own; a bigger one has the whole block scanned again with its bounds."""


def _file_offset(spans: list[tuple[int, int]], base: int) -> Callable[[int], int]:
    """Where a byte of lines copied out of a block, one after the other with a newline each
    (the block's ``spans``, the block at file offset ``base``), lies in the file."""
    import numpy as np
    placed = np.cumsum([0] + [z - a + 1 for a, z in spans]).tolist()

    def offset_of(at: int) -> int:
        i = bisect.bisect_right(placed, at) - 1
        return base + spans[i][0] + at - placed[i]
    return offset_of


def summarise_chunk_in_buckets(path: str, start: int, size: int, bucket_ms: int, file_index: int = 0,
                               fmt: str = "app", window: TimeBounds | None = None,
                               block_size: int = BLOCK, hosts: tuple[bytes, ...] = (),
                               roots: list[str] | None = None, reference_ms: int = 0,
                               filters: EntryFilter | None = None,
                               templates: bool = True) -> tuple[Partial, dict[int, Partial]]:
    """A chunk split by entry time, for sliding windows: (the lines, {bucket: metrics}).

    The first partial counts the chunk's lines (entries, malformed, blank, samples,
    first and last time) and no metrics; bucket ``b`` holds the metrics of the
    entries inside ``window`` whose time lies in ``[b * bucket_ms, (b + 1) * bucket_ms)``,
    and no line counts. Merged together they give :func:`summarise_chunk`'s partial.
    """
    import numpy as np
    filters = filters if get(fmt).has_messages else None  # access and conn: never filtered
    def fresh() -> Partial:
        return Partial(filters=filters, count_templates=templates)
    lines = fresh()
    lines_reading = Reading(file_index, hosts, reference_ms)
    buckets: dict[int, tuple[Partial, Reading]] = {}
    low, high = window if window is not None else (None, None)
    # a window nothing is inside, starting where the job's does: the lines' partial knows
    # which templates came before the window
    none_inside = NOTHING if low is None else (low, low - 1)
    for block, base in chunk_blocks(path, start, size, block_size, roots, _goes_on(fmt)):
        add_block(lines, block, base, fmt, lines_reading, none_inside)
        times, firsts, stops = block_entries(block, fmt, lines_reading)
        inside = np.ones(len(times), dtype=bool)
        if low is not None:
            inside &= times >= low
        if high is not None:
            inside &= times <= high
        ids = times[inside] // bucket_ms
        order = np.argsort(ids, kind="stable")
        ids, firsts, stops = ids[order], firsts[inside][order], stops[inside][order]
        edges = np.flatnonzero(np.diff(ids)) + 1
        for first_row, end_row in zip([0, *edges.tolist()], [*edges.tolist(), len(ids)]):
            if first_row == end_row:
                continue
            b = int(ids[first_row])
            bounds = (b * bucket_ms if low is None else max(b * bucket_ms, low),
                      (b + 1) * bucket_ms - 1 if high is None else min((b + 1) * bucket_ms - 1, high))
            part, reading = buckets.setdefault(b, (fresh(), Reading(file_index, hosts, reference_ms)))
            if (end_row - first_row) * SPARSE < len(ids):
                # a bucket of few lines (late ones): only they are read again, not the block
                view = memoryview(block).cast("B")
                spans = list(zip(firsts[first_row:end_row].tolist(), stops[first_row:end_row].tolist()))
                lines_of = b"".join(bytes(view[a:z]) + b"\n" for a, z in spans)
                late, late_reading = fresh(), Reading(file_index, hosts, reference_ms)
                add_block(late, lines_of, 0, fmt, late_reading, bounds)
                get(fmt).finish(late, late_reading)
                late.templates.move_examples(_file_offset(spans, base))  # offsets in lines_of: the file's again
                part.merge(late)
            else:
                add_block(part, block, base, fmt, reading, bounds)
    get(fmt).finish(lines, lines_reading)
    out = {}
    for b, (part, reading) in buckets.items():
        get(fmt).finish(part, reading)
        out[b] = part.metrics_only()
    return lines, out
