"""Per-second counts: dense hours as arrays, sparse seconds loose, same answers either way."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lograd.seconds import HOUR, SecondCounts

seconds = st.integers(1_706_000_000, 1_706_000_000 + 3 * HOUR)


def counts_of(pairs, dense_at=None):
    """SecondCounts from (second, count) pairs, some of them added as one dense run."""
    c = SecondCounts()
    for s, n in pairs:
        c.add(s, n)
    if dense_at is not None:
        c.add_run(dense_at, np.arange(1, 2 * HOUR, dtype=np.int64) % 5)  # crosses an hour edge
    return c


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(seconds, st.integers(1, 9)), max_size=40), st.one_of(st.none(), seconds),
       st.integers(0, 40))
def test_any_split_and_merge_order_gives_the_same_counts(pairs, dense_at, cut):
    whole = counts_of(pairs, dense_at)
    left, right = counts_of(pairs[:cut]), counts_of(pairs[cut:], dense_at)
    right.merge(left)
    assert right == whole
    expected = {}
    for s, n in pairs:
        expected[s] = expected.get(s, 0) + n
    if dense_at is not None:
        for i, n in enumerate((np.arange(1, 2 * HOUR) % 5).tolist()):
            if n:
                expected[dense_at + i] = expected.get(dense_at + i, 0) + n
    assert whole.as_dict() == expected
    assert whole.peak() == max(expected.values(), default=0)
    assert whole.span() == ((min(expected), max(expected)) if expected else None)
    assert SecondCounts.from_wire(whole.to_wire()) == whole


def test_a_loose_second_and_an_array_for_the_same_hour_add_up_for_the_peak():
    c = SecondCounts()
    c.add(1_706_000_005, 7)
    c.add_run(1_706_000_000, np.full(100, 3, dtype=np.int64))
    assert c.peak() == 10 and len(c.hours) == 1


def test_sparse_runs_stay_loose_and_dense_runs_become_arrays():
    c = SecondCounts()
    sparse = np.zeros(1000, dtype=np.int64)
    sparse[[0, 500, 999]] = 1
    c.add_run(0, sparse)
    assert not c.hours and len(c.loose) == 3
    c.add_run(10 * HOUR, np.ones(60, dtype=np.int64))
    assert list(c.hours) == [10] and c.peak() == 1


@pytest.mark.parametrize("wire", [
    [[[5, -1, b""]], []], [[[5, 0, b"1234567"]], []], [[[5, HOUR - 1, b"\0" * 16]], []],
    [[[5, 0, np.array([-1], "<i8").tobytes()]], []], [[], [[1, -2]]], [[], [["x", 1]]]])
def test_malformed_wire_forms_are_refused(wire):
    with pytest.raises(ValueError):
        SecondCounts.from_wire(wire)
