"""Planning a job, without sockets: the chunk size, the checks of what was asked against
the files' formats, and the lines the coordinator says about them."""
from __future__ import annotations

import sys

from ..analyzer import shown_format
from ..errors import JobRefused
from ..filters import EntryFilter
from ..formats import get
from ..inputs import first_line

MIN_AUTO_CHUNK = 64 << 10
MAX_AUTO_CHUNK = 64 << 20
"""About 0.08 s of reading for one worker: few enough chunks that per-chunk costs (a message
each way, a partial made, decoded and merged) stay small — with 8 MiB they took a third of
a 1 GiB access-log job; 64 MiB against 32 saves 52 ms of CPU per GiB of app log —, small
enough that a dead worker's chunks soon find a free slot elsewhere (README, Failures). A
job's last chunks are cut finer (dispatch.plan_chunks), so workers still finish together."""


def say(text: str) -> None:
    """One line for the user on stderr."""
    sys.stderr.write(f"lograd-coordinator: {text}\n")  # one write: lines stay whole
    sys.stderr.flush()


def refuse_filters(filters: EntryFilter | None, formats: list[str], paths: list[str]) -> None:
    """Filters need entries with levels and messages: refuse a job that has files of a
    format without them (access, conn), rather than filter some files and not others."""
    if filters is None:
        return
    for fmt, path in zip(formats, paths):
        if not get(fmt).has_messages:
            raise JobRefused(f"{path} is read as {shown_format(fmt)}: --level, --grep and --template filter "
                             f"entries by level and message, which {shown_format(fmt)} lines have not "
                             "(README, Filters)")


def say_failed(row: dict) -> None:
    """Say on stderr that a chunk failed (a ``job.failed_chunks`` row)."""
    say(f"chunk {row['file']} [{row['start']}, +{row['size']}) failed: {row['reason']}")


def say_hosts_ignored(hosts: tuple[bytes, ...], formats: list[str]) -> None:
    """``--host`` asks about connection logs: say so when none of ``formats`` is one."""
    if hosts and "conn" not in formats:
        said = " ".join(f"--host {h.decode('utf-8', 'replace')}" for h in hosts)
        read = ", ".join(dict.fromkeys(formats))
        say(f"{said}: ignored, it asks about connection logs (conn) and these are {read}")


def no_entries_message(path: str, lines: int, fmt: str) -> str:
    """What a user is told of an input that gave no entry: which, its first line, and what
    lograd expected there."""
    if not lines:
        return f"no entries in {path}: it is empty"
    try:
        example = get(fmt).example
    except (KeyError, ValueError):
        example = ""
    first = first_line(path)
    a = "an" if fmt[:1] in "aeiou" else "a"
    expected = f"; {a} {fmt} line looks like {example!r}" if example else ""
    counted = "its only line is not" if lines == 1 else f"none of its {lines:,} lines is"
    return (f"no entries in {path}: {counted} {a} {fmt} entry (first line: {first!r}){expected}; "
            f"--format names another format (README, Formats)")


MAX_CHUNKS = 100_000
"""Chunks one job (or one follow round) is cut into at most: a smaller --chunk-size is raised."""


def chunk_size_for(total_bytes: int, asked: int | None, workers: int) -> tuple[int, str | None]:
    """The chunk size of a job: ``--chunk-size`` when given, else :func:`auto_chunk_size`;
    raised (with a note for the user) when it would cut the input into more than MAX_CHUNKS."""
    if asked is None:
        return auto_chunk_size(total_bytes, workers), None
    if -(-total_bytes // asked) <= MAX_CHUNKS:
        return asked, None
    size = -(-total_bytes // MAX_CHUNKS)
    size += -size % 4096  # whole pages
    return size, (f"--chunk-size {asked:,} B would cut {total_bytes:,} bytes into "
                  f"{-(-total_bytes // asked):,} chunks; using {size:,} B (at most {MAX_CHUNKS:,} chunks)")


def auto_chunk_size(total_bytes: int, workers: int) -> int:
    """About four chunks per worker, between MIN_AUTO_CHUNK and MAX_AUTO_CHUNK (64 KiB
    and 64 MiB, page-aligned)."""
    size = total_bytes // (4 * max(workers, 1))
    size = min(max(size, MIN_AUTO_CHUNK), MAX_AUTO_CHUNK)
    return size - size % 4096
