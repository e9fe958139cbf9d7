"""This process's CPU and memory, each psutil field read behind its own guard."""
from __future__ import annotations

try:
    import resource
except ImportError:  # not on every platform
    resource = None

import os
import time

import psutil

_MB = 1024 * 1024
CPU_SPAN = 0.2
"""Seconds a CPU reading spans at least: the kernel counts CPU time in 10 ms ticks, so a
reading over a millisecond (a heartbeat right after a chunk) could say 1500%."""


class ProcessStats:
    """CPU % since the previous sample, current and peak RSS in MB."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self.peak_rss_mb = 0.0
        self._cpu = 0.0
        self._cpu_at = time.monotonic()
        try:
            self._process.cpu_percent(None)  # primes the counter
        except psutil.Error:
            pass

    def sample(self) -> tuple[float, float, float]:
        """(cpu_percent, rss_mb, peak_rss_mb) now."""
        now = time.monotonic()
        if now - self._cpu_at >= CPU_SPAN:  # else the previous reading stands
            try:
                self._cpu = float(self._process.cpu_percent(None))
            except psutil.Error:
                self._cpu = 0.0
            self._cpu_at = now
        cpu = self._cpu
        try:
            rss = self._process.memory_info().rss / _MB
        except psutil.Error:
            rss = 0.0
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
