"""lograd: a distributed log analyzer over ZeroMQ.

The public surface (SPEC §5)::

    from lograd import LogEntry, Worker, Coordinator, Analyzer, generate_test_logs
    from lograd import template_of      # a message's template (issue #17)

Names are imported on first use, so the command lines start fast and
``import lograd`` works before pyzmq is importable (see ``lograd.launch``).
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "LogEntry": "lograd.formats.app",
    "Analyzer": "lograd.analyzer",
    "Worker": "lograd.worker",
    "Coordinator": "lograd.coordinator",
    "generate_test_logs": "lograd.generate",
    "template_of": "lograd.templates",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lograd' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
