"""`syslog`: RFC 5424 and RFC 3164 (BSD) messages, with or without their ``<PRI>``.

    <34>1 2024-01-24T10:15:32.123Z web01 sshd 4242 ID47 - Failed password for root
    <13>Jan 24 10:15:32 web01 cron[999]: (root) CMD (run-parts /etc/cron.hourly)
    Jan 24 10:15:32 web01 sshd[4242]: error: maximum authentication attempts exceeded
    2024-01-24T10:15:32.123456+00:00 web01 kernel: Out of memory: Killed process 4321

The grammar (a line, without its ``\\n`` and a dropped ``\\r``)::

    line    := '<' PRI '>' rfc5424 | ['<' PRI '>'] bsd
    PRI     := 0-191 in 1-3 digits                      facility * 8 + severity
    rfc5424 := VERSION ' ' STAMP ' ' HOST ' ' APP ' ' PROCID ' ' MSGID ' ' SD [' ' MSG]
    bsd     := (Mmm ' ' dd ' ' hh:mm:ss | STAMP) ' ' HOST ' ' TAG ['[' PID ']'] [':'] [' ' MSG]
               (the ':' may be left out only after a [PID])
    STAMP   := an ISO 8601 time as `text` reads it (RFC 3339 and rsyslog's high-precision one)
    SD      := '-' | ('[' ... ']')+                     (structured data, skipped)

VERSION is 1-2 digits; HOST, APP, PROCID, MSGID are tokens without blanks (``-``
for none). A BSD stamp has no year: it is dated as `text` dates one, by the file's
modification time. The level is the PRI's severity (0 emerg and 1 alert FATAL,
2 CRITICAL, 3 ERROR, 4 WARN, 5 NOTICE, 6 INFO, 7 DEBUG); without a PRI it is a
level word among the first fields of MSG as `text` finds one, else ``NONE``. A
UTF-8 BOM at the start of MSG is dropped. Each entry inside the window is counted
under its host and its program (APP, or TAG) for ``top_hosts`` and ``top_programs``.
"""
from __future__ import annotations

import re

from ..aggregate import Partial, TimeBounds, each_line
from ..analyzer import entry_report
from .._scanner import GRAMMAR_SYSLOG
from ..fastpath import add_block_once
from ..parsing import ERROR_LEVELS, MAX_LINE
from . import PerLineFormat
from .text import level_among_fields, stamp_at
from ..patterns import lazy

SEVERITIES = ("FATAL", "FATAL", "CRITICAL", "ERROR", "WARN", "NOTICE", "INFO", "DEBUG")
BUSIEST = 20
"""Hosts and programs listed in ``top_hosts`` and ``top_programs``."""

_PRI = lazy(rb"<(\d{1,3})>")
_RFC5424 = lazy(rb"([1-9]\d?) ")
_TOKEN = lazy(rb"([^ \t]+) ")
_SD = lazy(rb'-|(?:\[(?:[^\]"\\]|"(?:[^"\\]|\\.)*"|\\.)*\])+', re.S)
_TAG = lazy(rb"([^ \t\[:]+)(\[[^\]]*\])?(:?)")
_BOM = b"\xef\xbb\xbf"


class SyslogEntry(tuple):
    """(epoch ms, level, message, host, program) of a syslog line."""

    @property
    def timestamp_ms(self) -> int:
        return self[0]


def parse_syslog_line(line: bytes, reference_ms: int = 0) -> SyslogEntry | None:
    """A `syslog` entry, or None when the line is not one."""
    if len(line) > MAX_LINE:
        return None
    at, severity = 0, None
    pri = _PRI.match(line)
    if pri is not None:
        value = int(pri[1])
        if value > 191 or (len(pri[1]) > 1 and pri[1][:1] == b"0"):
            return None
        severity, at = value % 8, pri.end()
        version = _RFC5424.match(line, at)
        if version is not None:
            return _rfc5424(line, version.end(), severity, reference_ms)
    found = stamp_at(line[at:], reference_ms, ("bsd", "iso"))
    if found is None or line[at + found[1]:at + found[1] + 1] != b" ":
        return None
    at += found[1] + 1
    host = _TOKEN.match(line, at)
    if host is None:
        return None
    tag = _TAG.match(line, host.end())
    if tag is None or not (tag[3] or tag[2]) or not (tag.end() == len(line) or line[tag.end()] in b" \t"):
        return None
    message_at = tag.end() + (1 if tag.end() < len(line) else 0)
    return _entry(line, found[0], severity, message_at, host[1], tag[1])


