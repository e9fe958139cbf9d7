"""Turning the user's paths (files, directories, quoted globs) into input files."""
from __future__ import annotations

import glob
import os
import stat
from dataclasses import dataclass

_GLOB_CHARS = set("*?[")
SNIFF = 64 << 10
"""Bytes read from the start of a file to decide its format (SPEC §1)."""
FORMATS = ("app", "conn", "json")  # in the order ties are broken


@dataclass(frozen=True)
class InputFile:
    """A regular file to analyse, with its size when the job was planned."""

    path: str
    size: int


@dataclass(frozen=True)
class Unreadable:
    """A path that could not be analysed, and why, in the user's words."""

    path: str
    reason: str


def expand(paths: list[str]) -> tuple[list[InputFile], list[Unreadable]]:
    """Files in the order given: a directory gives its regular files (sorted, not
    recursive), a glob its sorted matches. A file named twice is read once."""
    found: list[InputFile] = []
    problems: list[Unreadable] = []
    seen: set[str] = set()

    def add(path: str, from_listing: bool) -> None:
        try:
            info = os.stat(path)
        except OSError as exc:
            problems.append(Unreadable(path, exc.strerror or str(exc)))
            return
        if stat.S_ISDIR(info.st_mode):
            if from_listing:
                return  # not recursive
            try:
                names = sorted(os.listdir(path))
            except OSError as exc:
                problems.append(Unreadable(path, exc.strerror or str(exc)))
                return
            for name in names:
                add(os.path.join(path, name), from_listing=True)
            return
        if not stat.S_ISREG(info.st_mode):
            if not from_listing:
                problems.append(Unreadable(path, "not a regular file"))
            return
        key = os.path.realpath(path)
        if key in seen:
            return
        try:
            with open(path, "rb"):
                pass
        except OSError as exc:
            problems.append(Unreadable(path, exc.strerror or str(exc)))
            return
        seen.add(key)
        found.append(InputFile(path, info.st_size))

    for path in paths:
        if not os.path.lexists(path) and _GLOB_CHARS & set(path):
            matches = sorted(glob.glob(path))
            if not matches:
                problems.append(Unreadable(path, "no file matches this pattern"))
            for match in matches:
                add(match, from_listing=True)
        else:
            add(path, from_listing=False)
    return found, problems


def detect_format(path: str) -> str:
    """The format that parses the most non-blank lines of the file's first 64 KiB
    (ties: app, then conn, then json); app for an empty or unreadable file."""
    from .conn import parse_conn_line
    from .jsonlines import parse_json_line
    from .parsing import parse_app_line
    try:
        with open(path, "rb") as f:
            head = f.read(SNIFF)
    except OSError:
        return "app"
    lines = head.split(b"\n")
    if len(head) == SNIFF:
        lines.pop()  # cut at the boundary: not counted
    lines = [line[:-1] if line.endswith(b"\r") else line for line in lines]
    parsers = {"app": parse_app_line, "conn": parse_conn_line, "json": parse_json_line}
    scores = {fmt: sum(1 for line in lines if line.strip(b" \t") and parsers[fmt](line) is not None)
              for fmt in FORMATS}
    return max(FORMATS, key=lambda fmt: (scores[fmt], -FORMATS.index(fmt)))
