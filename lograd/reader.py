"""Reading a chunk's lines from a file under the ownership rule of SPEC §2.

A chunk ``[start, start+size)`` owns the lines whose first byte lies inside
it: the partial line at ``start`` is skipped (unless ``start`` is 0) and the
line that crosses the end is read to its ``\\n``. That last line is read at
most ``MAX_LINE + 2`` bytes far, so an over-long line is never held whole; the
cut line is still longer than ``MAX_LINE`` and so is counted malformed.
"""
from __future__ import annotations

import errno
import os
from typing import BinaryIO

from .aggregate import Partial, Window
from .fastpath import summarise_app_fast
from .parsing import MAX_LINE

_BLOCK = 1 << 16


def read_chunk(f: BinaryIO, start: int, size: int) -> tuple[bytes, int]:
    """(the owned lines' bytes, their file offset) of chunk ``[start, start+size)``."""
    if start > 0:
        f.seek(start - 1)
        buf = f.read(size + 1)
        # A line starts at offset p when byte p-1 is b"\n"; look at bytes start-1 .. end-2.
        first = buf.find(b"\n", 0, size)
        if first < 0:
            return b"", start + size
        data, base, at_eof = buf[first + 1:], start + first, len(buf) < size + 1
    else:
        f.seek(0)
        data, base = f.read(size), 0
        at_eof = len(data) < size
    if not data or at_eof or data.endswith(b"\n"):
        return data, base
    return _finish_last_line(f, data), base


def _finish_last_line(f: BinaryIO, data: bytes) -> bytes:
    """Extend ``data`` through the end of its last line, at most MAX_LINE+2 bytes of it."""
    pieces = [data]
    tail = len(data) - (data.rfind(b"\n") + 1)
    limit = MAX_LINE + 2
    while tail < limit:
        block = f.read(min(_BLOCK, limit - tail))
        if not block:
            break
        end = block.find(b"\n")
        if end >= 0:
            pieces.append(block[:end + 1])
            break
        pieces.append(block)
        tail += len(block)
    return b"".join(pieces)


class ChunkUnreadable(OSError):
    """The chunk's bytes are no longer there (the file shrank or was replaced)."""


def summarise_chunk(path: str, start: int, size: int, file_index: int = 0,
                    fmt: str = "app", window: Window | None = None) -> Partial:
    """Open ``path`` and summarise chunk ``[start, start+size)``.

    Raises OSError when the file cannot be read, :class:`ChunkUnreadable` when
    it no longer holds the whole chunk: a partial of missing bytes would be a lie.
    """
    with open(path, "rb") as f:
        length = os.fstat(f.fileno()).st_size
        if length < start + size:
            raise ChunkUnreadable(errno.ENODATA, f"file shrank to {length} bytes, chunk ends at {start + size}")
        data, base = read_chunk(f, start, size)
    return summarise_app_fast(data, base, file_index, window)