def _rfc5424(line: bytes, at: int, severity: int, reference_ms: int) -> SyslogEntry | None:
    found = stamp_at(line[at:], reference_ms, ("iso",))
    if found is None or line[at + found[1]:at + found[1] + 1] != b" ":
        return None
    at += found[1] + 1
    tokens = []
    for _ in range(4):  # HOST APP PROCID MSGID
        m = _TOKEN.match(line, at)
        if m is None:
            return None
        tokens.append(m[1])
        at = m.end()
    sd = _SD.match(line, at)
    if sd is None or (sd.end() < len(line) and line[sd.end()] != 32):
        return None
    return _entry(line, found[0], severity, min(sd.end() + 1, len(line)), tokens[0], tokens[1])


def _entry(line: bytes, ms: int, severity: int | None, at: int, host: bytes, program: bytes) -> SyslogEntry:
    if line[at:at + 3] == _BOM:
        at += 3
    if severity is None:
        level, at = level_among_fields(line, at)
    else:
        level = SEVERITIES[severity]
    return SyslogEntry((ms, level, line[at:], host, program))


def add_syslog_lines(partial: Partial, data: bytes, base: int, file_index: int, window: TimeBounds | None,
                     reference_ms: int = 0) -> int:
    """Classify and count every `syslog` line of ``data`` into ``partial``; the number of lines."""
    return each_line(partial, data, base, file_index, lambda line: parse_syslog_line(line, reference_ms),
                     lambda e, where: take_syslog(partial, e, window, where))


def take_syslog(partial: Partial, e: SyslogEntry, window: TimeBounds | None,
                where: tuple[int, int] | None = None) -> None:
    """Count a syslog entry (at ``where``), and inside the window under its host and program."""
    before = partial.in_window
    partial.add_entry(e[0], e[1], e[2], window, where=where)
    if partial.in_window > before:  # inside the window
        error = int(e[1] in ERROR_LEVELS)
        partial.add_label("host", e[3].decode("utf-8", "replace"), 1, error)
        partial.add_label("program", e[4].decode("utf-8", "replace"), 1, error)


def busiest(counts: dict[str, list[int]]) -> list[dict]:
    """The BUSIEST names by entries (ties by name), with their errors."""
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:BUSIEST]
    return [{"name": name, "entries": n, "errors": errors} for name, (n, errors) in ranked]


def add_syslog_fast(partial: Partial, data, base: int = 0, file_index: int = 0,
                    window: TimeBounds | None = None, reference_ms: int = 0) -> int:
    """Add the `syslog` lines of ``data`` (whole lines, at file offset ``base``) to
    ``partial`` by the compiled scanner, a chunk of its own (``add_lines`` is the exact path it
    equals); how many lines went to the exact path."""
    return add_block_once(lambda reading: SYSLOG.add_block(partial, data, base, reading, window), file_index, reference_ms)


class SyslogFormat(PerLineFormat):
    """The `syslog` format (see :mod:`lograd.formats`): the compiled scanner, held to the
    exact per-line path."""

    name = "syslog"
    grammar = GRAMMAR_SYSLOG
    example = "<34>1 2024-01-24T10:15:32.123Z web01 sshd 4242 ID47 - Failed password for root"

    def parse_line(self, line: bytes, reference_ms: int = 0) -> SyslogEntry | None:
        return parse_syslog_line(line, reference_ms)

    add_lines = staticmethod(add_syslog_lines)


    def take(self, partial: Partial, entry: SyslogEntry, window: TimeBounds | None,
             where: tuple[int, int] | None = None) -> None:
        take_syslog(partial, entry, window, where)

    def report_keys(self, partial: Partial, hosts: tuple[bytes, ...]) -> dict:
        keys = entry_report(partial)
        keys["top_hosts"] = busiest(partial.labels.get("host", {}))
        keys["top_programs"] = busiest(partial.labels.get("program", {}))
        return keys


SYSLOG = SyslogFormat()
