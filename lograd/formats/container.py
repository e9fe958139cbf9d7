"""Container wrappers: Kubernetes CRI and Docker json-file lines, unwrapped and read as their inner format.

    2024-01-24T10:15:32.123456789Z stdout F 2024-01-24 10:15:32,123 INFO [main] a.B: ready     (CRI)
    {"log":"{\\"level\\":\\"error\\",\\"ts\\":1706091332.1,\\"msg\\":\\"x\\"}\\n","stream":"stderr","time":"2024-01-24T10:15:32.1Z"}

A *record* is a wrapper line and, when it is partial (CRI tag ``P``, or a Docker
``log`` without a final ``\\n``: a line the runtime split, 16 KiB each), the lines
after it up to the first full one; their contents are joined. The record belongs
to the chunk where its first line starts (the reader skips a chunk's leading
lines whose line before is partial, and reads on past the chunk's end until the
record is whole), so joining is exact for every chunk size.

Each file's inner format is detected from its unwrapped lines (as ``--format auto``
does) and the format is named ``cri+INNER`` or ``docker+INNER`` (``cri``, ``docker``
when no format reads half of them). A record whose content the inner format reads is
that format's entry; any other record (a stack-trace line, plain output) is still an
entry, at the wrapper's time, with the level a `text` line would show among its
first fields (else ``NONE``) and the content as message. A line that is not a
wrapper line is malformed.
"""
from __future__ import annotations

from typing import NamedTuple, TYPE_CHECKING

import msgspec

from .._scanner import UNDECIDED, WRAPPER_CRI
from ..aggregate import Partial, TimeBounds
from ..fastpath import add_tallied, finish_tally
from ..parsing import BLANK_BYTES, MAX_LINE
from . import EntryFormat
from . import Entries
from . import Reading
from . import entry_time
from .app import parse_timestamp
from .text import level_among_fields
from ..patterns import lazy

if TYPE_CHECKING:
    import numpy as np

_CRI = lazy(rb"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,9})?(?:Z|[+-]\d\d:\d\d)) (stdout|stderr) ([FP])(?: |\Z)")
_DOCKER = msgspec.json.Decoder()


class Wrapped(NamedTuple):
    """A wrapper line: its time, and its content (without the runtime's newline)."""

    timestamp_ms: int
    partial: bool
    content: bytes


def unwrap_cri(line: bytes) -> Wrapped | None:
    """A CRI line (``TIME STREAM TAG CONTENT``), or None."""
    m = _CRI.match(line)
    if m is None:
        return None
    ms = parse_timestamp(m[1])
    return None if ms is None else Wrapped(ms, m[3] == b"P", line[m.end():])


def unwrap_docker(line: bytes) -> Wrapped | None:
    """A Docker json-file line (``{"log": ..., "stream": ..., "time": ...}``), or None."""
    if not line.startswith(b'{"log":'):
        return None
    try:
        obj = _DOCKER.decode(line)
    except msgspec.DecodeError:
        return None
    log, time = obj.get("log"), obj.get("time")
    if not isinstance(log, str) or not isinstance(time, str):
        return None
    ms = parse_timestamp(time.encode())
    if ms is None:
        return None
    content = log.encode("utf-8", "surrogatepass")
    partial = not content.endswith(b"\n")
    return Wrapped(ms, partial, content if partial else content[:-1].removesuffix(b"\r"))


UNWRAP = {"cri": unwrap_cri, "docker": unwrap_docker}


def goes_on(unwrap):
    """Whether a raw line (``\\n`` and ``\\r`` dropped) is partial: its record goes on in the next."""
    def partial(line: bytes) -> bool:
        wrapped = unwrap(line)
        return wrapped is not None and wrapped.partial
    return partial


