"""Message templates (issue #17): the variable parts of a message masked, so that lines saying
the same thing with other numbers, addresses or ids fall into one group.

    Timeout after 3001 ms calling 10.0.0.7:5432   ->   Timeout after <*> ms calling <*>

A template depends only on its message (no state, no order of arrival, unlike Drain's
clusters), so partials of any chunking can count templates and merge them exactly.

The rules, in order (``<*>`` stands for a masked value), applied to a message's first
:data:`MESSAGE_BYTES` bytes (the compiled scanner applies them too, byte for byte):

1. quoted values (``"..."``, ``'...'``) become ``"<*>"`` / ``'<*>'``;
2. the message is cut into tokens at white space; each token's leading and trailing
   punctuation (brackets, parentheses, quotes, ``,;:.!?``) is kept as it is and its core
   is decided;
3. ``key=value`` (and ``key:value``) keeps the key: ``key=<*>``; but ``host:port`` (a port
   of digits after a colon) is an address, all ``<*>``;
4. a core that is an e-mail address, a URL or path holding a digit, a UUID, a hex id
   (``0x...``, or eight or more hex digits with a digit among them), an IPv4 or IPv6
   address (with a port or not), a date or time, or a number with or without a unit
   (``3001ms``, ``12.5%``, ``1024MB``) — in short, any core holding a digit — is ``<*>``;
5. everything else is kept; tokens are joined by single spaces.
"""
from __future__ import annotations

import heapq
import re

import msgspec

from .parsing import ERROR_LEVELS, checked_count as _count, checked_counts_by_int, checked_int as _int
from .patterns import lazy
from .timestamps import format_minute, format_ms

VARIABLE = "<*>"
MESSAGE_BYTES = 1024
"""A template is made of a message's first 1,024 bytes: what says which error it is comes
first, the tail of a long message (a dump, a JSON body) is values; and a template's size,
and so the memory of a table of them, stays bounded."""
_MASK = b"<*>"
_QUOTED = lazy(rb'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', re.S)
_EDGE = b"()[]{}<>\"',;:.!?"
_KEY = lazy(rb"([A-Za-z_][A-Za-z0-9_.\-]*)([=:])(.+)", re.S)
_QUOTED_MARK = b"\x00"  # a quoted value once masked (no message holds a NUL and keeps it)


def template_of(message: bytes) -> str:
    """The template of a message (see the module docstring): a str, the message decoded as
    UTF-8 with replacement characters, its variable parts written ``<*>``."""
    return template_bytes(message).decode("utf-8", "replace")


def template_bytes(message: bytes) -> bytes:
    """The template of a message as bytes: what the compiled scanner computes, byte for byte
    (:func:`template_of` decodes it)."""
    message = message[:MESSAGE_BYTES].replace(_QUOTED_MARK, b"?")
    masked = _QUOTED.sub(lambda m: m[0][:1] + _QUOTED_MARK + m[0][:1], message)
    return b" ".join(_token(t) for t in masked.split()).replace(_QUOTED_MARK, _MASK)


def _token(token: bytes) -> bytes:
    bare = token.rstrip(b",;.!?")
    if bare.count(b":") >= 2 and _IPV6.fullmatch(bare):  # [2001:db8::1]:443, fe80::1: brackets and all
        return _MASK + token[len(bare):]
    start, end = 0, len(token)
    while start < end and token[start] in _EDGE:
        start += 1
    while end > start and token[end - 1] in _EDGE:
        end -= 1
    head, core, tail = token[:start], token[start:end], token[end:]
    if core:
        keyed = _KEY.fullmatch(core)
        if keyed is not None and keyed[2] == b":" and keyed[3].isdigit():  # host:port is an address
            core = _MASK
        elif keyed is not None:
            core = keyed[1] + keyed[2] + (_MASK if _variable(keyed[3]) else keyed[3])
        elif _variable(core):
            core = _MASK
    return head + core + tail


