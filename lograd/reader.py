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

import errno
import os
from typing import BinaryIO, Iterator

from .aggregate import Partial, Window, add_json_lines
from .conn import ConnCounts
from .fastconn import HostTally, add_conn_fast, newest_conn_fast
from .fastpath import add_app_fast, newest_app_entry
from .jsonlines import newest_json_entry
from .parsing import MAX_LINE

BLOCK = 1 << 20
"""Bytes read and parsed at a time: per-call costs are small next to a block's work
(benchmarks/parse.py: 256 KiB blocks parse at 275 MB/s, 1 MiB at 327, 4 MiB at 325)."""
_HELD = MAX_LINE + 2
"""Most bytes ever held: a line longer than MAX_LINE + 1 never fits whole."""
_SCAN = 1 << 16


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


class ChunkUnreadable(OSError):
    """The chunk's bytes are no longer there (the file shrank or was replaced)."""


def summarise_chunk(path: str, start: int, size: int, file_index: int = 0,
                    fmt: str = "app", window: Window | None = None, block_size: int = BLOCK,
                    host: bytes | None = None, scan: bool = False) -> Partial:
    """Open ``path`` and summarise chunk ``[start, start+size)``.

    Raises OSError when the file cannot be read, :class:`ChunkUnreadable` when
    it no longer holds the whole chunk: a partial of missing bytes would be a lie.
    """
    partial = Partial()
    hosts = HostTally()
    with open(path, "rb") as f:
        length = os.fstat(f.fileno()).st_size
        if length < start + size:
            raise ChunkUnreadable(errno.ENODATA, f"file shrank to {length} bytes, chunk ends at {start + size}")
        for block, base in owned_blocks(f, start, size, block_size):
            if scan:  # only the newest entry: its partial has just last_ms
                newest = (newest_app_entry(block) if fmt == "app" else
                          newest_conn_fast(block) if fmt == "conn" else newest_json_entry(bytes(block)))
                if newest is not None and (partial.last_ms is None or newest > partial.last_ms):
                    partial.last_ms = newest
            elif fmt == "conn":
                add_conn_fast(partial, block, base, file_index, window, ConnCounts(host), hosts)
            elif fmt == "json":
                partial.lines += add_json_lines(partial, bytes(block), base, file_index, window)
            else:
                add_app_fast(partial, block, base, file_index, window)
    if partial.conn is not None:
        hosts.into(partial.conn)
    return partial
