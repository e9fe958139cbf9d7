"""The coordinator's bookkeeping as event sequences, time passed in (no sockets, no sleeps)."""
from lograd.config import Settings
from lograd.jobs.dispatch import Dispatcher, plan_chunks

S = Settings(heartbeat_interval=0.5, liveness=3, max_attempts=3, chunk_timeout_floor=10.0)


def make(chunks=4, size=100):
    return Dispatcher(plan_chunks([("a.log", chunks * size)], size), S)


def test_plan_covers_every_byte_once():
    chunks = plan_chunks([("a", 10), ("b", 0), ("c", 7)], 4)
    assert [(c.path, c.start, c.size) for c in chunks] == [
        ("a", 0, 4), ("a", 4, 4), ("a", 8, 2), ("c", 0, 4), ("c", 4, 3)]
    assert [c.id for c in chunks] == list(range(5))


MiB = 1 << 20


def test_a_finer_tail_cuts_the_last_chunks_worth_in_quarters_and_still_covers_every_byte_once():
    """Two workers, 8 MiB chunks: the last 16 MiB of the job (its last file's end) go out as
    2 MiB pieces, in order, numbered on; every byte is in exactly one chunk."""
    files = [("a", 20 * MiB + 5), ("b", 9 * MiB + 123)]
    plain = plan_chunks(files, 8 * MiB, first_id=7)
    finer = plan_chunks(files, 8 * MiB, first_id=7, finer_tail=2)
    assert [c.id for c in finer] == list(range(7, 7 + len(finer)))
    for name, size in files:
        spans = [(c.start, c.size) for c in finer if c.path == name]
        assert spans[0][0] == 0 and all(a + n == b for (a, n), (b, _) in zip(spans, spans[1:]))
        assert sum(n for _, n in spans) == size
    # taken from the end until the 16 MiB are reached: b's 9 MiB + 123 B (an 8 MiB chunk and
    # a short one), a's last 4 MiB + 5 B and the 8 MiB chunk that reaches 16 MiB are cut in
    # 2 MiB pieces; a's first chunk stays whole
    assert [(c.path, c.start, c.size) for c in plain] == [
        ("a", 0, 8 * MiB), ("a", 8 * MiB, 8 * MiB), ("a", 16 * MiB, 4 * MiB + 5),
        ("b", 0, 8 * MiB), ("b", 8 * MiB, MiB + 123)]
    assert (finer[0].path, finer[0].start, finer[0].size) == ("a", 0, 8 * MiB)
    assert [(c.path, c.size) for c in finer[1:]] == (
        [("a", 2 * MiB)] * 6 + [("a", 5)] + [("b", 2 * MiB)] * 4 + [("b", MiB + 123)])


def test_a_finer_tail_of_a_file_a_few_bytes_short_of_whole_chunks_cuts_a_worker_s_worth_each():
    """1 GiB less 11 bytes in 64 MiB chunks, two workers: the last two chunks are cut, not a
    third for the 11 bytes the last one lacks."""
    sizes = [c.size >> 20 for c in plan_chunks([("a", (1 << 30) - 11)], 64 * MiB, finer_tail=2)]
    assert sizes == [64] * 14 + [16] * 7 + [15]


def test_a_finer_tail_leaves_compressed_files_whole_and_small_chunks_as_they_are():
    files = [("a.log", 40 * MiB), ("b.log.gz", 3 * MiB)]
    finer = plan_chunks(files, 8 * MiB, whole={1}, finer_tail=2)
    assert finer == plan_chunks(files, 8 * MiB, whole={1}), "the tail starts with a whole file: nothing is cut"
    assert plan_chunks([("a", 9 * MiB)], 2 * MiB, finer_tail=2) == plan_chunks([("a", 9 * MiB)], 2 * MiB), (
        "pieces under 1 MiB would cost more than they save")
    cut = plan_chunks(list(reversed(files)), 8 * MiB, whole={0}, finer_tail=1)
    assert (cut[0].path, cut[0].size) == ("b.log.gz", 3 * MiB) and all(c.size == 2 * MiB for c in cut[-4:])


