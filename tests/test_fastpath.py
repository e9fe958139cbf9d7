"""The compiled path equals the exact per-line path, partial for partial (issue #4).

Hypothesis builds lines from SPEC-shaped pieces and hostile bytes; both paths
must give identical partials — every count, sum, bucket, sample and minute.
"""
import os

from hypothesis import given, settings, strategies as st

import pytest

from lograd.aggregate import Partial

from lograd.formats.app import summarise_app
from lograd.formats.app import add_app_fast, summarise_app_fast
from lograd.parsing import MAX_LINE, resource_metrics, response_time
from lograd.formats.app import parse_app_line
from lograd.reader import summarise_chunk
from tests.test_chunking import HOSTILE_LINES, hostile_document

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STAMPS = [b"2024-01-24 10:15:32.123", b"2024-01-24T23:59:59.999", b"2024-01-24 10:15:32",
          b"2024-02-29 00:00:00.000", b"2023-02-29 10:00:00.000", b"2024-01-24 24:00:00",
          b"2024-01-24 10:15:32.1234", b"2024-01-24T10:15:32Z", b"2024-01-24 10:15:32.12",
          b"1999-12-31 23:59:59.500", b"2024-13-01 00:00:00.000"]
LEVELS = [b"INFO", b"WARN", b"WARNING", b"ERROR", b"DEBUG", b"TRACE", b"FATAL", b"NOTICE",
          b"CRITICAL", b"info", b"Error", b"INFORMATION", b"ERR", b""]
GAPS = [b" ", b"  ", b"\t", b" \t", b""]
WORDS = [b"Request", b"processed", b"in", b"took", b"login", b"127ms", b"0.5s", b"250us", b"5",
         b"1.25", b"ms", b"s", b"us", b"response_time=42.5ms", b"latency:", b"duration=",
         b"cpu=87.5%", b"mem=1024MB", b"x=-3", b"a=b=5", b"k.v_w=1.5;z=2,", b"5e3", b"3.5.1",
         b"10MB/s", b"(cpu=5)", b"in\t\t 12 ms", b"took        5ms", b"1234567890123ms",
         b"in 99999999999s", b"x=12345678901", b"\xff\xfe", b"\x00", b"\r", b"=", b";", b",",
         b"key_" + b"k" * 60 + b"=1", b"in 1." + b"5" * 25 + b"ms", b"caf\xc3\xa9",
         # whole phrases, so fractions in every unit and big whole parts are common
         b"in 1.5us", b"took 0.125 us", b"in 2.0625s", b"took 1234567s", b"took 98765432.5s", b"in 123456.5s",
         b"latency=0.0000001ms", b"duration:12.123456789123s", b"in 999999999.999999999ms",
         b"took 12msx", b"in 5s_", b"x=0.000000001", b"y=-123456789.987654321%",
         b"xin 5ms", b"_took 5ms", b"mistook", b"a.latency=", b"5mss", b"5ms_", b"5us", b"0.75us",
         b"xresponse_time=4ms", b"in .5ms", b"in 1..5ms", b"in 1.2.5ms", b"x=5%%", b"x=5.ms",
         b"big_key_name_longer_than_eight=7", b"Latency=5ms", b"in5ms", b"took\x0b5s"]

COMMON_GAPS = [b" "] * 6 + GAPS  # mostly the common shape, which the fast path decides itself
COMMON_STAMPS = [b"2024-01-24 10:15:32.123", b"2024-01-24 10:15:32"] * 4 + STAMPS
COMMON_LEVELS = [b"INFO", b"ERROR", b"WARN"] * 3 + LEVELS
line = st.builds(
    lambda stamp, gap, level, gap2, words, seps: stamp + gap + level + gap2 + b"".join(
        w + s for w, s in zip(words, seps)),
    st.sampled_from(COMMON_STAMPS), st.sampled_from(COMMON_GAPS), st.sampled_from(COMMON_LEVELS),
    st.sampled_from(COMMON_GAPS), st.lists(st.sampled_from(WORDS), max_size=4),
    st.lists(st.sampled_from(COMMON_GAPS), min_size=6, max_size=6))
noise = st.binary(max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(line, line, line, st.sampled_from(HOSTILE_LINES), noise), max_size=30),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans(), st.integers(0, 10**6))
def test_fast_path_equals_exact_path(lines, newline, final_newline, base):
    data = newline.join(lines) + (newline if final_newline and lines else b"")
    assert summarise_app_fast(data, base) == summarise_app(data, base)


