"""A process's own figures (sysstats): read from the kernel's counters, held to psutil's reading."""
import subprocess
import sys
import time

import psutil

from lograd.sysstats import CPU_SPAN, ProcessStats


def test_memory_is_what_psutil_reads_and_the_peak_never_below_it():
    stats = ProcessStats()
    _, rss, peak = stats.sample()
    theirs = psutil.Process().memory_info().rss / (1024 * 1024)
    assert abs(rss - theirs) < 2  # MiB: the two reads are microseconds apart
    assert peak >= rss > 0


def test_cpu_is_the_cpu_seconds_used_over_the_wall_seconds_since_the_last_reading():
    stats = ProcessStats()
    began_cpu, began = time.process_time(), time.monotonic()
    while time.process_time() - began_cpu < 2 * CPU_SPAN:  # busy: CPU seconds, not a sleep
        pass
    cpu, _, _ = stats.sample()
    used, wall = time.process_time() - began_cpu, time.monotonic() - began
    # this thread alone was busy; pytest's other threads idle: the CPU clock counts nanoseconds
    assert abs(cpu - used / wall * 100) <= 0.002 / wall * 100 + 1
    assert stats.sample()[0] == cpu  # a reading within CPU_SPAN of the last one stands


def test_a_short_busy_spell_reads_as_busy():
    """A worker of a job shorter than a heartbeat (make demo: 0.02 s) read 0.0% CPU while the
    counter was the kernel's 10 ms ticks and a reading had to span 0.2 s; 20 ms of work now
    reads as what it was."""
    stats = ProcessStats()
    began_cpu, began = time.process_time(), time.monotonic()
    while time.monotonic() - began < 0.02:
        pass
    cpu, _, _ = stats.sample()
    used, wall = time.process_time() - began_cpu, time.monotonic() - began
    assert cpu > 0 and abs(cpu - used / wall * 100) <= 0.002 / wall * 100 + 1


def test_a_process_age_counts_from_its_start():
    """A child that prints its age at once: no older than the time it took to run (psutil's
    create_time is no reference: it is counted from a boot time rounded to the second)."""
    began = time.monotonic()
    out = subprocess.run([sys.executable, "-c", "from lograd.sysstats import seconds_since_start as s; print(s())"],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    took = time.monotonic() - began
    assert 0 <= float(out) <= took + 0.011  # the kernel's 10 ms tick
