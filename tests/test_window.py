"""Sliding windows of follow mode (issue #6), without sockets: chunks split into time
buckets merge back into the batch partial, and a window made of buckets equals the
batch report with the same window (``--from``/``--to``)."""
import json
import os

import pytest
from hypothesis import given, settings, strategies as st

from lograd.aggregate import Partial
from lograd.analyzer import Analyzer, build_report
from lograd.config import Settings
from lograd.jobs.dispatch import Dispatcher, plan_chunks
from lograd.follow import load_state, save_state
from lograd.reader import summarise_chunk, summarise_chunk_in_buckets
from lograd.jobs.window import MAX_BUCKETS, SlidingWindow, bucket_size
from lograd.sketch import MinuteSketches
from tests.test_chunking import HOSTILE_LINES

T0 = 1_706_091_332_000  # 2024-01-24T10:15:32Z in ms
APP = "{} {} Request processed in {}ms cpu={}%"
LEVELS = ("INFO", "ERROR", "WARN", "DEBUG")


def app_line(ms: int, n: int) -> bytes:
    from lograd.timestamps import format_ms
    return APP.format(format_ms(ms).replace("T", " "), LEVELS[n % 4], 10 + n % 90, n % 100).encode()


def conn_line(ms: int, n: int) -> bytes:
    stamp = ms if n % 2 else ms // 1000  # milliseconds or seconds, as conn logs mix them
    return f"{stamp} host{n % 7} host{(n * 3) % 5}".encode()


def json_line(ms: int, n: int) -> bytes:
    return json.dumps({"ts": ms, "level": LEVELS[n % 4], "msg": f"took {n}ms", "cpu": n % 10}).encode()


def write_log(tmp_path, fmt: str, offsets: list[int], hostile: bool = True) -> str:
    """A log of entries at T0 + offset ms (out of order as given), hostile lines mixed in."""
    make = {"app": app_line, "conn": conn_line, "json": json_line}[fmt]
    lines = []
    for n, offset in enumerate(offsets):
        lines.append(make(T0 + offset, n))
        if hostile and n % 5 == 0:
            lines.append(HOSTILE_LINES[n % len(HOSTILE_LINES)])
    path = tmp_path / f"{fmt}.log"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return str(path)


def comparable(p: Partial) -> dict:
    """A partial's wire form, host counts as sorted lists (dict order is not a result)."""
    wire = p.to_wire()
    wire["seconds"] = p.per_second.as_dict()  # dense or sparse storage is not a result
    # nor are a chunk's runs as its tally made them (a minute in more than one)
    wire["rtm"] = MinuteSketches.from_wire(wire["rtm"]).to_wire()
    if wire["conn"] is not None:
        hosts, in_window, sources, targets, to_hosts, from_hosts, per_minute = wire["conn"]
        wire["conn"] = [hosts, in_window, sorted(sources), sorted(targets), [sorted(p) for p in to_hosts],
                        [sorted(p) for p in from_hosts], sorted(per_minute)]
    return wire


offsets = st.lists(st.integers(-300_000, 300_000), min_size=0, max_size=120)


@settings(max_examples=40, deadline=None)
@given(fmt=st.sampled_from(["app", "conn", "json"]), times=offsets, bucket=st.sampled_from([1, 999, 1000, 7000, 60_000]),
       chunk=st.integers(1, 3000), low=st.one_of(st.none(), st.integers(-200_000, 200_000)),
       block=st.sampled_from([256, 1 << 20]))