def test_assign_respects_capacity_and_spreads_work():
    d = make(5)
    d.hello("w1", "alice", 2, now=0)
    d.hello("w2", "bob", 2, now=0)
    first = d.assign(now=0)
    assert len(first) == 4
    assert sorted(a.session for a in first) == ["w1", "w1", "w2", "w2"]
    assert d.assign(now=0) == []
    a = first[0]
    assert d.result(a.chunk.id, a.attempt, 0.1, now=1)
    assert [x.session for x in d.assign(now=1)] == [a.session]


def test_first_result_wins_and_duplicates_are_dropped():
    d = make(1)
    d.hello("w1", "alice", 1, now=0)
    [a] = d.assign(now=0)
    assert d.result(a.chunk.id, a.attempt, 0.1, now=1) is True
    assert d.result(a.chunk.id, a.attempt, 0.1, now=1) is False
    assert d.finished and d.late_results == 1


def test_silent_worker_is_declared_dead_after_liveness_and_its_chunks_move():
    d = make(2)
    d.hello("w1", "alice", 2, now=0)
    d.hello("w2", "bob", 2, now=0)
    held = {a.chunk.id: a for a in d.assign(now=0) if a.session == "w1"}
    d.alive("w2", now=1.0)
    assert d.silent(now=1.49) == []
    dead = d.silent(now=1.5)  # 3 missed heartbeats of 0.5 s
    assert [p.name for p in dead] == ["alice"]
    assert sorted(d.worker_gone("w1", "stopped answering")) == sorted(held)
    again = d.assign(now=1.5)
    assert {a.chunk.id for a in again} == set(held) and {a.session for a in again} == {"w2"}
    # alice's late result (a dead lease) is ignored; bob's counts
    old = next(iter(held.values()))
    assert d.result(old.chunk.id, old.attempt, 0.1, now=2) is False
    new = next(a for a in again if a.chunk.id == old.chunk.id)
    assert d.result(new.chunk.id, new.attempt, 0.1, now=2) is True


def test_lazy_pirate_timeout_retries_then_quarantines():
    d = make(1)
    d.hello("w1", "alice", 1, now=0)
    now = 0.0
    for attempt in (1, 2, 3):
        [a] = d.assign(now)
        assert a.attempt == attempt
        d.alive("w1", now + 9)
        overdue = d.expire(now + S.chunk_timeout_floor)
        assert overdue == [a.chunk.id]
        now += S.chunk_timeout_floor
        d.alive("w1", now)
    assert d.failed == {0: "timed out"} and d.finished
    assert d.assign(now) == []


def test_unreadable_chunk_fails_after_max_attempts_with_the_reason():
    d = make(1)
    d.hello("w1", "alice", 1, now=0)
    for _ in range(3):
        [a] = d.assign(now=0)
        d.failure(a.chunk.id, a.attempt, "Permission denied: a.log", now=0)
    assert d.failed == {0: "Permission denied: a.log"}


def test_released_chunks_return_without_a_strike():
    d = make(1)
    d.hello("w1", "alice", 1, now=0)
    for _ in range(5):
        [a] = d.assign(now=0)
        d.release("w1", [[a.chunk.id, a.attempt]], now=0)
    [a] = d.assign(now=0)
    assert a.attempt == 6 and not d.failed


def test_hello_from_a_known_lease_requeues_what_it_lost():
    d = make(2)
    d.hello("w1", "alice", 2, now=0)
    assert len(d.assign(now=0)) == 2
    d.hello("w1", "alice", 2, now=1)  # "I hold nothing"
    again = d.assign(now=1)
    assert len(again) == 2 and all(a.attempt == 2 for a in again)


def test_deadline_follows_observed_speed_with_a_floor():
    d = Dispatcher(plan_chunks([("a", 300 * 10**6)], 100 * 10**6), S)
    d.hello("w1", "alice", 1, now=0)
    [a] = d.assign(now=0)
    d.result(a.chunk.id, a.attempt, 5.0, now=5)  # 20 MB/s observed: 5 s a chunk
    [b] = d.assign(now=5)
    assert d.in_flight[b.chunk.id].deadline == 5 + S.chunk_timeout_factor * 5.0
    small = Dispatcher(plan_chunks([("a", 1000)], 1000), S)
    small.hello("w1", "alice", 1, now=0)
    [c] = small.assign(now=0)
    assert small.in_flight[c.chunk.id].deadline == S.chunk_timeout_floor
