"""This process's CPU and memory: the kernel's own counters (the process's CPU clock,
``/proc/self/statm``, ``getrusage``), psutil only where ``/proc`` is missing (it costs 10 ms of
every start-up)."""
from __future__ import annotations

try:
    import resource
except ImportError:  # not on every platform
    resource = None

import os
import time

_MB = 1024 * 1024
CPU_SPAN = 0.005
"""Seconds a CPU reading spans at least: a heartbeat right after another says nothing new.
(The CPU clock counts nanoseconds; ``os.times`` counts 10 ms ticks, which made a reading
need 0.2 s, and a worker of a job shorter than that read 0.0%.)"""


def _cpu_seconds() -> float:
    """User and system CPU seconds of this process, its threads included, to the nanosecond
    (``CLOCK_PROCESS_CPUTIME_ID``: the scheduler's own count, not ticks)."""
    return time.process_time()


def this_host() -> str:
    """This machine's name, as ``socket.gethostname`` gives it (the kernel's node name),
    without importing socket (2-3 ms of a start-up; platform is imported already)."""
    import platform
    return platform.node()


_LIBC: list = []


def libc():
    """This process's C library through ctypes (``prctl``, ``mallopt``: Linux and glibc), or
    None where it cannot be loaded; loaded once."""
    if not _LIBC:
        try:
            import ctypes
            _LIBC.append(ctypes.CDLL(None))
        except OSError:
            _LIBC.append(None)
    return _LIBC[0]


def _rss_mb() -> float:
    """Resident memory now, in MiB; 0.0 when it cannot be read."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / _MB
    except (OSError, ValueError, IndexError):
        pass
    try:
        import psutil
        return psutil.Process().memory_info().rss / _MB
    except Exception:  # psutil.Error, or no psutil for this platform
        return 0.0


class ProcessStats:
    """CPU % since the previous sample (as ``psutil``'s ``cpu_percent``: CPU seconds over
    wall seconds, so two busy threads read 200), current and peak RSS in MB."""

    def __init__(self) -> None:
        self.peak_rss_mb = 0.0
        self._cpu = 0.0
        self._cpu_at = time.monotonic()
        self._cpu_seconds = _cpu_seconds()

    def sample(self) -> tuple[float, float, float]:
        """(cpu_percent, rss_mb, peak_rss_mb) now."""
        now = time.monotonic()
        if now - self._cpu_at >= CPU_SPAN:  # else the previous reading stands
            used = _cpu_seconds()
            self._cpu = max(0.0, (used - self._cpu_seconds) / (now - self._cpu_at) * 100)
            self._cpu_at, self._cpu_seconds = now, used
        cpu = self._cpu
        rss = _rss_mb()
        peak = rss
        if resource is not None:
            try:  # ru_maxrss is KiB on Linux: the true peak, not just what we sampled
                peak = max(peak, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            except (OSError, ValueError):
                pass
        self.peak_rss_mb = max(self.peak_rss_mb, peak)
        return cpu, rss, self.peak_rss_mb


def seconds_since_start() -> float | None:
    """Seconds since this process started (the user's command: an exec keeps the process),
    to the kernel's 10 ms tick; None where /proc or the boot clock is missing."""
    try:
        with open("/proc/self/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
        return time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
