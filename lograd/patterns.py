"""Regular expressions compiled when first used, not when their module is imported.

The exact per-line paths hold about fifty module-level expressions (7 ms to compile);
a job whose lines the scanner decides uses few or none of them, and compiling them all
was on the way to every job's first chunk.
"""
from __future__ import annotations

import re

_METHODS = ("match", "fullmatch", "search", "finditer", "findall", "sub", "subn", "split",
            "pattern", "flags", "groups", "groupindex")


class LazyPattern:
    """What ``re.compile(pattern, flags)`` gives, compiled at its first use; from then on its
    methods are the compiled pattern's own, looked up as plain attributes."""

    def __init__(self, pattern: str | bytes, flags: int = 0) -> None:
        self._source = (pattern, flags)

    def __getattr__(self, name: str):
        compiled = re.compile(*self._source)
        for method in _METHODS:
            setattr(self, method, getattr(compiled, method))
        return getattr(compiled, name)


def lazy(pattern: str | bytes, flags: int = 0) -> LazyPattern:
    """A regular expression compiled when first used (see :class:`LazyPattern`)."""
    return LazyPattern(pattern, flags)
