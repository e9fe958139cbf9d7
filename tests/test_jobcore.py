"""The coordinator's decisions (lograd.jobs.core), driven by events and a moved clock: no
sockets, no processes. One test per row of the README's Failures table that the coordinator
decides, the joins, the phases of --last (including a scan chunk that is quarantined), and
follow mode's ticks.

The rows the core does not decide are tested with real processes: a worker's Ctrl-C
(tests/integration/test_failures.py), the follow coordinator's Ctrl-C and SIGKILL
(tests/integration/test_follow*.py), the coordinator's death (the worker's give-up).
"""
from __future__ import annotations

import pytest

from lograd.aggregate import Partial
from lograd.config import Settings
from lograd.formats import Reading
from lograd.formats.app import APP
from lograd.jobs.core import (POLL_SECONDS, Ask, BeatNow, ConnectionLost, Declared, Drop, FileSpan, FollowTicks, GiveUp,
                              Hand, JobCore, JobOptions, LastPhase, Received, Say, Tick, Unreachable)
from lograd.net.protocol import Failure, Heartbeat, Hello, Listing, Release, Result
from lograd.reader import add_block

pytestmark = pytest.mark.timeout(30)

SETTINGS = Settings()  # heartbeat 0.5 s x liveness 3: silent for 1.5 s is dead; chunk deadline >= 10 s
MINUTE = 60_000


def lines(*stamps_ms: int) -> bytes:
    """App lines at these times (ms after 2024-01-24 10:00:00), one INFO each."""
    out = []
    for ms in stamps_ms:
        s, ms3 = divmod(ms, 1000)
        m, s = divmod(s, 60)
        out.append(f"2024-01-24 10:{m:02d}:{s:02d}.{ms3:03d} INFO Request processed in 5ms\n")
    return "".join(out).encode()


T0 = 1706090400000  # 2024-01-24 10:00:00 UTC


def wire(data: bytes, window=None) -> dict:
    """The partial a worker would send for ``data`` (the pure parser, no file)."""
    partial, reading = Partial(), Reading()
    add_block(partial, data, 0, "app", reading, window)
    APP.finish(partial, reading)
    return partial.to_wire()


class Job:
    """A JobCore and the actions it returned, with helpers that play the workers."""

    def __init__(self, sizes=(100, 100, 100), chunk_size=100, window_length_ms=None, wanted=1,
                 watch_local=False, local=0) -> None:
        files = [FileSpan(f"f{i}.log", size) for i, size in enumerate(sizes)]
        options = JobOptions(settings=SETTINGS, workers_wanted=wanted, local_workers=local, watch_local=watch_local,
                             chunk_size=chunk_size, window_length_ms=window_length_ms, url="tcp://127.0.0.1:5555",
                             how_to_start="Start one with bin/lograd-worker alice")
        self.core = JobCore("job", "inst", files, ["app"] * len(files), options, now=0.0)
        self.now = 0.0
        self.said: list[str] = []
        self.held: dict[str, list] = {}  # session -> Assigns sent to it

    def do(self, event, at: float | None = None) -> list:
        if at is not None:
            self.now = at
        actions = self.core.handle(event, self.now)
        for a in actions:
            if isinstance(a, Say):
                self.said.append(a.text)
            elif isinstance(a, Hand):
                self.held.setdefault(a.session, []).append(a.assign)
                if a.note:
                    self.said.append(a.note)
        return actions

    def join(self, session: str, capacity: int = 2) -> None:
        self.do(Received(session, Hello(session, "inst", capacity)))

    def tick(self, at: float | None = None, local_exits=None) -> list:
        return self.do(Tick(local_exits), at)

    def take(self, session: str):
        """The oldest chunk handed to ``session`` and not yet answered."""
        return self.held[session].pop(0)

    def finish(self, session: str, assign, data: bytes | None = None) -> None:
        data = lines(0) if data is None else data
        self.do(Received("", Result("job", assign.chunk, assign.attempt, session, 0.01,
                                    wire(data, _window(assign)))))

    def fail(self, session: str, assign, reason: str = "gone") -> None:
        self.do(Received("", Failure("job", assign.chunk, assign.attempt, session, reason)))

    def beat(self, session: str) -> None:
        self.do(Received("", Heartbeat(session, session, 0, 10.0, 30.0, 31.0)))

    def wait(self, until: float, *alive: str, step: float = 0.5) -> None:
        """Let time pass to ``until``, ticking, the ``alive`` workers beating all along."""
        while self.now + step < until:
            for session in alive:
                self.beat(session)
            self.tick(self.now + step)
        for session in alive:
            self.beat(session)
        self.tick(until)

    def run_all(self, session: str, data=None) -> None:
        """``session`` answers everything it is handed until the job is finished."""
        for _ in range(1000):
            if self.core.finished:
                return
            self.tick()
            while self.held.get(session):
                self.finish(session, self.take(session), data)
        raise AssertionError("the job never finished")


