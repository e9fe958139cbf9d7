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
from dataclasses import dataclass

import numpy as np

from .parsing import LEVEL_ORDER
from .templates import template_bytes

SEVERE = LEVEL_ORDER[:LEVEL_ORDER.index("FATAL") + 1]
"""The levels --level takes, least severe first (NONE, no level, passes no --level)."""


@dataclass(frozen=True)
class EntryFilter:
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

    def keep_rows(self, view, kinds: np.ndarray, levels: np.ndarray, messages: np.ndarray,
                  message_ends: np.ndarray, entry: int) -> np.ndarray:
        """Which lines of a scanned block pass (the compiled path): a bool per line, False
        for lines that are not entries (kind ``entry``)."""
        from ._scanner import template_matches
        keep = kinds == entry
        if self.level is not None:
            keep &= (levels >= SEVERE.index(self.level)) & (levels < len(SEVERE))
        if self.template is not None:
            same = np.empty(len(kinds), np.uint8)
            template_matches(view, kinds, messages, message_ends, self.template, same)
            keep &= same.view(bool)
        if self.grep is not None:
            search = _compiled(self.grep).search
            for line in np.flatnonzero(keep).tolist():  # a regular expression per entry: Python's
                keep[line] = search(view[int(messages[line]):int(message_ends[line])]) is not None
        return keep


@functools.lru_cache(maxsize=8)
def _compiled(pattern: bytes) -> re.Pattern:
    return re.compile(pattern)
