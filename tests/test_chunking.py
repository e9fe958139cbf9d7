"""SPEC §2: the merged report is the same for every chunk size and merge order.

These run the real reader and parser over real files, in process (no sockets):
the multi-process tests in tests/integration check the same over ZeroMQ.
"""
import io
import json
import random

from hypothesis import given, settings, strategies as st

from lograd.analyzer import Analyzer
from lograd.aggregate import Partial
from lograd.formats.app import add_lines, summarise_app
from lograd.parsing import MAX_LINE
from lograd.reader import owned_blocks
from tests import reference

# Lines that exercise every rule of SPEC §1 at chunk boundaries.
HOSTILE_LINES = [
    b"2024-01-24 10:15:32.123 INFO Request processed in 127ms",
    b"2024-01-24 10:15:33.001 ERROR Database connection failed",
    b"2024-01-24T10:15:34Z WARN Resource usage cpu=87.5% mem=1024MB",
    b"2024-01-24T12:15:34+02:00 info took 0.5s, latency=3ms",
    b"2024-01-24 10:16:01.999999999 DEBUG x=-1.5;y=2 in 1.25us",
    b"",
    b" \t ",
    b"\r",
    b"garbage line here",
    b"2024-02-30 10:16:01.600 INFO bad date",
    b"\x00\x0b",
    b"2024-01-24 10:17:00 CRITICAL caf\xc3\xa9 \xff\xfe invalid utf-8 duration=12ms",
    b"2024-01-24 10:17:00.5 FATAL crlf line\r",
    b"2024-01-24 10:15:59 NOTICE out of order, response_time=99.5ms",
]


def hostile_document(repeat: int = 7) -> bytes:
    rng = random.Random(repeat)
    lines = [rng.choice(HOSTILE_LINES) for _ in range(len(HOSTILE_LINES) * repeat)]
    return b"\n".join(lines)  # no final newline: the last line still counts


def read_chunk(f, start: int, size: int, block_size: int = 64) -> tuple[bytes, int]:
    """A chunk's owned lines joined, and the offset of the first (small blocks: many block edges)."""
    blocks = [(bytes(block), base) for block, base in owned_blocks(f, start, size, block_size)]
    return b"".join(b for b, _ in blocks), (blocks[0][1] if blocks else start)


def summarise_by_blocks(f, start: int, size: int, block_size: int = 64) -> Partial:
    """The exact per-line path over a chunk's blocks, as the worker reads them."""
    partial = Partial()
    for block, base in owned_blocks(f, start, size, block_size):
        partial.lines += add_lines(partial, bytes(block), base, 0, None)
    return partial


def report_by_chunks(data: bytes, chunk_size: int, seed: int = 0) -> dict:
    """Cut, summarise each chunk, merge in a shuffled order: the report without ``job``."""
    f = io.BytesIO(data)
    partials = []
    for start in range(0, len(data), chunk_size):
        partials.append((start, summarise_by_blocks(f, start, min(chunk_size, len(data) - start))))
    random.Random(seed).shuffle(partials)
    analyzer = Analyzer(["f"])
    for chunk_id, partial in partials:
        analyzer.update_metrics(partial.to_wire(), chunk_id)
    return analyzer.get_current_metrics()


def canonical(report: dict) -> str:
    return json.dumps(report, sort_keys=True)


def test_same_report_for_many_chunk_sizes_and_orders():
    data = hostile_document()
    whole = canonical(report_by_chunks(data, len(data)))
    for size in (1, 2, 3, 5, 7, 11, 13, 64, 100, 1000, len(data) - 1):
        for seed in (1, 2):
            assert canonical(report_by_chunks(data, size, seed)) == whole, size


def test_every_line_is_owned_by_exactly_one_chunk():
    data = hostile_document(3)
    for size in (1, 4, 17, 250):
        f = io.BytesIO(data)
        owned = b"".join(read_chunk(f, s, min(size, len(data) - s))[0] for s in range(0, len(data), size))
        assert owned == data, size


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(HOSTILE_LINES), min_size=1, max_size=40),
       st.integers(1, 60), st.booleans(), st.integers(0, 10**6))
def test_property_chunking_never_changes_the_report(lines, chunk_size, final_newline, seed):
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    assert canonical(report_by_chunks(data, chunk_size, seed)) == canonical(report_by_chunks(data, len(data) or 1))


def test_over_long_line_is_malformed_at_every_chunk_size_and_never_read_whole():
    long_line = b"2024-01-24 10:15:32 INFO " + b"x" * MAX_LINE
    data = b"\n".join([HOSTILE_LINES[0], long_line, HOSTILE_LINES[1], long_line])
    whole = report_by_chunks(data, len(data))
    assert (whole["entries"], whole["malformed_lines"]) == (2, 2)
    for size in (4096, 65536, MAX_LINE // 3, MAX_LINE + 7):
        assert canonical(report_by_chunks(data, size)) == canonical(whole), size
    f = io.BytesIO(data + b"y" * (8 * MAX_LINE))
    sizes = [len(block) for block, _ in owned_blocks(f, 0, len(data) + 10, 4096)]
    assert max(sizes) == MAX_LINE + 2  # each long line is cut, never held whole
    assert sum(sizes) < len(data)


def test_duplicate_chunk_results_count_once():
    data = hostile_document(2)
    analyzer = Analyzer(["f"])
    partial = summarise_app(data)
    assert analyzer.update_metrics(partial, chunk_id=7) is True
    assert analyzer.update_metrics(partial, chunk_id=7) is False
    assert analyzer.get_current_metrics()["lines"] == partial.lines


def test_matches_the_reference_reading_of_the_spec():
    data = hostile_document(11)
    for size in (5, len(data)):
        reference.assert_matches(report_by_chunks(data, size), reference.report(data))