def _window(assign):
    if assign.window_start is None and assign.window_end is None:
        return None
    return (assign.window_start, assign.window_end)


# -- joins ----------------------------------------------------------------------------

def test_nothing_is_handed_out_until_enough_workers_joined():
    job = Job(wanted=2)
    job.join("a")
    job.tick(0.1)
    assert not job.held, "one of two workers: still waiting"
    job.join("b")
    job.tick(0.2)
    assert set(job.held) == {"a", "b"}  # capacity 2 each, 3 chunks: both get work


def test_after_the_join_timeout_the_job_starts_with_the_workers_it_has():
    job = Job(wanted=2)
    job.join("a")
    job.wait(SETTINGS.join_timeout - 0.01, "a")
    assert not job.held
    job.wait(SETTINGS.join_timeout, "a")
    assert job.held["a"], "started with one"
    assert any("only 1 of 2 workers joined" in s for s in job.said)


def test_waiting_for_workers_from_elsewhere_says_how_to_start_one_once():
    job = Job(wanted=1)
    job.tick(0.1)
    assert not any("waiting" in s for s in job.said)
    job.tick(0.6)
    job.tick(0.9)
    waiting = [s for s in job.said if s.startswith("waiting up to")]
    assert waiting == ["waiting up to 30 s for 1 more worker on tcp://127.0.0.1:5555. "
                       "Start one with bin/lograd-worker alice"]


def test_no_worker_within_the_join_timeout_gives_up_with_how_to_start_one():
    job = Job()
    assert not any(isinstance(a, GiveUp) for a in job.tick(SETTINGS.join_timeout - 0.01))
    gave_up = [a for a in job.tick(SETTINGS.join_timeout) if isinstance(a, GiveUp)]
    assert gave_up and "no worker joined within 30 s" in gave_up[0].message
    assert "bin/lograd-worker alice" in gave_up[0].message


def test_beats_are_frequent_while_workers_join_then_every_heartbeat_interval():
    job = Job()
    assert any(isinstance(a, BeatNow) for a in job.tick(0.0))
    assert any(isinstance(a, BeatNow) for a in job.tick(0.06)), "joining: every 0.05 s"
    job.join("a")
    job.tick(0.12)  # dispatching from here; the beat due next was set while joining
    assert any(isinstance(a, BeatNow) for a in job.tick(0.2))
    assert not any(isinstance(a, BeatNow) for a in job.tick(0.2 + SETTINGS.heartbeat_interval - 0.01))
    assert any(isinstance(a, BeatNow) for a in job.tick(0.2 + SETTINGS.heartbeat_interval))


# -- the Failures table ----------------------------------------------------------------

def test_a_worker_whose_process_ends_is_known_at_once_and_its_chunks_go_elsewhere():
    job = Job()
    job.join("a")
    job.join("b")
    job.tick(0.1)
    lost = [c.chunk for c in job.held["a"]]
    job.held["a"] = []
    job.do(ConnectionLost("a"), at=0.11)  # the same instant's Tick hands them to b
    assert any(s == f"worker a lost its connection (its process ended?); {len(lost)} chunk(s) requeued"
               for s in job.said)
    job.run_all("b")
    assert job.core.dispatcher.retried == set(lost)
    assert any(s.startswith(f"chunk {lost[0]} (f") and "retried on b, attempt 2" in s for s in job.said)
    assert job.core.analyzer.total.lines == 3 and job.core.failed_rows() == []


def test_a_lost_connection_of_a_stranger_or_a_dead_lease_changes_nothing():
    job = Job()
    job.join("a")
    assert job.do(ConnectionLost("nobody")) == []
    job.do(ConnectionLost("a"))
    assert job.do(ConnectionLost("a")) == []


