"""Which entries a job counts besides its window (issue #17): ``--level``, ``--grep``, ``--template``.

An entry that does not pass the filters is treated as one outside the window: it is
still an entry (``entries``, first and last time), but no metric, template or label
counts it. Filters need entries with levels and messages (every format but `access`
and `conn`). Pure: the worker builds one per job from the Assign's wire form, and the
regular expression is compiled once per worker process and pattern.
"""
from __future__ import annotations

import functools
import re
from typing import Callable

import msgspec

from .parsing import LEVEL_ORDER
from .templates import template_bytes

SEVERE = LEVEL_ORDER[:LEVEL_ORDER.index("FATAL") + 1]
"""The levels --level takes, least severe first (NONE, no level, passes no --level)."""


class EntryFilter(msgspec.Struct, frozen=True):
    """``level``: that level or a more severe one; ``grep``: a bytes regular expression the
    message must match somewhere (``re.search``); ``template``: the message's template
    (:func:`lograd.templates.template_of`) must be this one. None: no such filter."""

    level: str | None = None
    grep: bytes | None = None
    template: bytes | None = None

    @classmethod
    def from_options(cls, level: str | None, grep: str | None, template: str | None) -> EntryFilter | None:
        """The filter of the command line's options, None when none is given; ValueError
        with a message for the user on an unknown level or a pattern that does not compile."""
        if level is not None:
            level = level.upper().replace("WARNING", "WARN")
            if level not in SEVERE:
                raise ValueError(f"--level: unknown level {level!r}; one of {', '.join(SEVERE)}")
        encoded = None if grep is None else grep.encode("utf-8", "surrogateescape")
        if encoded is not None:
            try:
                _compiled(encoded)
            except re.error as exc:
                raise ValueError(f"--grep: not a regular expression ({exc})") from None
        if level is None and grep is None and template is None:
            return None
        return cls(level, encoded, None if template is None else template.encode("utf-8", "surrogateescape"))

    def to_wire(self) -> list:
        return [self.level, self.grep, self.template]

    def shown(self) -> dict:
        """The report's ``filters`` key."""
        return {"level": self.level, "grep": None if self.grep is None else self.grep.decode("utf-8", "replace"),
                "template": None if self.template is None else self.template.decode("utf-8", "replace")}

    @classmethod
    def from_wire(cls, data: list) -> EntryFilter | None:
        """Inverse of :meth:`to_wire` (``[]``: no filter); ValueError on anything malformed,
        a level it does not know or a pattern that does not compile."""
        if not data:
            return None
        level, grep, template = data
        if level is not None and level not in SEVERE or not all(v is None or isinstance(v, bytes)
                                                                 for v in (grep, template)):
            raise ValueError("a filter that is not one")
        if grep is not None:
            try:
                _compiled(grep)
            except re.error as exc:
                raise ValueError(f"--grep: not a regular expression ({exc})") from None
        return cls(level, grep, template)

    def passes(self, level: str, message: bytes) -> bool:
        """Whether an entry of ``level`` with ``message`` passes (the exact path)."""
        if self.level is not None and not (level in SEVERE and SEVERE.index(level) >= SEVERE.index(self.level)):
            return False
        if self.grep is not None and _compiled(self.grep).search(message) is None:
            return False
        return self.template is None or template_bytes(message) == self.template

    def scanner_terms(self) -> tuple[int, int, bytes | None, Callable | None, bytes | None]:
        """The filter as the compiled scanner takes it (``Tally.filter``): the level ids that
        pass [least, end) (-1: any), ``--grep`` as a literal when it has no special character
        (found by ``memmem``, as ``re.search`` would find it) or else its compiled search, and
        the template."""
        least = -1 if self.level is None else SEVERE.index(self.level)
        literal = search = None
        if self.grep is not None:
            if any(c in _SPECIAL for c in self.grep):
                search = _compiled(self.grep).search
            else:
                literal = self.grep
        return least, len(SEVERE), literal, search, self.template


_SPECIAL = frozenset(b".^$*+?{}[]\\|()")
"""Bytes that make a pattern more than the literal bytes it is."""


@functools.lru_cache(maxsize=8)
def _compiled(pattern: bytes) -> re.Pattern:
    return re.compile(pattern)
