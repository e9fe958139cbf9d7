"""`access`: web servers' access logs — NCSA common and combined, as nginx and Apache write them.

    203.0.113.7 - - [24/Jan/2024:10:15:32 +0000] "GET /api/users/42?x=1 HTTP/1.1" 200 512 "-" "curl/8.5" 0.127

The grammar (a line, without its ``\\n`` and a dropped ``\\r``)::

    line     := [vhost ' '] client ' ' ident ' ' user ' [' time '] "' request '" ' status ' ' bytes
                [' "' referrer '" "' agent '"'] trailing
    time     := dd/Mon/yyyy:HH:MM:SS ±hhmm          (converted to UTC)
    request  := METHOD ' ' target ' ' HTTP/n[.n]    (anything else: method INVALID, no path)
    status   := three digits, 100 to 599;  bytes := digits or '-' (0)

A field is a run of bytes other than space; a quoted field may hold ``\\"``.
Four fields before ``[`` make the first a virtual host (Apache ``vhost_combined``).
The response time is the first unquoted trailing field that is a number or a
comma list of numbers (nginx ``$upstream_response_time``: ``0.120, 0.003``, their
sum; ``-`` items count 0): with a decimal point it is seconds (nginx
``$request_time``), without one microseconds (Apache ``%D``). ``--log-format``
takes an nginx ``log_format`` string for other layouts (:func:`layout_pattern`).

An entry is counted like an app entry (requests, per second and per minute,
response times) whose level is ERROR for a 5xx status and INFO otherwise, and
its status, method, path, client, agent and referrer go to :class:`AccessCounts`.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from .._scanner import GRAMMAR_ACCESS
from ..access import AccessCounts, STATUS_CLASSES, access_report
from ..aggregate import Partial, TimeBounds, each_line, fixed_ms, inside
from ..fastpath import add_compiled, compiled_entries
from ..parsing import MAX_LINE, to_fixed
from ..timestamps import days_from_civil, is_calendar_date
from . import EntryFormat
from . import Entries
from . import Reading
from . import entries_of
from ..patterns import lazy

_QUOTED = rb'"((?:[^"\\]|\\.)*)"'
_LINE = lazy(rb"(?:(\S+) )?(\S+) (\S+) (\S+) \[([^\]]*)\] " + _QUOTED + rb" (\d{3}) (\d+|-)"
                   rb"(?: " + _QUOTED + rb" " + _QUOTED + rb")?((?: .*)?)", re.S)
_TIME = lazy(rb"(\d\d)/([A-Z][a-z]{2})/(\d{4}):(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)")
_MONTHS = {m: i + 1 for i, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
_REQUEST = lazy(rb"([A-Z][A-Z_-]*) (\S+) HTTP/\d(?:\.\d)?")
_FIELD = lazy(rb'"(?:[^"\\]|\\.)*"|\S+')
_SECONDS = lazy(rb"(\d+)\.(\d+)")
_MICROS = lazy(rb"\d+")
INVALID = b"INVALID"


class AccessEntry(NamedTuple):
    """What one access line says."""

    timestamp_ms: int
    status: int
    sent: int
    method: bytes
    target: bytes | None  # None for a request line that is not METHOD TARGET PROTOCOL
    client: bytes
    referrer: bytes | None
    agent: bytes | None
    rt: int | None  # fixed ms


def local_time_ms(text: bytes) -> int | None:
    """Epoch ms (UTC) of ``24/Jan/2024:10:15:32 +0100``, or None."""
    m = _TIME.fullmatch(text)
    if m is None:
        return None
    day, month, year = int(m[1]), _MONTHS.get(m[2]), int(m[3])
    hour, minute, second, zh, zm = int(m[4]), int(m[5]), int(m[6]), int(m[8]), int(m[9])
    if month is None or not is_calendar_date(year, month, day) or hour > 23 or minute > 59 or second > 59:
        return None
    if zh > 23 or zm > 59:
        return None
    offset = (zh * 60 + zm) * 60 * (1 if m[7] == b"+" else -1)
    return ((days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60 + second) - offset) * 1000


def trailing_time(rest: bytes) -> int | None:
    """The response time (fixed ms) among the fields after the combined ones, or None."""
    fields = _FIELD.findall(rest)
    i = 0
    while i < len(fields):
        parts = [fields[i]]
        while parts[-1].endswith(b",") and i + 1 < len(fields):  # "0.120, 0.003": one list
            i += 1
            parts.append(fields[i])
        total = _time_list(b"".join(parts))
        if total is not None:
            return total
        i += 1
    return None


def _time_list(text: bytes) -> int | None:
    """The sum of a comma list of times (``-`` items count 0), or None when it is no list of
    times (or only ``-``)."""
    total, seen = 0, False
    for item in text.split(b","):
        if item == b"-":
            continue
        m = _SECONDS.fullmatch(item)
        if m is not None:
            total += to_fixed(item, 3)  # seconds to fixed ms
        elif _MICROS.fullmatch(item):
            total += to_fixed(item, -3)  # microseconds to fixed ms
        else:
            return None
        seen = True
    return total if seen else None


def parse_access_line(line: bytes, reference_ms: int = 0) -> AccessEntry | None:
    """An access entry, or None when the line is not one."""
    if len(line) > MAX_LINE:
        return None
    m = _LINE.fullmatch(line)
    if m is None:
        return None
    ms = local_time_ms(m[5])
    status = int(m[7])
    if ms is None or not 100 <= status <= 599:
        return None
    request = _REQUEST.fullmatch(m[6])
    method, target = (request[1], request[2]) if request else (INVALID, None)
    sent = 0 if m[8] == b"-" else int(m[8])
    return AccessEntry(ms, status, sent, method, target, m[2], m[9], m[10], trailing_time(m[11]))


# -- nginx log_format layouts (--log-format) ----------------------------------------------------

_VARIABLES = {
    "remote_addr": ("client", r"\S+"), "binary_remote_addr": ("client", r"\S+"),
    "time_local": ("time_local", r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}"),
    "time_iso8601": ("time_iso", r"\S+"), "msec": ("msec", r"\d+(?:\.\d+)?"),
    "request": ("request", None), "request_method": ("method", r"[A-Z][A-Z_-]*"),
    "request_uri": ("target", r"\S+"), "uri": ("target", r"\S+"),
    "status": ("status", r"\d{3}"), "body_bytes_sent": ("bytes", r"\d+|-"), "bytes_sent": ("bytes", r"\d+|-"),
    "http_referer": ("referrer", None), "http_user_agent": ("agent", None),
    "request_time": ("rt", r"\d+(?:\.\d+)?|-"),
    "upstream_response_time": ("urt", r"(?:\d+(?:\.\d+)?|-)(?:(?:, | : )(?:\d+(?:\.\d+)?|-))*"),
}
"""nginx variables a layout's fields are read as: (what it gives, its pattern; None: any text,
quoted or not). Any other variable is skipped over."""
_VARIABLE = lazy(r"\$(\w+)|\$\{(\w+)\}")


def layout_pattern(layout: str) -> re.Pattern:
    """The regular expression of an nginx ``log_format`` string, a named group per understood
    variable (its first use); ValueError when it has no ``$status`` or no time."""
    parts, used, at, quoted = [], set(), 0, False
    for m in _VARIABLE.finditer(layout):
        literal = layout[at:m.start()]
        quoted ^= literal.count('"') % 2 == 1
        parts.append(re.escape(literal))
        name = m[1] or m[2]
        group, pattern = _VARIABLES.get(name, (None, None))
        if pattern is None:
            pattern = r'(?:[^"\\]|\\.)*' if quoted else r"\S*"
        if group is not None and group not in used:
            used.add(group)
            parts.append(f"(?P<{group}>{pattern})")
        else:
            parts.append(f"(?:{pattern})")
        at = m.end()
    parts.append(re.escape(layout[at:]))
    if "status" not in used or not used & {"time_local", "time_iso", "msec"}:
        raise ValueError("a --log-format needs $status and one of $time_local, $time_iso8601, $msec")
    return re.compile("".join(parts).encode(), re.S)


def parse_layout_line(line: bytes, pattern: re.Pattern) -> AccessEntry | None:
    """An access entry read by a ``--log-format`` layout, or None."""
    if len(line) > MAX_LINE:
        return None
    m = pattern.fullmatch(line)
    if m is None:
        return None
    fields = m.groupdict()
    if fields.get("time_local") is not None:
        ms = local_time_ms(fields["time_local"])
    elif fields.get("time_iso") is not None:
        from .app import parse_timestamp
        ms = parse_timestamp(fields["time_iso"])
    else:
        seconds, _, fraction = fields["msec"].partition(b".")
        ms = int(seconds) * 1000 + int((fraction + b"000")[:3])
    status = int(fields["status"])
    if ms is None or not 100 <= status <= 599:
        return None
    method, target = fields.get("method") or INVALID, fields.get("target")
    if fields.get("request") is not None:
        request = _REQUEST.fullmatch(fields["request"])
        method, target = (request[1], request[2]) if request else (INVALID, None)
    sent = fields.get("bytes") or b"-"
    rt = None
    if fields.get("rt") not in (None, b"-"):
        rt = to_fixed(fields["rt"], 3)
    elif fields.get("urt") is not None:
        rt = _time_list(re.sub(rb" : |, ", b",", fields["urt"]))
    return AccessEntry(ms, status, 0 if sent == b"-" else int(sent), method, target, fields.get("client") or b"-",
                       fields.get("referrer"), fields.get("agent"), rt)


def take_access(partial: Partial, e: AccessEntry, window: TimeBounds | None) -> None:
    """Count one access entry into ``partial``."""
    partial.add_entry(e.timestamp_ms, "ERROR" if e.status >= 500 else "INFO", b"", window, e.rt, [])
    if window is not None and not inside(e.timestamp_ms, window):
        return
    if partial.access is None:
        partial.access = AccessCounts()
    partial.access.add(e.timestamp_ms // 60_000, e.status, e.sent, e.method, e.target, e.client, e.agent,
                       e.referrer, e.rt, fixed_ms(e.rt) if e.rt is not None else 0.0)


def add_access_lines(partial: Partial, data: bytes, base: int, file_index: int, window: TimeBounds | None,
                     reference_ms: int = 0, parse=parse_access_line) -> int:
    """Classify and count every access line of ``data`` into ``partial``; the number of lines."""
    return each_line(partial, data, base, file_index, parse, lambda e, where: take_access(partial, e, window))


# -- the compiled path -------------------------------------------------------------------------


def access_entries(data) -> Entries:
    """Every access entry of ``data`` (whole lines): times, first bytes, newlines; heads only."""
    return compiled_entries(data, GRAMMAR_ACCESS, 0, parse_access_line)


class AccessFormat(EntryFormat):
    """The `access` format (see :mod:`lograd.formats`): the compiled scanner's tally (its
    ``AccessCounters`` beside the common counts), held to :func:`parse_access_line`; with
    ``layout``, lines as an nginx ``log_format`` string says, line by line."""

    name = "access"
    has_messages = False  # the request paths are normalised instead: top_paths
    example = '203.0.113.7 - - [24/Jan/2024:10:15:32 +0000] "GET /api/users/42 HTTP/1.1" 200 512 "-" "curl/8.5" 0.127'

    def __init__(self, layout: str | None = None) -> None:
        self.grammar: int | None = GRAMMAR_ACCESS  # cri+access reads its content so too
        if layout is None:
            self.parse = parse_access_line
        else:
            self.grammar = None
            pattern = layout_pattern(layout)
            self.parse = lambda line, reference_ms=0: parse_layout_line(line, pattern)

    def parse_line(self, line: bytes, reference_ms: int = 0) -> AccessEntry | None:
        return self.parse(line)

    def add_block(self, partial: Partial, block, base: int, reading: Reading, window: TimeBounds | None) -> int:
        if self.grammar is None:  # a --log-format layout: line by line
            partial.lines += add_access_lines(partial, bytes(block), base, reading.file_index, window, 0, self.parse)
            return 0
        return add_compiled(partial, block, base, reading, window, GRAMMAR_ACCESS,
                                   lambda line, offset: add_access_lines(partial, line, offset, reading.file_index, window))

    def take(self, partial: Partial, entry: AccessEntry, window: TimeBounds | None,
             where: tuple[int, int] | None = None) -> None:
        take_access(partial, entry, window)

    def block_entries(self, block, reading: Reading) -> Entries:
        if self.grammar is None:
            return entries_of(bytes(block), self.parse)
        return access_entries(block)

    def report_keys(self, partial: Partial, hosts: tuple[bytes, ...]) -> dict:
        keys = super().report_keys(partial, hosts)
        keys.pop("levels")  # ERROR and INFO only stand for 5xx and the rest: status_codes says more
        keys.pop("resources")
        figures = access_report(partial.access or AccessCounts(), partial.in_window)
        classes = {row.pop("minute"): row for row in figures.pop("status_per_minute")}
        empty = {f"status_{c}": 0 for c in STATUS_CLASSES}
        for row in keys["per_minute"]:
            row.update(classes.get(row["minute"], empty))
        keys.update(figures)
        return keys


ACCESS = AccessFormat()