def test_a_silent_worker_is_declared_dead_after_liveness_heartbeats():
    job = Job()
    job.join("a")
    job.join("b")
    job.tick(0.1)  # a was last heard at its Hello, at 0
    job.wait(SETTINGS.expiry - 0.01, "b")
    assert "a" in job.core.dispatcher.peers
    job.wait(SETTINGS.expiry, "b")
    assert "a" not in job.core.dispatcher.peers and "b" in job.core.dispatcher.peers
    assert any(s.startswith("worker a stopped answering;") for s in job.said)


def test_a_hung_worker_that_wakes_up_has_its_late_results_dropped_and_rejoins():
    job = Job(sizes=(100,))
    job.join("a")
    job.join("b")
    job.tick(0.1)
    owner = "a" if job.held.get("a") else "b"
    other = "b" if owner == "a" else "a"
    stale = job.take(owner)
    job.wait(SETTINGS.expiry, other)  # the owner was silent: dead, its chunk to the other
    job.finish(other, job.take(other))
    assert job.core.finished
    job.finish(owner, stale)  # it wakes up and answers
    assert job.core.dispatcher.late_results == 1
    assert job.core.analyzer.total.lines == 1, "counted once"
    job.join(owner)
    assert owner in job.core.dispatcher.peers


def test_a_slow_chunk_times_out_and_is_retried_elsewhere():
    job = Job(sizes=(100,))
    job.join("a")
    job.join("b")
    job.tick(0.0)
    owner = next(s for s in job.held if job.held[s])
    job.wait(SETTINGS.chunk_timeout_floor - 0.01, "a", "b")  # both beat: only the chunk's deadline acts
    assert not any("timed out" in s for s in job.said)
    job.wait(SETTINGS.chunk_timeout_floor, "a", "b")
    assert any(s == "chunk 0 timed out; retrying it elsewhere" for s in job.said)
    retry = job.held[owner][-1] if len(job.held[owner]) > 1 else job.held["b" if owner == "a" else "a"][-1]
    assert retry.chunk == 0 and retry.attempt == 2


def test_a_chunk_that_cannot_be_read_is_retried_then_listed_with_its_reason():
    job = Job(sizes=(100,))
    job.join("a")
    for attempt in range(1, SETTINGS.max_attempts + 1):
        job.tick()
        assign = job.take("a")
        assert assign.attempt == attempt
        job.fail("a", assign, "f0.log: No such file or directory")
    assert job.core.finished
    assert job.core.failed_rows() == [{"file": "f0.log", "start": 0, "size": 100,
                                       "reason": "f0.log: No such file or directory"}]


def test_every_local_worker_exiting_ends_the_job_at_once():
    job = Job(watch_local=True, local=2, wanted=2)
    assert not any(isinstance(a, GiveUp) for a in job.tick(0.1, local_exits=None))
    gave_up = [a for a in job.tick(0.2, local_exits=(1, 1)) if isinstance(a, GiveUp)]
    assert gave_up and gave_up[0].message.startswith("every local worker exited (status 1, 1)")


def test_local_workers_exiting_while_others_are_awaited_does_not_end_the_job():
    job = Job(watch_local=False, local=1, wanted=2)
    assert not any(isinstance(a, GiveUp) for a in job.tick(0.2, local_exits=(1,)))


def test_every_worker_lost_waits_the_join_timeout_for_new_ones_who_get_work_at_once():
    job = Job()
    job.join("a")
    job.tick(0.1)
    job.held["a"] = []
    job.do(ConnectionLost("a"), at=0.2)
    assert not any(isinstance(a, GiveUp) for a in job.tick(0.2 + SETTINGS.join_timeout - 0.1))
    job.join("c")
    job.tick()
    assert job.held["c"], "a new worker gets work at once"
    job.run_all("c")
    assert job.core.analyzer.total.lines == 3


def test_every_worker_lost_for_the_join_timeout_gives_up():
    job = Job()
    job.join("a")
    job.tick(0.1)
    job.do(ConnectionLost("a"), at=0.2)
    job.tick(0.3)
    gave_up = [a for a in job.tick(0.3 + SETTINGS.join_timeout) if isinstance(a, GiveUp)]
    assert gave_up


def test_a_stopping_worker_hands_back_its_chunks_without_a_strike():
    job = Job(sizes=(100,))
    job.join("a")
    for _ in range(SETTINGS.max_attempts + 2):  # more releases than attempts: never quarantined
        job.tick()
        assign = job.take("a")
        job.do(Received("a", Release("job", [[assign.chunk, assign.attempt]])))
    assert not job.core.dispatcher.failed and job.core.dispatcher.strikes.get(0, 0) == 0
    job.run_all("a")
    assert job.core.failed_rows() == []


