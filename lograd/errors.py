"""The errors lograd names, and the exit status of each command (SPEC §4), in one place.

    LogradError                  what a command says in one line and exits with ``status``
    ├── UsageError               a command line that cannot run                  2  (cli)
    ├── NothingToRead            no input file could be read: no report          2  (coordinator)
    ├── JobRefused               the job cannot run as asked (a filter over conn) 2  (coordinator)
    ├── StateError               a --state file that is not one                  2  (jobs.followjob)
    ├── MissingKey               --curve without its key files                   2  (security)
    └── NoWorkers                no worker joined within --join-timeout          3  (coordinator)

Not exits: ``ProtocolError`` (garbage on the wire: dropped and counted), and a chunk's
``ChunkUnreadable`` / ``Refused`` (OSError: the worker answers with a Failure, the chunk is
retried or listed in ``job.failed_chunks``, exit 1).
"""
from __future__ import annotations

EXIT_OK = 0
"""A report, and every input read."""
EXIT_PARTIAL = 1
"""A report, but some input could not be read, gave no entry, or some chunks failed."""
EXIT_USAGE = 2
"""A usage error, or nothing at all to read: no report."""
EXIT_NO_WORKERS = 3
"""No worker joined in time."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), as shells report it."""
EXIT_BROKEN_PIPE = 141
"""The reader of standard output went away (``... | head``): 128 + SIGPIPE, as shells report
a command a pipe stopped."""


class LogradError(Exception):
    """An error a command reports in one line (never a traceback) and exits ``status`` with."""

    status = EXIT_USAGE


class UsageError(LogradError, ValueError):
    """A command line that cannot be run."""


class NothingToRead(LogradError, RuntimeError):
    """No input file could be read: no report."""


class JobRefused(LogradError, RuntimeError):
    """The job cannot run as asked: the message says why."""


class StateError(LogradError, ValueError):
    """A --state file lograd cannot continue from."""


class MissingKey(LogradError, ValueError):
    """A CurveZMQ key file that should be there is not."""


class NoWorkers(LogradError, RuntimeError):
    """No worker joined within --join-timeout."""

    status = EXIT_NO_WORKERS
