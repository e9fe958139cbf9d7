"""Input formats: one module each, all behind one small protocol, found in one registry.

Detection, the reader, the worker and the report ask the registry instead of
switching on format names; adding a format is its module, its tests and a row of
the README's table.

A format is pure (bytes in, a :class:`~lograd.aggregate.Partial` out):

- ``parse_line(line, reference_ms)`` decides one line exactly (None: not an entry);
  detection counts the lines it accepts;
- ``add_block(partial, block, base, reading, window)`` adds a block of whole lines,
  by the compiled scanner where there is one, else line by line;
- ``block_entries(block, reading)`` gives each entry's time, first byte and newline
  (for ``--last``'s scan and follow mode's time buckets);
- ``take(partial, entry, window)`` counts one entry ``parse_line`` gave (container
  wrappers hand their inner lines over so);
- ``finish(partial, reading)`` ends a chunk (the compiled path's tally goes into the
  partial; conn names its hosts);
- ``report_keys(partial, hosts)`` the format's own keys of the JSON report (``hosts``: ``--host``'s);
- ``grammar`` is the compiled scanner's grammar of its lines, or None: a container
  wrapper reads its content with it in place.

Every format's compiled or batched path is held to its exact per-line path by
property tests (tests/test_formats.py, test_fastpath.py, test_jsonlines.py).
"""
from __future__ import annotations

from typing import Any, Protocol, TYPE_CHECKING

import msgspec

if TYPE_CHECKING:
    import numpy as np

Entries = tuple["np.ndarray", "np.ndarray", "np.ndarray"]
"""Of each entry of a block: (time in ms, offset of its first byte, offset of its newline)."""


def no_entries() -> Entries:
    """A block's entries when it has none."""
    import numpy as np
    return (np.zeros(0, np.int64),) * 3


class Reading(msgspec.Struct):
    """What a format needs to read one chunk: the file's place in the report, ``--host``,
    the reference time that dates stamps without a year, and the format's own per-chunk
    state (conn keeps its host tables there until the chunk ends)."""

    file_index: int = 0
    hosts: tuple[bytes, ...] = ()
    reference_ms: int = 0
    state: Any = None
    tally: Any = None
    """The compiled path's (partial, Tally) of this chunk, until the format's ``finish``."""


class Format(Protocol):
    """One input format (see the module docstring)."""

    name: str
    example: str
    """One line of the format, for ``--help`` and the README."""
    continues: bool
    """Whether lines that are not entries continue the entry before them (stack traces)."""
    entry_metrics: bool
    """Whether entries have levels, response times and resources (the app keys of SPEC §3)."""
    has_messages: bool
    """Whether entries have a message, so the report counts their templates."""
    workers_need_numpy: bool
    """Whether a worker reading it imports numpy (the coordinator then imports it before
    forking its --local workers, once for them all; else they start without it)."""

    def parse_line(self, line: bytes, reference_ms: int = 0) -> tuple | None: ...

    def add_block(self, partial, block, base: int, reading: Reading, window) -> None: ...

    def finish(self, partial, reading: Reading) -> None: ...

    def take(self, partial, entry, window, where: tuple[int, int] | None = None) -> None: ...

    def block_entries(self, block, reading: Reading) -> Entries: ...

    def report_keys(self, partial, hosts: tuple[bytes, ...]) -> dict: ...


class EntryFormat:
    """Defaults of the formats whose entries have levels, response times and resources:
    the app keys of SPEC §3 and nothing to finish after a chunk."""

    continues = False
    entry_metrics = True
    has_messages = True
    workers_need_numpy = False  # a chunk's tally folds into plain numbers (lograd.fastpath)
    grammar: int | None = None
    """The compiled scanner's grammar for this format's lines, when it has one (a wrapper
    reads its content with it)."""

    def finish(self, partial, reading: Reading) -> None:
        """The chunk's tally (the compiled path's counts) goes into its partial."""
        from ..fastpath import finish_tally
        finish_tally(reading)

    def take(self, partial, entry, window, where: tuple[int, int] | None = None) -> None:
        """Count one entry ``parse_line`` gave, its first line at ``where`` (file index,
        offset; a wrapper hands over its inner lines so)."""
        partial.add_entry(entry[0], entry[1], entry[2], window, where=where)

    def report_keys(self, partial, hosts: tuple[bytes, ...]) -> dict:
        from ..analyzer import entry_report
        return entry_report(partial)