def test_a_worker_declared_failed_by_the_api_loses_its_lease():
    job = Job()
    job.join("a")
    job.tick()
    job.do(Declared("a"))
    assert "a" not in job.core.dispatcher.peers
    assert any(s.startswith("worker a declared failed;") for s in job.said)


def test_an_unreachable_worker_loses_its_lease():
    job = Job()
    job.join("a")
    job.tick()
    job.do(Unreachable("a"))
    assert "a" not in job.core.dispatcher.peers


def test_a_result_arrives_once_whatever_duplicates_follow():
    job = Job(sizes=(100,))
    job.join("a")
    job.tick()
    assign = job.take("a")
    job.finish("a", assign)
    job.finish("a", assign)
    assert job.core.analyzer.total.lines == 1 and job.core.dispatcher.late_results == 1


def test_a_malformed_partial_is_dropped_and_counts_as_a_failed_attempt():
    job = Job(sizes=(100,))
    job.join("a")
    job.tick()
    assign = job.take("a")
    actions = job.do(Received("", Result("job", assign.chunk, assign.attempt, "a", 0.0, {"lines": "many"})))
    assert any(isinstance(a, Drop) and "malformed result from a" in a.what for a in actions)
    assert job.core.dispatcher.strikes[assign.chunk] == 1


def test_messages_of_another_job_or_coordinator_are_ignored():
    job = Job(sizes=(100,))
    assert job.do(Received("x", Hello("x", "another instance", 2))) == []
    assert "x" not in job.core.dispatcher.peers
    job.join("a")
    job.tick()
    assign = job.take("a")
    job.do(Received("", Result("other job", assign.chunk, assign.attempt, "a", 0.0, wire(lines(0)))))
    assert not job.core.finished


# -- --last -----------------------------------------------------------------------------

def test_last_scans_the_ends_then_reads_everything_with_the_window_ending_at_the_newest():
    job = Job(sizes=(len(lines(0, MINUTE)),), chunk_size=1 << 20, window_length_ms=30_000)
    data = lines(0, MINUTE)
    job.join("a")
    job.tick()
    scan = job.take("a")
    assert job.core.last_phase is LastPhase.SCAN and scan.scan == 1
    job.finish("a", scan, data)
    assert job.core.last_phase is LastPhase.READ and not job.core.finished
    job.tick()
    read = job.take("a")
    assert read.scan == 0 and (read.window_start, read.window_end) == (T0 + MINUTE - 30_000, T0 + MINUTE)
    job.finish("a", read, data)
    assert job.core.finished and job.core.rereads == 0
    assert job.core.analyzer.get_current_metrics()["total_requests"] == 1  # only the newest is inside


def test_last_reads_again_when_an_entry_is_newer_than_the_scan_guessed():
    data = lines(0, MINUTE)
    job = Job(sizes=(len(data),), chunk_size=1 << 20, window_length_ms=30_000)
    job.join("a")
    job.tick()
    job.finish("a", job.take("a"), lines(0))  # the scan saw only the older entry (the file grew)
    job.tick()
    job.finish("a", job.take("a"), data)
    assert job.core.last_phase is LastPhase.REREAD and job.core.rereads == 1
    job.tick()
    reread = job.take("a")
    assert (reread.window_start, reread.window_end) == (T0 + MINUTE - 30_000, T0 + MINUTE)
    job.finish("a", reread, data)
    assert job.core.finished
    report = job.core.analyzer.get_current_metrics()
    assert report["total_requests"] == 1, "the first read's figures were thrown away"


def test_last_goes_on_when_a_scan_chunk_is_quarantined_and_lists_a_failed_range_once():
    # two files: f0's scan chunk cannot be read (it never can: read fails too), f1 is fine
    f1 = lines(0, MINUTE)
    job = Job(sizes=(100, len(f1)), chunk_size=1 << 20, window_length_ms=30_000)
    job.join("a", capacity=4)
    for _ in range(50):
        if job.core.finished:
            break
        job.tick()
        while job.held.get("a"):
            assign = job.take("a")
            if assign.file_index == 0:
                job.fail("a", assign, "f0.log: Permission denied")
            else:
                job.finish("a", assign, f1)
    assert job.core.finished, "the scan's quarantine did not stop the phases"
    assert job.core.guess == T0 + MINUTE, "guessed from f1's end alone"
    rows = job.core.failed_rows()
    assert rows == [{"file": "f0.log", "start": 0, "size": 100, "reason": "f0.log: Permission denied"}]
    assert job.core.analyzer.get_current_metrics()["total_requests"] == 1