def test_buckets_of_every_chunk_merge_back_into_the_batch_partial(tmp_path_factory, fmt, times, bucket, chunk, low,
                                                                   block):
    """Small blocks scan each block once per bucket; big ones hold buckets of few (late)
    lines, which are read again on their own (reader.SPARSE)."""
    path = write_log(tmp_path_factory.mktemp("w"), fmt, times)
    size = os.path.getsize(path)
    window = None if low is None else (T0 + low, None)
    hosts = (b"host1",) if fmt == "conn" else ()
    merged = Partial()
    step = chunk if block == 256 else max(size, 1)  # a big block: the whole file in one chunk
    for start in range(0, size, step):
        lines, buckets = summarise_chunk_in_buckets(path, start, min(step, size - start), bucket, 0, fmt,
                                                    window, block_size=block, hosts=hosts)
        assert lines.in_window == 0  # the lines' partial carries no metrics ...
        for b, metrics in buckets.items():
            assert metrics.lines == metrics.entries == 0  # ... and a bucket no line counts
            for second in metrics.per_second.as_dict():  # every entry it holds lies in it
                assert b * bucket < (second + 1) * 1000 and second * 1000 < (b + 1) * bucket
        merged.merge(lines)
        for metrics in buckets.values():
            merged.merge(metrics)
    assert comparable(merged) == comparable(summarise_chunk(path, 0, size, 0, fmt, window, hosts=hosts))


@settings(max_examples=30, deadline=None)
@given(fmt=st.sampled_from(["app", "conn", "json"]), late=st.lists(st.integers(-300_000, 0), max_size=40),
       bucket=st.sampled_from([1000, 10_000]))
def test_late_lines_in_a_big_block_are_read_again_on_their_own_and_still_exact(tmp_path_factory, fmt, late,
                                                                              bucket):
    # 400 entries in order over 2 s and a few up to 5 minutes late, as conn logs come:
    # the late ones' buckets hold under 1 in 16 of the block (reader.SPARSE)
    times = list(range(0, 2000, 5))
    for n, offset in enumerate(late):
        times.insert((n * 37) % len(times), offset)
    path = write_log(tmp_path_factory.mktemp("w"), fmt, times)
    size = os.path.getsize(path)
    hosts = (b"host1",) if fmt == "conn" else ()
    lines, buckets = summarise_chunk_in_buckets(path, 0, size, bucket, 0, fmt, None, hosts=hosts)
    merged = Partial()
    for metrics in [lines, *buckets.values()]:
        merged.merge(metrics)
    assert comparable(merged) == comparable(summarise_chunk(path, 0, size, 0, fmt, None, hosts=hosts))
    for b, metrics in buckets.items():  # each bucket holds exactly its own entries
        inside = summarise_chunk(path, 0, size, 0, fmt, (b * bucket, (b + 1) * bucket - 1), hosts=hosts)
        assert comparable(metrics) == comparable(inside.metrics_only())


@given(last=st.integers(1, 10**9), every=st.integers(1, 10**7))
def test_a_bucket_divides_the_window_and_a_window_holds_at_most_max_buckets(last, every):
    g = bucket_size(last, every)
    assert last % g == 0 and last // g <= MAX_BUCKETS
    if last // (from_gcd := __import__("math").gcd(last, every)) <= MAX_BUCKETS:
        assert g == from_gcd  # windows then end exactly on every tick of the period


def test_familiar_settings_give_familiar_buckets():
    assert bucket_size(60_000, 10_000) == 10_000  # --last 60 --every 10: six buckets a window
    assert bucket_size(3_600_000, 1_000) == 1_000  # an hour by the second: 3600 buckets
    assert bucket_size(86_400_000, 1_000) == 24_000  # a day by the second: too many, coarser


@settings(max_examples=30, deadline=None)
@given(fmt=st.sampled_from(["app", "conn", "json"]), times=offsets, now=st.integers(-400_000, 400_000),
       last_s=st.sampled_from([1, 10, 60, 300]), every_s=st.sampled_from([1, 2, 5, 10]))
def test_the_window_at_any_time_equals_the_batch_report_with_that_window(tmp_path_factory, fmt, times, now,
                                                                          last_s, every_s):
    path = write_log(tmp_path_factory.mktemp("w"), fmt, times)
    size = os.path.getsize(path)
    hosts = (b"host1",) if fmt == "conn" else ()
    sliding = SlidingWindow([path], last_s * 1000, bucket_size(last_s * 1000, every_s * 1000), fmt, hosts)
    for n, start in enumerate(range(0, size, 500)):
        lines, buckets = summarise_chunk_in_buckets(path, start, min(500, size - start), sliding.bucket_ms, 0,
                                                    fmt, None, hosts=hosts)
        sliding.update_metrics(lines, n, buckets)
    at = T0 + now
    got = sliding.report_at(at)
    window = sliding.bounds(at)
    assert window[1] - window[0] + 1 == last_s * 1000 and window[1] < at
    expected = build_report(summarise_chunk(path, 0, size, 0, fmt, window, hosts=hosts), [path], fmt, window,
                            None, hosts, new_known=False)  # buckets hold nothing from before the window
    assert got == expected
    if fmt != "conn":
        assert got["new_templates"] is None


