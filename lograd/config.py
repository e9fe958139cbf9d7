"""Defaults in one place, and the size/duration syntax of SPEC §4."""
from __future__ import annotations

import re

import msgspec

from .patterns import lazy

DEFAULT_PORT = 5555
DEFAULT_BIND = "127.0.0.1"
DEFAULT_COORDINATOR = f"tcp://127.0.0.1:{DEFAULT_PORT}"


class Settings(msgspec.Struct, frozen=True):
    """Timing and reliability knobs shared by the coordinator and its workers."""

    heartbeat_interval: float = 0.5
    """Seconds between heartbeats, both ways."""
    liveness: int = 3
    """Heartbeats missed before a peer is declared dead."""
    max_attempts: int = 3
    """Attempts at a chunk before it is quarantined as failed."""
    chunk_timeout_floor: float = 10.0
    """No chunk is given up on sooner than this many seconds."""
    chunk_timeout_factor: float = 4.0
    """A chunk may take this many times its expected time (from observed speed)."""
    worker_capacity: int = 2
    """Chunks a worker holds at once: one being read, one waiting."""
    join_timeout: float = 30.0
    """Seconds to wait for workers (at start, or after all were lost)."""
    give_up: float = 60.0
    """A worker exits after this long without hearing its coordinator."""

    @property
    def expiry(self) -> float:
        """Seconds of silence after which a peer is dead."""
        return self.heartbeat_interval * self.liveness


_SIZE = lazy(r"\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*", re.I)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9,
          "kib": 2**10, "mib": 2**20, "gib": 2**30}


def parse_size(text: str) -> int:
    """``8MiB`` -> 8388608; plain bytes or KiB/MiB/GiB/KB/MB/GB. ValueError if not a size."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise ValueError(f"not a size: {text!r} (try 8MiB, 100MB or 65536)")
    value = float(m[1]) * _UNITS[(m[2] or "b").lower()]
    if value < 1:
        raise ValueError(f"size must be at least one byte: {text!r}")
    return int(value)


def parse_seconds(text: str) -> float:
    """A positive duration in seconds. ValueError if not one."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"not a number of seconds: {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise ValueError(f"seconds must be positive: {text!r}")
    return value


FREED_MEMORY_KEPT = {"MALLOC_TRIM_THRESHOLD_": str(512 << 20), "MALLOC_MMAP_THRESHOLD_": str(64 << 20)}
"""glibc's settings for a local worker's process (read when it starts): keep up to 512 MiB of
freed heap for reuse, and map only allocations of 64 MiB or more on their own. Each block's
numpy rows are freed and allocated anew; by default glibc gives that memory back and maps large
arrays afresh, so the kernel zeroes the same pages again and again (1 GiB of app log, --local 2,
8 MiB chunks: 1.35 s of system time, 0.3 s with these). Peak memory is the largest block's rows
either way."""