def test_last_when_every_scan_chunk_fails_reads_with_a_window_nothing_is_inside():
    job = Job(sizes=(100,), chunk_size=1 << 20, window_length_ms=30_000)
    job.join("a")
    for _ in range(20):
        if job.core.last_phase is not LastPhase.SCAN:
            break
        job.tick()
        job.fail("a", job.take("a"))
    assert job.core.last_phase is LastPhase.READ and job.core.window == (0, -1)


def test_last_over_a_chunk_that_times_out_for_good_in_the_scan_still_reads():
    job = Job(sizes=(len(lines(0)),), chunk_size=1 << 20, window_length_ms=30_000)
    job.join("a")
    job.tick(0.0)
    for attempt in range(SETTINGS.max_attempts):  # each attempt expires unanswered; the worker beats
        job.wait(job.now + SETTINGS.chunk_timeout_floor, "a")
    assert job.core.dispatcher.strikes[0] == SETTINGS.max_attempts
    assert job.core.last_phase is LastPhase.READ, "a deadline that quarantines ends the scan too"


# -- follow mode's ticks ----------------------------------------------------------------

def test_follow_ticks_fall_on_whole_multiples_of_the_period():
    ticks = FollowTicks(10_000, now=1_000_003.7)  # 10 s: the next at ...010.000
    assert ticks.next_ms == 1_000_010_000
    assert ticks.pause(1_000_003.7) == POLL_SECONDS, "the files are looked at in between"
    assert ticks.pause(1_000_009.95) == pytest.approx(0.05)
    assert ticks.due(1_000_009.999) is None
    assert ticks.due(1_000_010.0) == 1_000_010_000
    assert ticks.due(1_000_010.1) is None, "reported once"
    assert ticks.next_ms == 1_000_020_000


def test_follow_ticks_a_slow_round_missed_are_not_made_up():
    ticks = FollowTicks(1_000, now=100.5)
    assert ticks.due(104.2) == 101_000, "the tick that was due"
    assert ticks.next_ms == 105_000, "then the first after now, not 102, 103, 104"


def test_the_final_report_ends_where_the_sliding_window_holds_every_line():
    assert FollowTicks.final(100.0004) == 100_000
    assert FollowTicks.final(101.0004, bucket_ms=5_000) == 105_000
    assert FollowTicks.final(105.0, bucket_ms=5_000) == 105_000


# -- --on-workers: each host's own files -----------------------------------------------

def fleet(patterns=("/var/log/*.log",)) -> JobCore:
    options = JobOptions(settings=SETTINGS, workers_wanted=2, chunk_size=100, on_workers=tuple(patterns))
    return JobCore("job", "inst", [], [], options, now=0.0)


def serving_hello(host):
    return Hello(f"w-{host}", "inst", 2, host, 1)


def test_the_fleet_is_asked_once_enough_workers_joined_and_chunks_go_to_their_own_host():
    core = fleet()
    core.handle(Received("a", serving_hello("web-1")), 0.0)
    assert not [a for a in core.handle(Tick(), 0.0) if isinstance(a, Ask)], "one of two: not yet"
    core.handle(Received("b", serving_hello("web-2")), 0.1)
    asks = [a for a in core.handle(Tick(), 0.1) if isinstance(a, Ask)]
    assert sorted(a.session for a in asks) == ["a", "b"] and asks[0].message.pattern == "/var/log/*.log"
    assert not core.finished
    core.handle(Received("a", Listing("job", "/var/log/*.log", "web-1", [["/var/log/x.log", 250, "app", 5, 0]],
                                      "", 0), 0), 0.2)
    core.handle(Received("b", Listing("job", "/var/log/*.log", "web-2", [["/var/log/x.log", 100, "app", 5, 0]],
                                      "", 0), 0), 0.2)
    actions = core.handle(Tick(), 0.2)
    assert [f.name for f in core.files] == ["web-1:/var/log/x.log", "web-2:/var/log/x.log"]
    hands = [a for a in actions if isinstance(a, Hand)]
    assert hands and all(core.files[h.assign.file_index].host == {"a": "web-1", "b": "web-2"}[h.session]
                         for h in hands), "a chunk goes only to a worker of its host"
    assert sum(c.size for c in core.dispatcher.chunks.values()) == 350


