"""Following growing files: which new complete lines each poll brings (issue #6).

A :class:`Follower` remembers, per file it follows, which file it is (device
and inode) and how far its complete lines have been handed out. Each
:meth:`Follower.poll` looks at the paths again and returns :class:`Span`s —
(path, start, size) byte ranges that end just after a newline, ready to be
cut into chunks — so a line being written in two parts is handed out once,
whole, when its newline arrives. What real systems do to log files:

- growth: the bytes up to the last newline are handed out;
- rotation by rename (``app.log`` → ``app.log.1``, a new ``app.log``): the old
  file is found again by its inode in the same directory and read to its end
  under its new name, then the new file from its start;
- copy-truncate (same inode, now shorter than what was handed out): read
  again from the start;
- deletion: the file is forgotten once its lines are handed out;
- files that do not exist yet, or that start matching a directory or glob
  later: followed from their start as soon as they appear.

Nothing is handed out twice and nothing is skipped, except what a truncation
destroyed before a poll saw it. :meth:`state` and ``Follower(state=...)``
carry the offsets across a restart (``--state FILE``); :func:`save_state`
writes them atomically.
"""
from __future__ import annotations

import os

import msgspec

from .inputs import NO_FILES, Unreadable, expand
from .net.protocol import pack_state, unpack_state

_TAIL = 1 << 16
"""Bytes read at a time, backwards, to find the last newline of new data."""


class Span(msgspec.Struct, frozen=True):
    """Complete lines of one file: bytes ``[start, start + size)``, ending in a newline."""

    path: str
    start: int
    size: int


class _Followed(msgspec.Struct):
    path: str
    device: int
    inode: int
    offset: int  # every line before this was handed out


def last_line_end(path: str, start: int, stop: int) -> int:
    """Offset just after the last newline in ``[start, stop)`` of the file, or ``start``."""
    with open(path, "rb") as f:
        at = stop
        while at > start:
            size = min(_TAIL, at - start)
            f.seek(at - size)
            block = f.read(size)
            nl = block.rfind(b"\n")
            if nl >= 0:
                return at - size + nl + 1
            at -= size
    return start


def advance(followed: dict[tuple[int, int], _Followed], now: dict[tuple[int, int], tuple[str, int]],
            line_end) -> list[Span]:
    """The complete lines that arrived, given what each followed file (by device and inode)
    is ``now`` — its path and size; a file not in ``now`` is forgotten — and
    ``line_end(path, start, size)``, the offset just after the last newline in ``[start,
    size)`` (or ``start``). ``followed`` is brought up to date. Pure but for ``line_end``:
    a Follower reads the file, a fleet's coordinator asks the host's worker."""
    spans: list[Span] = []
    for key in [k for k in followed if k not in now]:
        del followed[key]  # deleted (or renamed where it is not found): its lines were handed out
    order = [k for k in followed if k in now] + [k for k in now if k not in followed]
    for key in order:  # files already followed first: a rotated file's rest before its successor
        path, size = now[key]
        f = followed.get(key)
        if f is None:
            f = followed[key] = _Followed(path, key[0], key[1], 0)
        f.path = path
        if size < f.offset:  # copy-truncate: the file started again
            f.offset = 0
        if size == f.offset:
            continue
        try:
            end = line_end(path, f.offset, size)
        except OSError:
            continue
        if end > f.offset:
            spans.append(Span(path, f.offset, end - f.offset))
            f.offset = end
    return spans


def followed_state(followed: dict[tuple[int, int], _Followed]) -> list[dict]:
    """The offsets as plain data (a --state file's)."""
    return [{"path": f.path, "device": f.device, "inode": f.inode, "offset": f.offset} for f in followed.values()]


def followed_from_state(entries: list[dict]) -> dict[tuple[int, int], _Followed]:
    """Inverse of :func:`followed_state`."""
    followed = {}
    for entry in entries:
        f = _Followed(str(entry["path"]), int(entry["device"]), int(entry["inode"]), int(entry["offset"]))
        followed[(f.device, f.inode)] = f
    return followed


class Follower:
    """The followed files of some paths (files, directories, globs) and their offsets."""

    def __init__(self, paths: list[str], state: dict | None = None, ignore: list[str] = ()) -> None:
        self.paths = paths
        # our own files (the --state file and its temporary copies) are never log files
        self._ignored = [os.path.realpath(p) for p in ignore]
        self._files = followed_from_state((state or {}).get("files", []))
        self.unreadable: list[Unreadable] = []

    def state(self) -> dict:
        """The offsets, as plain data for :func:`save_state`."""
        return {"files": followed_state(self._files)}

    def poll(self) -> list[Span]:
        """The complete lines that arrived since the last poll, per file, in order."""
        found, problems = expand(self.paths)
        # what exists but cannot be read (no permission, not a regular file); a path
        # that does not exist yet is only waited for
        self.unreadable = [p for p in problems if os.path.lexists(p.path) and p.reason != NO_FILES]
        now: dict[tuple[int, int], tuple[str, int]] = {}
        for item in found:
            if self._is_ignored(item.path):
                continue
            try:
                info = os.stat(item.path)
            except OSError:
                continue
            now[(info.st_dev, info.st_ino)] = (item.path, info.st_size)
        for key, f in list(self._files.items()):
            if key not in now:  # renamed away: its rest, where it went
                moved = self._find_moved(f)
                if moved is not None:
                    now[key] = moved
        return advance(self._files, now, last_line_end)

    def _is_ignored(self, path: str) -> bool:
        real = os.path.realpath(path)
        return any(real == p or (real.startswith(p + ".") and real.endswith(".tmp")) for p in self._ignored)

    def _find_moved(self, f: _Followed) -> tuple[str, int] | None:
        """(new path, size) of a followed file renamed within its directory, or None."""
        folder = os.path.dirname(f.path) or "."
        try:
            entries = list(os.scandir(folder))
        except OSError:
            return None
        for entry in entries:
            try:
                info = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if info.st_ino == f.inode and info.st_dev == f.device:
                return entry.path, info.st_size
        return None


def load_state(path: str) -> dict | None:
    """The saved state, or None when there is no state file yet.

    Raises ValueError when the file is not a lograd state file.
    """
    try:
        with open(path, "rb") as f:
            return unpack_state(f.read())
    except FileNotFoundError:
        return None


def save_state(path: str, state: dict) -> None:
    """Write the state atomically: a crash leaves the old state or the new, never half."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "wb") as f:
        f.write(pack_state(state))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