@pytest.mark.parametrize("line", [
    b"\x00" * 16 + b":05 INFO took 5ms",  # the bytes of an empty minute cache, then seconds
    b"\xff" * 16 + b":05 INFO took 5ms",
])
def test_a_line_that_looks_like_the_empty_stamp_cache_is_no_entry(line):
    """Before any stamp is read the scanner's minute cache holds nothing: a line whose head
    equals its initial bytes must not be taken for that minute."""
    assert summarise_app_fast(line) == summarise_app(line)
    assert summarise_app(line).malformed == 1


@settings(max_examples=100, deadline=None)
@given(st.lists(line, min_size=1, max_size=20), st.integers(1_706_000_000_000, 1_706_100_000_000),
       st.integers(0, 100_000_000))
def test_fast_path_equals_exact_path_with_a_window(lines, low, span):
    data = b"\n".join(lines)
    window = (low, low + span)
    assert summarise_app_fast(data, window=window) == summarise_app(data, window=window)


def test_equal_on_every_bundled_log_and_the_hostile_document():
    logs = os.path.join(ROOT, "test_vectors", "logs")
    for name in sorted(os.listdir(logs)):
        with open(os.path.join(logs, name), "rb") as f:
            data = f.read()
        assert summarise_app_fast(data) == summarise_app(data), name
    data = hostile_document(13)
    assert summarise_app_fast(data, 77, 2) == summarise_app(data, 77, 2)


def test_huge_sums_stay_exact():
    big = b"2024-01-24 10:15:32.000 INFO took 999999999ms mem=999999999.999999999\n" * 20_000
    assert summarise_app_fast(big) == summarise_app(big)


# Messages after "2024-01-24 10:15:32.123 INFO ": the per-line functions (tested
# against SPEC §1 in test_parsing) are the oracle, and the fast path must decide
# every one of these itself (none is left to the per-line path).
DECIDED_MESSAGES = [
    b"Request processed in 127ms", b"xin 5ms", b"_took 5ms", b"mistook 5ms", b"took 1.5us",
    b"in 2.0625s", b"in 0.125 ms", b"took\t7 s", b"in  5  ms", b"in 5mss", b"in 5ms_", b"in 5ms.",
    b"retry in 3s took 120ms", b"in 5 us", b"response_time=42.5ms", b"xresponse_time=4ms",
    b"latency:3us", b"duration=2s", b"a.latency=5ms", b"latency= 5ms", b"Latency=5ms", b"in .5ms",
    b"in 1..5ms", b"in 1.2.5ms", b"in5ms", b"took 0.000000000001s", b"in 999999999ms", b"in 123456s",
    b"cpu=87.5% mem=1024MB", b"x=-3", b"a=b=5", b"k.v_w=1.5;z=2,", b"(cpu=5)", b"x=5%%", b"x=5.ms",
    b"x=5abc1", b"x=1.25e3", b"big_key_name_longer_than_eight=7", b"x=0.000000001",
    b"y=-123456789.987654321%", b"=5", b"", b"in", b"5ms",
]


@pytest.mark.parametrize("message", DECIDED_MESSAGES)
def test_fast_path_decides_common_messages_exactly(message):
    line = b"2024-01-24 10:15:32.123 INFO " + message
    partial = Partial()
    assert add_app_fast(partial, line + b"\n") == 0  # decided without the per-line path
    assert partial == summarise_app(line + b"\n")
    rt = response_time(message)
    assert (partial.rt_count, partial.rt_total) == ((0, 0) if rt is None else (1, rt))
    metrics = resource_metrics(message)
    assert sorted((k, r.total) for k, r in partial.resources.items()) == sorted(metrics)
    assert parse_app_line(line) is not None


@pytest.mark.parametrize("line", [
    b"2024-01-24 10:15:32.123 WARNING disk", b"2024-01-24T10:15:32 CRITICAL x", b"2024-01-24 10:15:32 FATAL",
    b"2024-01-24 10:15:32.999 NOTICE ", b"2024-12-31 23:59:59.999 TRACE y", b"2024-02-29 00:00:00 DEBUG z"])
def test_fast_path_decides_every_level_and_both_timestamp_shapes(line):
    partial = Partial()
    assert add_app_fast(partial, line) == 0
    assert partial == summarise_app(line) and partial.entries == 1