def test_a_host_whose_only_worker_is_gone_fails_its_chunks_after_the_join_timeout():
    core = fleet()
    for session, host in (("a", "web-1"), ("b", "web-2")):
        core.handle(Received(session, serving_hello(host)), 0.0)
    core.handle(Tick(), 0.0)
    for session, host in (("a", "web-1"), ("b", "web-2")):
        core.handle(Received(session, Listing("job", "/var/log/*.log", host, [["/l", 300, "app", 0, 0]], "", 0)), 0.0)
    core.handle(Tick(), 0.0)
    core.handle(ConnectionLost("b"), 0.1)
    core.handle(Received("", Heartbeat("a", "a", 0, 1.0, 1.0, 1.0)), 1.0)
    core.handle(Tick(), 1.0)
    assert not core.dispatcher.failed, "web-2 may come back"
    said = []
    t = 1.0
    while t < 0.1 + SETTINGS.join_timeout + 1:
        core.handle(Received("", Heartbeat("a", "a", 0, 1.0, 1.0, 1.0)), t)
        said += [a.text for a in core.handle(Tick(), t) if isinstance(a, Say)]
        t += 0.5
    rows = [r for r in core.failed_rows() if r["file"].startswith("web-2:")]  # (a never answers: its time out)
    assert len(rows) == 3 and {r["reason"] for r in rows} == {"host web-2 unavailable"}
    assert any(s.startswith("host web-2 has had no worker for 30 s") for s in said)


def test_refusals_and_globs_no_host_matched_are_reported_and_a_skewed_clock_is_said():
    core = fleet(("/var/log/*.log", "web-1:/srv/*.log"))
    core.handle(Received("a", serving_hello("web-1")), 0.0)
    core.handle(Received("b", serving_hello("web-2")), 0.0)
    asks = [a for a in core.handle(Tick(), 0.0) if isinstance(a, Ask)]
    assert sorted((a.session, a.message.pattern) for a in asks) == [
        ("a", "/srv/*.log"), ("a", "/var/log/*.log"), ("b", "/var/log/*.log")], "HOST:GLOB asks that host only"
    now_ms = 1_700_000_000_000
    said = [a.text for a in core.handle(Received("a", Listing("job", "/var/log/*.log", "web-1", [], "outside", now_ms),
                                                 now_ms + 120_000), 0.1) if isinstance(a, Say)]
    assert any("web-1's clock is -120 s off" in s for s in said)
    core.handle(Received("a", Listing("job", "/srv/*.log", "web-1", [["/srv/a.log", 10, "app", 0, 0]], "", 0)), 0.1)
    core.handle(Received("b", Listing("job", "/var/log/*.log", "web-2", [], "", 0)), 0.1)
    core.handle(Tick(), 0.1)
    problems = {(u.path, u.reason) for u in core.listing_problems()}
    assert problems == {("web-1:/var/log/*.log", "outside"),
                        ("/var/log/*.log", "no worker's host has a file that matches this pattern")}


def test_a_worker_that_never_lists_is_given_up_on_and_the_rest_is_planned():
    core = fleet()
    core.handle(Received("a", serving_hello("web-1")), 0.0)
    core.handle(Received("b", serving_hello("web-2")), 0.0)
    core.handle(Tick(), 0.0)
    core.handle(Received("a", Listing("job", "/var/log/*.log", "web-1", [["/l", 10, "app", 0, 0]], "", 0)), 0.1)
    for t in range(1, 11):  # both beat; b never answers
        for s in ("a", "b"):
            core.handle(Received("", Heartbeat(s, s, 0, 1.0, 1.0, 1.0)), float(t))
        said = [a.text for a in core.handle(Tick(), float(t)) if isinstance(a, Say)]
    assert core.listing_done and [f.name for f in core.files] == ["web-1:/l"]
    assert any("no worker of host web-2 listed /var/log/*.log within 10 s" in s for s in said)
    assert [(u.path, u.reason) for u in core.listing_problems()] == [
        ("web-2:/var/log/*.log", "no worker of host web-2 listed it within 10 s")], "never a silent gap"