class WrappedFormat(EntryFormat):
    """A wrapper (``cri``, ``docker``) around an inner format (None: plain output)."""

    def __init__(self, wrapper: str, inner: EntryFormat | None) -> None:
        self.wrapper = wrapper
        self.inner = inner
        self.name = wrapper if inner is None else f"{wrapper}+{inner.name}"
        self.unwrap = UNWRAP[wrapper]
        self.record_goes_on = goes_on(self.unwrap)
        self.has_messages = inner is None or inner.has_messages
        self.workers_need_numpy = inner is not None and inner.workers_need_numpy
        self.example = {"cri": "2024-01-24T10:15:32.123456789Z stdout F <inner line>",
                        "docker": '{"log":"<inner line>\\n","stream":"stdout","time":"2024-01-24T10:15:32.1Z"}'}[wrapper]

    def parse_line(self, line: bytes, reference_ms: int = 0) -> Wrapped | None:
        """A wrapper line (detection counts these; each begins or continues a record)."""
        return self.unwrap(line)

    def add_block(self, partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None) -> int:
        grammar = None if self.inner is None else self.inner.grammar
        if self.wrapper != "cri" or grammar is None or reading.state is not None:
            partial.lines += self.add_lines(partial, bytes(block), base, reading, window)
            return 0

        def other_lines(view, tally, first_entry) -> int:
            """Runs of lines the scanner left (split lines, what is no CRI line) go to the exact
            path, a run at a time: a split line's pieces stay together."""
            undecided = tally.exceptions(UNDECIDED)
            runs: list[list[int]] = []  # [start, stop] of each run of lines one after the other
            for _, start, _, stop in undecided:
                if runs and runs[-1][1] == start:
                    runs[-1][1] = stop
                else:
                    runs.append([start, stop])
            for start, stop in runs:
                self.add_lines(partial, bytes(view[start:stop]), base + start, reading, window)
            return len(undecided)

        return add_tallied(partial, block, base, reading, window, grammar, other_lines, WRAPPER_CRI)

    def add_lines(self, partial: Partial, data: bytes, base: int, reading: Reading,
                  window: TimeBounds | None) -> int:
        """Count the lines of ``data`` (whole records but for one left open in ``reading.state``
        at the end of a block) into ``partial``; the number of lines."""
        parts = data.split(b"\n")
        if parts[-1] == b"":
            parts.pop()
        at = base
        open_record = reading.state  # [first offset, time, contents] of a record still going on
        for raw in parts:
            line = raw[:-1] if raw[-1:] == b"\r" else raw
            wrapped = self.unwrap(line) if len(line) <= MAX_LINE else None
            if wrapped is None:
                if len(line) <= MAX_LINE and not line.strip(BLANK_BYTES):
                    partial.blank += 1
                else:
                    partial.add_malformed(reading.file_index, at, line)
                if open_record is not None:  # the record ends with what it has
                    self._record(partial, open_record, reading)
                    open_record = None
            else:
                if open_record is None:
                    open_record = [at, wrapped.timestamp_ms, [], window]
                else:
                    partial.continuation += 1  # a further piece of a split line
                open_record[2].append(wrapped.content)
                if not wrapped.partial:
                    self._record(partial, open_record, reading)
                    open_record = None
            at += len(raw) + 1
        reading.state = open_record
        return len(parts)

    def finish(self, partial: Partial, reading: Reading) -> None:
        if reading.state is not None:  # the file ended inside a split line
            self._record(partial, reading.state, reading)
            reading.state = None
        finish_tally(reading)

    def _record(self, partial: Partial, record: list, reading: Reading) -> None:
        offset, ms, pieces, window = record
        entry = self.entry_of(ms, b"".join(pieces), reading.reference_ms)
        if entry is None:
            partial.add_malformed(reading.file_index, offset, b"".join(pieces))
        elif entry[0] == "inner":
            self.inner.take(partial, entry[1], window, (reading.file_index, offset))
        else:
            partial.add_entry(*entry[1], window, where=(reading.file_index, offset))

    def entry_of(self, ms: int, content: bytes, reference_ms: int) -> tuple | None:
        """What a record's content is: ("inner", the inner format's entry), ("plain",
        (time, level, message)) at the wrapper's time, or None when too long."""
        if len(content) > MAX_LINE:
            return None
        if self.inner is not None:
            entry = self.inner.parse_line(content, reference_ms)
            if entry is not None:
                return "inner", entry
        level, at = level_among_fields(content, 0)
        return "plain", (ms, level, content[at:])

    def block_entries(self, block, reading: Reading) -> Entries:
        """Each record's entry time (the inner one where the inner format reads it), the
        offset of its first line and of its last line's newline."""
        import numpy as np
        data = bytes(block)
        times, firsts, stops = [], [], []
        at, record = 0, None
        for raw in data.split(b"\n"):
            wrapped = self.unwrap(raw[:-1] if raw[-1:] == b"\r" else raw)
            if wrapped is None:
                record = None
            else:
                if record is None:
                    record = [at, wrapped.timestamp_ms, []]
                record[2].append(wrapped.content)
                if not wrapped.partial:
                    entry = self.entry_of(record[1], b"".join(record[2]), reading.reference_ms)
                    if entry is not None:
                        times.append(entry_time(entry[1]))
                        firsts.append(record[0])
                        stops.append(at + len(raw))
                    record = None
            at += len(raw) + 1
        return tuple(np.array(column, dtype=np.int64) for column in (times, firsts, stops))

    def report_keys(self, partial: Partial, hosts: tuple[bytes, ...]) -> dict:
        return (self.inner or super()).report_keys(partial, hosts)