@pytest.mark.parametrize("line", [
    b"2024-01-24 10:15:32.123  INFO two spaces", b"2024-01-24 10:15:32.123 info lower",
    b"2024-01-24 24:00:00 INFO hour", b"2023-02-29 10:00:00 INFO date", b"2024-01-24 10:60:00 INFO minute",
    b"2024-01-24 10:00:60 INFO second", b"2024-01-24 10:15:32.123Z INFO zone", b"2024-01-24 10:15:32.1 INFO",
    b"2024-01-24T10:15:32.123456789+05:30 WARNING zone", b"2024-01-24 10:15:32-0800\tError tab",
    b"2024-01-24 10:15:32+24:00 INFO bad zone", b"2024-01-24 10:15:32+05:3 INFO short zone",
    b"2024-01-24 10:15:32.1234567890 INFO ten digits", b"2024-01-24 10:15:32. INFO no digits",
    b"0000-02-29 00:00:00 INFO year zero", b"9999-12-31 23:59:59.999 FATAL last",
    b"2024-01-24 10:15:32.123 INFOS x", b"2024-01-24 10:15:32.123 INFO\tx", b"2024-01-24 10:15:32.123 INFO  x",
    b"2024-01-24 10:15:32.123 INFO: x", b"2024-01-24 10:15:32.123 INFO   ", b"2024-01-24 10:15:32",
    b"2024-01-24 10:15:32.123 INFO in          5ms", b" \t ", b"", b"\x00", b"\x0b\x0c"])
def test_the_scanner_decides_every_line_shape_itself(line):
    partial = Partial()
    assert add_app_fast(partial, line) == 0
    assert partial == summarise_app(line)


@pytest.mark.parametrize("line", [
    b"2024-01-24 10:15:32.123 INFO in 1234567890123456789012ms", b"2024-01-24 10:15:32.123 INFO took 1234567s",
    b"2024-01-24 10:15:32.123 INFO in 5ms x=12345678901", b"2024-01-24 10:15:32.123 INFO " + b"x" * MAX_LINE])
def test_values_too_big_for_an_int64_and_overlong_lines_go_to_the_exact_path(line):
    partial = Partial()
    assert add_app_fast(partial, line) == 1
    assert partial == summarise_app(line)


def test_the_worker_path_over_chunks_and_blocks_equals_the_exact_path(tmp_path):
    long_line = b"2024-01-24 10:15:32 INFO in 5ms " + b"x" * MAX_LINE
    data = hostile_document(29) + b"\n" + long_line + b"\n" + hostile_document(5)
    path = tmp_path / "hostile.log"
    path.write_bytes(data)
    whole = summarise_app(data)
    for chunk, block in ((len(data), 1 << 20), (len(data), 5000), (4096, 512), (1000, 64), (77, 4096)):
        merged = Partial()
        for start in range(0, len(data), chunk):
            merged.merge(summarise_chunk(str(path), start, min(chunk, len(data) - start), block_size=block))
        assert merged == whole, (chunk, block)


def test_response_times_next_to_every_bucket_boundary_fall_in_the_same_buckets_on_both_paths():
    """The scanner finds a response time's sketch bucket by a binary search over BOUNDS (with
    a cache of values seen); the exact path by bisect. Times a nanosecond-of-a-millisecond
    either side of each boundary from 1 us to 100 s, in one chunk and repeated (the cache)."""
    import numpy as np
    from lograd.fastpath import _BOUNDS
    bounds = np.array(_BOUNDS)
    inside = bounds[(bounds >= 1e-3) & (bounds <= 1e5)]
    fixed = np.floor(inside * 1e9).astype(np.int64)
    values = np.concatenate([fixed - 1, fixed, fixed + 1, fixed + 2]).tolist() * 2
    data = b"".join(b"2024-01-24 10:%02d:00.000 INFO in %d.%09dms\n" % (i % 60, v // 10**9, v % 10**9)
                    for i, v in enumerate(values))
    fast, exact = summarise_app_fast(data), summarise_app(data)
    assert fast.rt_count == len(values) and fast == exact


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(line, line, st.sampled_from(HOSTILE_LINES), noise), max_size=30),
       st.sampled_from([b"\n", b"\r\n"]))
def test_the_newest_entry_scan_agrees_with_the_full_summary(lines, newline):
    from lograd.formats.app import newest_app_entry
    data = newline.join(lines)
    assert newest_app_entry(data) == summarise_app(data).last_ms


def test_the_scanner_shares_the_grammar_constants():
    from lograd import _scanner
    from lograd.parsing import LEVEL_ORDER
    assert _scanner.SCANNED_LEVELS == LEVEL_ORDER
    assert _scanner.SCANNED_MAX_LINE == MAX_LINE


@pytest.mark.parametrize("message", [
    b"in 5 then took 7ms", b"took 5 in 6ms", b"retry in 2 s? no: in 3ms", b"login 5ms then in 9us",
    b"x.in 5ms", b"(in 5ms)", b"latency:5ms duration=6s", b"duration = 5ms in 4ms", b"in\x0b\x0c 12ms",
    b"response_time=1.5s", b"xresponse_time=1ms latency=2ms", b"in 1.5.5ms in 2ms", b"in 12345678 took 3s",
    b"in 99999999999999999999ms", b"in 0.000000000001ms took 1ms", b"took1ms", b"in" + b" " * 20 + b"7ms"])