def test_a_listing_from_a_worker_declared_dead_meanwhile_still_counts_and_a_newcomer_is_asked():
    core = fleet()
    core.handle(Received("a", serving_hello("web-1")), 0.0)
    core.handle(Received("b", serving_hello("web-2")), 0.0)
    core.handle(Tick(), 0.0)
    core.handle(Tick(), 2.0)  # both silent for 2 s (busy listing on a loaded machine): declared dead
    assert not core.dispatcher.peers and not core.listing_done
    core.handle(Received("a", Listing("job", "/var/log/*.log", "web-1", [["/a", 10, "app", 0, 0]], "", 0)), 2.1)
    asks = [a for a in core.handle(Received("c", serving_hello("web-2")), 2.2) if isinstance(a, Ask)]
    assert [(a.session, a.message.pattern) for a in asks] == [("c", "/var/log/*.log")], "web-2 asked again"
    core.handle(Received("c", Listing("job", "/var/log/*.log", "web-2", [["/b", 10, "app", 0, 0]], "", 0)), 2.3)
    core.handle(Tick(), 2.3)
    assert core.listing_done and [f.name for f in core.files] == ["web-1:/a", "web-2:/b"]
    assert core.listing_problems() == []


def test_two_workers_on_one_host_share_its_chunks_and_take_over_each_others():
    core = fleet()
    core.handle(Received("a1", serving_hello("web-1")), 0.0)
    core.handle(Received("a2", serving_hello("web-1")), 0.0)
    core.handle(Tick(), 0.0)
    for session in ("a1", "a2"):  # both list the same file: it is planned once
        core.handle(Received(session, Listing("job", "/var/log/*.log", "web-1", [["/l", 600, "app", 0, 0]], "", 0)),
                    0.1)
    hands = [a for a in core.handle(Tick(), 0.1) if isinstance(a, Hand)]
    assert [f.name for f in core.files] == ["web-1:/l"] and len(core.dispatcher.chunks) == 6
    assert {h.session for h in hands} == {"a1", "a2"}, "shared"
    taken = [h.assign.chunk for h in hands if h.session == "a1"]
    core.handle(ConnectionLost("a1"), 0.2)
    again = [a for a in core.handle(Tick(), 0.2) if isinstance(a, Hand)]
    assert not again, "a2 is full (capacity 2); a1's chunks wait for it"
    for h in [h for h in hands if h.session == "a2"]:
        core.handle(Received("", Result("job", h.assign.chunk, h.assign.attempt, "w-web-1", 0.01,
                                        wire(lines(0)))), 0.3)
    moved = [a for a in core.handle(Tick(), 0.3) if isinstance(a, Hand)]
    assert set(taken) <= {h.assign.chunk for h in moved} and {h.session for h in moved} == {"a2"}


@pytest.mark.parametrize("row", [["/l", 10, "app", 0], ["/l", "10", "app", 0, 0], ["/l", 10, "no-such", 0, 0],
                                 ["/l", 10, "access=$remote_addr", 0, 0], "garbage"])
def test_a_malformed_listing_is_dropped_and_its_host_reported_not_silently_missing(row):
    core = fleet()
    core.handle(Received("a", serving_hello("web-1")), 0.0)
    core.handle(Received("b", serving_hello("web-2")), 0.0)
    core.handle(Tick(), 0.0)
    actions = core.handle(Received("a", Listing("job", "/var/log/*.log", "web-1", [row], "", 0)), 0.1)
    assert any(isinstance(a, Drop) for a in actions)
    core.handle(Received("b", Listing("job", "/var/log/*.log", "web-2", [["/l", 10, "app", 0, 0]], "", 0)), 0.1)
    core.handle(Tick(), 0.1)
    assert [f.name for f in core.files] == ["web-2:/l"]
    assert [(u.path, u.reason) for u in core.listing_problems()] == [
        ("web-1:/var/log/*.log", "its worker's listing was malformed")]


def test_a_fleet_job_no_worker_joins_gives_up_after_the_join_timeout():
    core = fleet()
    assert not any(isinstance(a, GiveUp) for a in core.handle(Tick(), SETTINGS.join_timeout - 0.01))
    gave_up = [a for a in core.handle(Tick(), SETTINGS.join_timeout) if isinstance(a, GiveUp)]
    assert gave_up and "no worker joined within 30 s" in gave_up[0].message
