"""The vectorised path equals the exact per-line path, partial for partial (issue #4).

Hypothesis builds lines from SPEC-shaped pieces and hostile bytes; both paths
must give identical partials — every count, sum, bucket, sample and minute.
"""
import os

from hypothesis import given, settings, strategies as st

from lograd.aggregate import summarise_app
from lograd.fastpath import summarise_app_fast
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
         b"took 12msx", b"in 5s_", b"x=0.000000001", b"y=-123456789.987654321%"]

COMMON_GAPS = [b" "] * 6 + GAPS  # mostly the common shape, which the fast path decides itself
line = st.builds(
    lambda stamp, gap, level, gap2, words, seps: stamp + gap + level + gap2 + b"".join(
        w + s for w, s in zip(words, seps)),
    st.sampled_from(STAMPS), st.sampled_from(COMMON_GAPS), st.sampled_from(LEVELS),
    st.sampled_from(COMMON_GAPS), st.lists(st.sampled_from(WORDS), max_size=6),
    st.lists(st.sampled_from(COMMON_GAPS), min_size=6, max_size=6))
noise = st.binary(max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(line, line, line, st.sampled_from(HOSTILE_LINES), noise), max_size=30),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans(), st.integers(0, 10**6))
def test_fast_path_equals_exact_path(lines, newline, final_newline, base):
    data = newline.join(lines) + (newline if final_newline and lines else b"")
    assert summarise_app_fast(data, base) == summarise_app(data, base)


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
