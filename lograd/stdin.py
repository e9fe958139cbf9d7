"""Standard input as a log (``-``): spooled to a temporary file that workers read like any other.

A thread copies what arrives on stdin into the spool as it comes, so the
coordinator can follow it (``--follow -``) or, in batch mode, cut it into chunks
once stdin ends. Workers on this machine read the spool; workers elsewhere
cannot (they need the path), which the README says.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import BinaryIO

NAME = "-"
"""How standard input is named on the command line and in reports."""
_READ = 1 << 20


class StdinSpool:
    """A temporary file that fills with standard input as it arrives (a context manager)."""

    def __init__(self, source: BinaryIO | None = None) -> None:
        import tempfile  # here, not at import: with shutil (which loads zlib, bz2 and lzma) it
        # cost every coordinator 4-6 ms of its start, and only a job reading "-" needs them
        self.source = source if source is not None else sys.stdin.buffer
        self.folder = tempfile.mkdtemp(prefix="lograd-stdin-")
        self.path = os.path.join(self.folder, "stdin.log")
        self.ended = threading.Event()
        self.error: OSError | None = None
        self.bytes = 0
        open(self.path, "wb").close()
        self._thread = threading.Thread(target=self._copy, name="lograd-stdin", daemon=True)

    def __enter__(self) -> StdinSpool:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        import shutil
        shutil.rmtree(self.folder, ignore_errors=True)

    def _copy(self) -> None:
        read = getattr(self.source, "read1", self.source.read)
        try:
            with open(self.path, "ab") as out:
                while True:
                    block = read(_READ)
                    if not block:
                        break
                    out.write(block)
                    out.flush()  # the follower sees whole lines as soon as they come
                    self.bytes += len(block)
        except OSError as exc:
            self.error = exc
        finally:
            self.ended.set()

    def wait(self) -> None:
        """Until standard input ends (in steps, so Ctrl-C is heard)."""
        while not self.ended.wait(0.2):
            pass


def renamed(report: dict, names: dict[str, str]) -> dict:
    """``report`` with the spool's path shown as the user named it (``-``)."""
    if not names:
        return report
    report["files"] = [names.get(f, f) for f in report.get("files", [])]
    if "files_formats" in report:
        report["files_formats"] = {names.get(f, f): v for f, v in report["files_formats"].items()}
    for sample in report.get("malformed_samples", []):
        sample["file"] = names.get(sample["file"], sample["file"])
    return report
