"""A worker's connection decisions (lograd.net.link), driven by events and a moved clock: no
sockets. Joining, a new coordinator, silence, giving up, and a lease the coordinator forgot."""
from __future__ import annotations

import pytest

from lograd.config import Settings
from lograd.errors import EXIT_PARTIAL
from lograd.net.link import FORGOTTEN_AFTER, Connect, Disconnect, Exit, Heard, Link, Polled, SayHello, Tell, Tick

pytestmark = pytest.mark.timeout(10)

S = Settings(heartbeat_interval=0.5, liveness=3, give_up=60.0)  # silent 1.5 s: lost


def kinds(actions) -> list[type]:
    return [type(a) for a in actions]


def test_the_first_beat_joins_connects_and_says_hello():
    link = Link("tcp://c:5555", S, now=0.0)
    actions = link.handle(Heard("one", 0), 0.1)
    assert kinds(actions) == [Tell, Connect, SayHello] and link.instance == "one"
    assert actions[0] == Tell("joined coordinator at tcp://c:5555", always=False)  # --quiet hides it
    assert link.handle(Heard("one", 0), 0.2) == [], "the same coordinator again: nothing to do"


def test_a_beat_from_a_new_coordinator_drops_the_old_one_first():
    link = Link("u", S, now=0.0)
    link.handle(Heard("one", 0), 0.0)
    assert kinds(link.handle(Heard("two", 0), 0.3)) == [Disconnect, Tell, Connect, SayHello]
    assert link.instance == "two"


def test_silence_for_liveness_heartbeats_loses_the_coordinator():
    link = Link("u", S, now=0.0)
    link.handle(Heard("one", 0), 1.0)
    assert link.handle(Tick(), 1.0 + S.expiry) == [], "exactly the expiry: not yet"
    actions = link.handle(Tick(), 1.0 + S.expiry + 0.01)
    assert actions == [Disconnect("coordinator at u went silent")] and not link.joined
    assert kinds(link.handle(Heard("one", 0), 3.0)) == [Tell, Connect, SayHello], "it comes back: rejoin"


def test_no_coordinator_for_give_up_seconds_exits_1():
    link = Link("u", S, now=0.0)
    assert link.handle(Tick(), S.give_up) == []
    actions = link.handle(Tick(), S.give_up + 0.01)
    assert actions[-1] == Exit(EXIT_PARTIAL)
    assert actions[0] == Tell(f"no coordinator at u for {S.give_up:g} s; exiting")


def test_give_up_counts_from_when_the_coordinator_was_lost():
    link = Link("u", S, now=0.0)
    link.handle(Heard("one", 0), 50.0)
    link.handle(Tick(), 52.0)  # lost at 52
    assert link.handle(Tick(), 52.0 + S.give_up) == []
    assert Exit(EXIT_PARTIAL) in link.handle(Tick(), 52.0 + S.give_up + 0.01)


def test_an_idle_worker_told_that_chunks_wait_says_hello_again_once_per_patience():
    patience = FORGOTTEN_AFTER * S.heartbeat_interval
    link = Link("u", S, now=0.0)
    link.handle(Heard("one", 3), 0.0)  # hello at 0; three chunks wait upstream
    link.handle(Polled(busy=False), 0.0)
    t = 0.0
    while t < patience:  # beats keep coming, polls find nothing
        link.handle(Heard("one", 3), t)
        assert link.handle(Tick(), t) == []
        t += 0.25
    link.handle(Heard("one", 3), patience + 0.01)
    assert link.handle(Tick(), patience + 0.01) == [SayHello()]
    link.handle(Heard("one", 3), patience + 0.5)
    assert link.handle(Tick(), patience + 0.5) == [], "not again before another patience"


def test_a_busy_worker_or_a_coordinator_with_nothing_waiting_is_not_forgotten():
    patience = FORGOTTEN_AFTER * S.heartbeat_interval
    busy = Link("u", S, now=0.0)
    busy.handle(Heard("one", 3), 0.0)
    busy.handle(Polled(busy=True), 0.0)
    busy.handle(Heard("one", 3), patience + 1)
    assert busy.handle(Tick(), patience + 1) == []
    idle = Link("u", S, now=0.0)
    idle.handle(Heard("one", 0), 0.0)
    idle.handle(Polled(busy=False), 0.0)
    idle.handle(Heard("one", 0), patience + 1)
    assert idle.handle(Tick(), patience + 1) == []


def test_a_worker_told_its_coordinator_says_hello_at_once_and_judges_silence_from_the_first_beat():
    """--local workers are started with the coordinator's instance: Hello before any beat (the
    coordinator may still be planning, so no beat for longer than the expiry is no silence);
    its beats then change nothing; silence after them loses it as usual."""
    link = Link("u", S, now=0.0)
    assert kinds(link.expect("one", 0.0)) == [Connect, SayHello] and link.joined
    assert link.handle(Tick(), 10 * S.expiry) == [], "no beat yet, long past the expiry: still joined"
    assert link.handle(Heard("one", 0), 11 * S.expiry) == [], "its own beat: no reconnection, no second Hello"
    assert link.handle(Tick(), 12 * S.expiry + 0.01) == [Disconnect("coordinator at u went silent")]


def test_a_worker_told_a_coordinator_that_never_beats_gives_up():
    link = Link("u", S, now=0.0)
    link.expect("one", 0.0)
    assert link.handle(Tick(), S.give_up) == []
    assert Exit(EXIT_PARTIAL) in link.handle(Tick(), S.give_up + 0.01)


def test_a_worker_told_one_coordinator_follows_another_that_beats():
    link = Link("u", S, now=0.0)
    link.expect("one", 0.0)
    assert kinds(link.handle(Heard("two", 0), 0.5)) == [Disconnect, Tell, Connect, SayHello]
    assert link.instance == "two"