def test_old_buckets_are_dropped_as_the_window_moves_on(tmp_path):
    # an hour of entries, one a second, read as they are written: a 60 s window by the
    # second keeps the 60 buckets before now and the one now is in
    path = write_log(tmp_path, "app", list(range(0, 3_600_000, 1000)), hostile=False)
    size = os.path.getsize(path)
    sliding = SlidingWindow([path], 60_000, 1000)
    now = T0
    most = 0
    for n, start in enumerate(range(0, size, 4096)):
        lines, buckets = summarise_chunk_in_buckets(path, start, min(4096, size - start), 1000, 0, "app",
                                                    (sliding.horizon(now), None))
        sliding.update_metrics(lines, n, buckets)
        now = lines.last_ms + 1  # the newest line was just written
        assert sliding.report_at(now)["in_window"] == 60  # the 60 s before the current second
        most = max(most, len(sliding.buckets))
    assert sliding.total.lines == 3600  # every line counted ...
    assert most == 61  # ... and never more buckets than a window and the current second


def test_saved_figures_give_the_same_report(tmp_path):
    path = write_log(tmp_path, "app", list(range(0, 120_000, 250)))
    sliding = SlidingWindow([path], 60_000, 5000)
    lines, buckets = summarise_chunk_in_buckets(path, 0, os.path.getsize(path), 5000)
    sliding.update_metrics(lines, 1, buckets)
    save_state(str(tmp_path / "state"), {"figures": sliding.to_state()})
    again = SlidingWindow([path], 60_000, 5000)
    again.load_state(load_state(str(tmp_path / "state"))["figures"])
    assert again.report_at(T0 + 90_000) == sliding.report_at(T0 + 90_000)
    plain = Analyzer([path])
    plain.update_metrics(summarise_chunk(path, 0, os.path.getsize(path)))
    restored = Analyzer([path])
    restored.load_state(plain.to_state())
    assert restored.get_current_metrics() == plain.get_current_metrics()


def test_a_damaged_state_file_is_refused_with_a_message(tmp_path):
    bad = tmp_path / "state"
    bad.write_bytes(b"{\"files\": []}")
    with pytest.raises(ValueError, match="not a lograd state file"):
        load_state(str(bad))
    with pytest.raises(ValueError, match="malformed saved figures"):
        SlidingWindow([], 1000, 1000).load_state({"total": {}, "buckets": [[1, {"n": "x"}]]})


def test_settled_chunks_are_forgotten_and_their_late_results_dropped():
    d = Dispatcher(plan_chunks([("a.log", 300)], 100), Settings(max_attempts=1))
    d.hello("w", "alice", 3, now=0.0)
    (a0, a1, a2) = d.assign(now=0.0)
    assert d.result(0, a0.attempt, 0.1, now=1.0)
    d.failure(1, a1.attempt, "gone", now=1.0)
    assert d.result(2, a2.attempt, 0.1, now=1.0)
    done, failed, retried = d.forget_settled()
    assert done == [0, 2] and [(c.id, why) for c, why in failed] == [(1, "gone")] and retried == 0
    assert d.chunks == {} and d.finished and not d.attempts
    assert not d.result(0, a0.attempt, 0.1, now=2.0) and d.late_results == 1


@settings(max_examples=500, deadline=None)
@given(st.integers(-62_167_219_200_000 // 60_000, 253_402_300_799_999 // 60_000))
def test_a_minute_is_named_as_its_first_millisecond_is(minute):
    """format_minute (a day's date computed once per day) against format_ms of the minute's start."""
    from lograd.timestamps import format_minute, format_ms
    assert format_minute(minute) == format_ms(minute * 60_000)[:16]