def test_the_first_response_time_is_found_from_its_number_as_the_regular_expression_finds_it(message):
    """The scanner looks at each number's first digit and the keyword before it; the exact
    path (parsing.response_time, a regular expression search) is the reference."""
    data = b"2024-01-24 10:15:32.123 INFO " + message + b"\n"
    fast, exact = summarise_app_fast(data), summarise_app(data)
    assert fast == exact
    assert (fast.rt_total if fast.rt_count else None) == response_time(message)


def test_messages_that_differ_in_digits_share_a_template_only_when_it_holds_none():
    """The tally remembers a template by the message with its digits made '0' unless the
    template copies a digit (a key such as cpu1=): each line's template is still its own."""
    from lograd.templates import group_of, template_bytes
    messages = [b"cpu1=5 up", b"cpu2=7 up", b"cpu1=9 up", b"id 5 done", b"id 66 done", b"v1.2 ok", b"v3.4 ok",
                b"host a1:80", b"host b2:81", b"\"q1\" 5", b"\"q2\" 6", b"x" * 2000 + b"1", b"x" * 2000 + b"2"] * 3
    data = b"".join(b"2024-01-24 10:15:%02d.000 INFO %s\n" % (i % 60, m) for i, m in enumerate(messages))
    fast = summarise_app_fast(data)
    assert fast == summarise_app(data)
    counted = {t: f.count for t, f in fast.templates.groups[group_of("INFO")].items()}
    expected: dict[bytes, int] = {}
    for m in messages:
        expected[template_bytes(m)] = expected.get(template_bytes(m), 0) + 1
    assert counted == expected and b"cpu1=<*> up" in counted and b"cpu2=<*> up" in counted


def test_a_skeleton_makes_only_ascii_digits_zero_at_every_length_and_position():
    """The skeleton (a message's digits made '0') is made eight or sixteen bytes a step, the
    last step overlapping the one before: at every length up to 48 and every position, a
    digit and each byte next to the digits' range (or equal to one but for its high bit, or
    its low nibble) must give its line its own template, as the exact path does."""
    near = b"/0159:\xb0\xb9\xaf\xba p`y"
    messages = [b"m" * i + bytes([c]) + b"m" * (n - i - 1) for n in range(1, 49) for i in range(n) for c in near]
    data = b"".join(b"2024-01-24 10:15:00.000 INFO %s\n" % m for m in messages)
    assert summarise_app_fast(data) == summarise_app(data)


def test_messages_that_share_their_shape_are_still_read_digit_by_digit():
    """The tally reads a message's response time and resources where the first message of
    the same skeleton (digits made '0') had them; whether each number fits an int64 is its
    own: leading zeros make the same skeleton hold a small value and one too big."""
    small, big = b"0" * 18 + b"1", b"1" + b"0" * 18  # 19 digits each
    messages = [b"in " + small + b"s", b"in " + big + b"s", b"in " + small + b"s",
                b"x=" + small + b" in 5ms", b"x=" + big + b" in 5ms", b"x=" + small + b" in 6ms",
                b"cpu1=5 mem=7MB", b"cpu2=6 mem=8MB", b"cpu1=9 mem=9MB", b"took 12ms", b"took 99ms",
                b"delta=-5 in 1.5s", b"delta=-7 in 2.25s", b"load=12.5% in 0.000125us", b"load=99.9% in 0.000999us"]
    data = b"".join(b"2024-01-24 10:15:%02d.000 INFO %s\n" % (i, m) for i, m in enumerate(messages * 2))
    fast = summarise_app_fast(data)
    assert fast == summarise_app(data)
    assert fast.malformed == 0 and sorted(fast.resources) == ["cpu1", "cpu2", "delta", "load", "mem", "x"]


@pytest.mark.parametrize("rest", [
    b":32.123 INFO done", b":32.123 info done", b":60.123 INFO done", b":32.123 ERR done", b":32.123 INFORMATION x",
    b":32.123 WARNING done", b":32.123 CRITICAL done", b":32.123 INFO  done", b":32.123 INFO\tdone", b":32.123  INFO done",
    b":32.123 INFO \t", b":32.123 INFO ", b":32.123Z INFO done", b":32.1234 INFO done", b":32.12 INFO done",
    b":3x.123 INFO done", b":32.123 IN-O done", b":32.123 Fatal done", b":32.123 NOTICE in 5ms"])
def test_a_line_after_one_of_its_minute_and_level_is_decided_as_on_its_own(rest):
    """The scanner decides a line whose minute and level word it saw just before with a few
    word compares (_common_head); every near miss must be decided as the exact path does."""
    data = b"2024-01-24 10:15:00.000 INFO primed the minute and the level\n2024-01-24 10:15" + rest + b"\n"
    assert summarise_app_fast(data) == summarise_app(data)