class PerLineFormat(EntryFormat):
    """An entry format with an exact per-line path: ``parse_line`` decides a line,
    ``add_lines(partial, data, base, file_index, window, reference_ms)`` counts a block's
    lines; ``add_block`` uses it unless the format has a faster path of its own."""

    def add_lines(self, partial, data: bytes, base: int, file_index: int, window,
                  reference_ms: int) -> int:
        raise NotImplementedError

    def add_block(self, partial, block, base: int, reading: Reading, window) -> int:
        """By the compiled scanner when the format has a grammar (its exceptions by
        ``add_lines``), else line by line; how many lines went to the exact path."""
        if self.grammar is None:
            partial.lines += self.add_lines(partial, bytes(block), base, reading.file_index, window,
                                            reading.reference_ms)
            return 0
        from ..fastpath import add_compiled
        return add_compiled(partial, block, base, reading, window, self.grammar, lambda line, offset: self.add_lines(
            partial, line, offset, reading.file_index, window, reading.reference_ms))

    def block_entries(self, block, reading: Reading) -> Entries:
        parse = lambda line: self.parse_line(line, reading.reference_ms)  # noqa: E731
        if self.grammar is None:
            return entries_of(bytes(block), parse)
        from ..fastpath import compiled_entries
        return compiled_entries(block, self.grammar, reading.reference_ms, parse)


def entry_time(entry) -> int:
    """The time of any format's parsed entry (a tuple starting with it, or one with
    ``timestamp_ms``)."""
    return entry.timestamp_ms if hasattr(entry, "timestamp_ms") else entry[0]


def entries_of(data: bytes, parse) -> Entries:
    """Every entry of ``data`` (whole lines) by a per-line parser whose result has
    ``timestamp_ms``: (times, first bytes, newlines)."""
    import numpy as np
    times, firsts, stops = [], [], []
    at = 0
    for raw in data.split(b"\n"):
        entry = parse(raw[:-1] if raw.endswith(b"\r") else raw)
        if entry is not None:
            times.append(entry.timestamp_ms)
            firsts.append(at)
            stops.append(at + len(raw))
        at += len(raw) + 1
    return tuple(np.array(column, dtype=np.int64) for column in (times, firsts, stops))


def _registry() -> dict[str, Format]:
    from .access import ACCESS
    from .app import APP
    from .conn import CONN
    from .jsonlines import JSON
    from .logfmt import LOGFMT
    from .syslog import SYSLOG
    from .container import WrappedFormat
    from .text import TEXT
    wrappers = (WrappedFormat("cri", None), WrappedFormat("docker", None))
    return {f.name: f for f in (APP, CONN, JSON, LOGFMT, SYSLOG, ACCESS, *wrappers, TEXT)}  # the order ties are broken in


_FORMATS: dict[str, Format] = {}
_WRAPPED: dict[str, Format] = {}  # wrapper+inner, made when first asked for


def formats() -> dict[str, Format]:
    """Every format by name, in the order detection breaks ties."""
    if not _FORMATS:
        _FORMATS.update(_registry())
    return _FORMATS


def get(name: str) -> Format:
    """The format called ``name``, a wrapped one too (``cri+json``); KeyError when there is none."""
    known = formats()
    if name in known:
        return known[name]
    if name.startswith(LAYOUT_PREFIX) and name not in _WRAPPED:  # access lines by a --log-format layout
        from .access import AccessFormat
        try:
            _WRAPPED[name] = AccessFormat(name[len(LAYOUT_PREFIX):])
        except ValueError:
            raise KeyError(name) from None
    if name not in _WRAPPED:
        wrapper, _, inner = name.partition("+")
        if wrapper not in WRAPPERS or inner not in known or inner in WRAPPERS or not known[inner].entry_metrics:
            raise KeyError(name)
        from .container import WrappedFormat
        _WRAPPED[name] = WrappedFormat(wrapper, known[inner])
    return _WRAPPED[name]


LAYOUT_PREFIX = "access="
"""A format name ``access=LAYOUT`` reads access lines by an nginx ``log_format`` string (--log-format)."""
WRAPPERS = ("cri", "docker")
"""Formats whose lines wrap another format's (container runtimes)."""


def names() -> tuple[str, ...]:
    """Every format's name (a wrapper's alone), in the order detection breaks ties."""
    return tuple(formats())


def job_format(file_formats: list[str]) -> str:
    """A report's ``format``: the one format of its files, ``mixed`` when they differ
    (``app`` when there are none)."""
    kinds = set(file_formats)
    return kinds.pop() if len(kinds) == 1 else ("mixed" if kinds else "app")