_UUID = lazy(rb"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HEX = lazy(rb"0[xX][0-9a-fA-F]+|(?=[0-9a-fA-F]*[0-9])[0-9a-fA-F]{8,}")
_EMAIL = lazy(rb"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_IPV6 = lazy(rb"\[?[0-9a-fA-F]*:[0-9a-fA-F]*:[0-9a-fA-F:.]*\]?(?::\d+)?")


def _variable(core: bytes) -> bool:
    """Whether a token's core is a value (rule 4)."""
    if any(48 <= c <= 57 for c in core):  # numbers, dates, addresses, ids, paths with digits
        return True
    return bool(_UUID.fullmatch(core) or _HEX.fullmatch(core) or _EMAIL.fullmatch(core))


# -- counting templates: pure and mergeable ---------------------------------------------------

GROUPS = ("errors", "warnings", "other")
"""The level groups templates are ranked in: ERROR, CRITICAL and FATAL; WARN; the rest."""
MAX_TEMPLATES = 20_000
"""Templates a group keeps per partial; beyond, the fewest are cut (Misra-Gries)."""


def group_of(level: str) -> int:
    """The index in GROUPS of an entry's level."""
    return 0 if level in ERROR_LEVELS else 1 if level == "WARN" else 2


class TemplateFigures(msgspec.Struct):
    """One template of one level group: its entries inside the window (``count``, per minute,
    the first and last entry time, and the first of them in file order as (file index,
    offset)), and whether any of its entries lies before the window (``before``: a template
    counted inside the window without one is new there)."""

    count: int = 0
    first_ms: int = 0
    last_ms: int = 0
    example: tuple[int, int] | None = None
    minutes: dict[int, int] = msgspec.field(default_factory=dict)
    before: bool = False

    def merge(self, other: TemplateFigures) -> None:
        if other.count:
            self.first_ms = other.first_ms if not self.count else min(self.first_ms, other.first_ms)
            self.last_ms = other.last_ms if not self.count else max(self.last_ms, other.last_ms)
            self.count += other.count
        self.before = self.before or other.before
        if other.example is not None and (self.example is None or other.example < self.example):
            self.example = other.example
        for minute, n in other.minutes.items():
            self.minutes[minute] = self.minutes.get(minute, 0) + n

    def copy(self) -> TemplateFigures:
        return TemplateFigures(self.count, self.first_ms, self.last_ms, self.example, dict(self.minutes), self.before)

    def to_wire(self) -> list:
        return [self.count, self.first_ms, self.last_ms, None if self.example is None else list(self.example),
                [[m, n] for m, n in sorted(self.minutes.items())], self.before]

    @classmethod
    def from_wire(cls, data: list) -> TemplateFigures:
        count, first, last, example, minutes, before = data
        if example is not None:
            f, o = example
            example = (_count(f), _count(o))
        out = cls(_count(count), _int(first), _int(last), example, checked_counts_by_int(minutes), before is True)
        if sum(out.minutes.values()) != out.count or (out.count and first > last) or not (out.count or out.before):
            raise ValueError("a template's figures that do not add up")
        return out


class TemplateCounts(msgspec.Struct):
    """The templates of some entries, per level group (GROUPS): template bytes -> figures.
    Keyed by the template itself, not a hash of it: as exact, and sent once either way."""

    groups: tuple[dict[bytes, TemplateFigures], ...] = msgspec.field(default_factory=lambda: ({}, {}, {}))
    undercount: list[int] = msgspec.field(default_factory=lambda: [0, 0, 0])
    """Per group: how much any count may be under the true one, once the group held more
    than MAX_TEMPLATES templates (0 while exact)."""

    def add(self, group: int, template: bytes, ms: int, inside: bool, where: tuple[int, int] | None) -> None:
        """Count one entry of ``template`` at time ``ms`` at ``where``: inside the window, or
        (``inside`` false) before it."""
        mine = self.groups[group]
        figures = mine.get(template)
        if figures is None:
            figures = mine[template] = TemplateFigures()
        if not inside:
            figures.before = True
            return
        if not figures.count or ms < figures.first_ms:
            figures.first_ms = ms
        if not figures.count or ms > figures.last_ms:
            figures.last_ms = ms
        figures.count += 1
        minute = ms // 60_000
        figures.minutes[minute] = figures.minutes.get(minute, 0) + 1
        if where is not None and (figures.example is None or where < figures.example):
            figures.example = where

    def add_figures(self, group: int, template: bytes, figures: TemplateFigures) -> None:
        """Add the figures of some entries of ``template`` (taken, not copied)."""
        mine = self.groups[group]
        have = mine.get(template)
        if have is None:
            mine[template] = figures
        else:
            have.merge(figures)

    def move_examples(self, offset_of) -> None:
        """Each example's offset ``at`` made ``offset_of(at)`` (lines read apart from their file)."""
        for mine in self.groups:
            for figures in mine.values():
                if figures.example is not None:
                    figures.example = (figures.example[0], offset_of(figures.example[1]))

    def merge(self, other: TemplateCounts) -> None:
        """Add another's counts; the result does not depend on merge order (below the bound)."""
        for g, (mine, theirs) in enumerate(zip(self.groups, other.groups)):
            for template, figures in theirs.items():
                have = mine.get(template)
                if have is None:
                    mine[template] = figures.copy()
                else:
                    have.merge(figures)
            self.undercount[g] += other.undercount[g]
        self.bound()

    def bound(self) -> None:
        """Keep each group to MAX_TEMPLATES templates: Misra-Gries on the window's counts (the
        (MAX_TEMPLATES + 1)-th largest is taken off every count; templates left at none are
        dropped, their minutes cut to the count left, the latest minutes first)."""
        for g, mine in enumerate(self.groups):
            if len(mine) <= MAX_TEMPLATES:
                continue
            cut = heapq.nlargest(MAX_TEMPLATES + 1, (f.count for f in mine.values()))[-1]
            for template in list(mine):
                figures = mine[template]
                figures.count -= cut
                if figures.count <= 0:
                    del mine[template]
                    continue
                left = figures.count
                for minute in sorted(figures.minutes):
                    n = min(figures.minutes[minute], left)
                    figures.minutes[minute] = n
                    left -= n
                figures.minutes = {m: n for m, n in figures.minutes.items() if n}
            self.undercount[g] += cut

    def __bool__(self) -> bool:
        return any(self.groups)

    def metrics_only(self) -> None:
        """Keep the entries inside the window only: forget which templates came before it."""
        for mine in self.groups:
            for template in [t for t, f in mine.items() if not f.count]:
                del mine[template]
            for figures in mine.values():
                figures.before = False

    def to_wire(self) -> list:
        """Plain lists for msgpack, in template order (the same counts give the same bytes)."""
        return [[[t, mine[t].to_wire()] for t in sorted(mine)] for mine in self.groups] + [self.undercount]

    @classmethod
    def from_wire(cls, data: list) -> TemplateCounts:
        """Inverse of :meth:`to_wire`; raises ValueError on anything malformed."""
        if not isinstance(data, list) or len(data) != len(GROUPS) + 1:
            raise ValueError("templates of the wrong shape")
        out = cls()
        for mine, rows in zip(out.groups, data[:-1]):
            for template, figures in rows:
                if not isinstance(template, bytes) or template in mine:
                    raise ValueError("a template that is not bytes, or twice")
                mine[template] = TemplateFigures.from_wire(figures)
        out.undercount = [_count(n) for n in data[-1]]
        if len(out.undercount) != len(GROUPS):
            raise ValueError("undercounts of the wrong length")
        return out




# -- the report -------------------------------------------------------------------------------

TOP_TEMPLATES = 20
"""Rows of each group's list, and of ``new_templates``."""
CHARTED = 5
"""The top rows of a group that carry their counts per minute."""


def template_report(counts: TemplateCounts, files: list[str], windowed: bool) -> dict:
    """The report keys of templates (README, Message templates): ``templates`` (each group's
    most frequent inside the window), ``templates_total`` (distinct templates inside the
    window), ``new_templates`` (with a window that has a start: templates whose first entry
    lies inside it, errors first, else None) and, once a group was bounded,
    ``templates_approximate`` (how far under its true count any count may be)."""
    def row(template: bytes, f: TemplateFigures, charted: bool) -> dict:
        out = {"template": template.decode("utf-8", "replace"), "count": f.count,
               "first_seen": format_ms(f.first_ms), "last_seen": format_ms(f.last_ms),
               "example": None if f.example is None else {
                   "file": files[f.example[0]] if 0 <= f.example[0] < len(files) else str(f.example[0]),
                   "offset": f.example[1]}}
        if charted:
            out["per_minute"] = [{"minute": format_minute(m), "count": n} for m, n in sorted(f.minutes.items())]
        return out

    def ranked(rows) -> list:
        return sorted(((t, f) for t, f in rows if f.count), key=lambda r: (-r[1].count, r[0]))

    report: dict = {"templates": {}}
    for name, mine in zip(GROUPS, counts.groups):
        top = ranked(mine.items())[:TOP_TEMPLATES]
        report["templates"][name] = [row(t, f, i < CHARTED) for i, (t, f) in enumerate(top)]
    report["templates_total"] = len({t for mine in counts.groups for t, f in mine.items() if f.count})
    if windowed:
        new = [(g, t, f) for g, mine in enumerate(counts.groups) for t, f in mine.items() if f.count and not f.before]
        new.sort(key=lambda r: (r[0], -r[2].count, r[1]))
        report["new_templates"] = [{"level_group": GROUPS[g], **row(t, f, False)} for g, t, f in new[:TOP_TEMPLATES]]
        report["new_templates_total"] = len(new)
    else:
        report["new_templates"] = None
    if any(counts.undercount):
        report["templates_approximate"] = {name: n for name, n in zip(GROUPS, counts.undercount) if n}
    return report
