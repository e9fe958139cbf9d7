"""The response-time sketch: nearest-rank percentiles within 1% (SPEC §3), exact merges."""
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lograd.sketch import Sketch


def nearest_rank(values, p):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p / 100 * len(ordered))) - 1]


@pytest.mark.parametrize("seed, n", [(1, 1), (2, 2), (3, 7), (4, 100), (5, 10_000)])
def test_percentiles_within_one_percent_of_nearest_rank(seed, n):
    rng = random.Random(seed)
    values = [rng.lognormvariate(4, 1.5) for _ in range(n)] + [0.0] * (n // 10)
    sketch = Sketch()
    for v in values:
        sketch.add(v)
    got = sketch.quantiles([50, 90, 95, 99, 100], min(values), max(values))
    for p, value in zip([50, 90, 95, 99, 100], got):
        want = nearest_rank(values, p)
        assert math.isclose(value, want, rel_tol=0.01, abs_tol=1e-9), (p, value, want)


def test_merge_is_exact_and_order_free():
    rng = random.Random(9)
    values = [rng.uniform(0, 5000) for _ in range(3000)]
    whole, parts = Sketch(), [Sketch() for _ in range(5)]
    for i, v in enumerate(values):
        whole.add(v)
        parts[i % 5].add(v)
    merged = Sketch()
    for part in reversed(parts):
        merged.merge(Sketch.from_wire(part.to_wire()))
    assert merged.to_wire() == whole.to_wire()


def test_a_peer_sketch_with_a_bucket_no_value_falls_in_is_refused():
    """Hypothesis found it: bucket 70978 (gamma**70978 overflows a float) made the report
    raise OverflowError; the buckets are LOWEST_INDEX .. LOWEST_INDEX + len(BOUNDS) - 1."""
    from lograd.sketch import BOUNDS, LOWEST_INDEX
    for index in (70978, LOWEST_INDEX - 1, LOWEST_INDEX + len(BOUNDS)):
        with pytest.raises(ValueError):
            Sketch.from_wire([0, [index], [1]])
    last = LOWEST_INDEX + len(BOUNDS) - 1
    assert Sketch.from_wire([0, [LOWEST_INDEX, last], [1, 1]]).count == 2


def test_many_minutes_quantiles_at_once_equal_each_minutes_own():
    """The report asks every minute's percentiles in one call (one running sum, one search);
    they must be each minute's own, minute by minute, missing minutes None."""
    import random
    from lograd.sketch import MinuteSketches, coarse_of
    rng = random.Random(5)
    sketches = MinuteSketches()
    for minute in range(0, 400, 3):
        for _ in range(rng.randint(1, 60)):
            sketches.add(minute, coarse_of(rng.choice([0.0, 1e-12, rng.uniform(0.001, 10_000.0)])))
    asked = list(range(-2, 402))
    together = sketches.quantiles_of(asked, [50, 95, 99])
    assert together == [sketches.quantiles(m, [50, 95, 99]) for m in asked]
    assert together[2] is not None and together[3] is None


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(st.integers(-3, 40), st.integers(0, 60), st.integers(1, 5)), max_size=40),
                min_size=1, max_size=4))
def test_minute_sketches_hold_each_minutes_counts_through_adds_merges_and_the_wire(batches):
    """Every minute's runs are laid out in one array at once, each minute a view of it: what
    the sketches hold (their wire form: per minute its first used bucket and the counts from
    there to its last) is each minute's plain count per bucket, whatever the batches and
    however they are merged."""
    from collections import Counter
    from lograd.sketch import COARSE_ZERO, MinuteSketches
    want: dict[int, Counter] = {}
    merged, one = MinuteSketches(), MinuteSketches()
    for batch in batches:
        part = MinuteSketches()
        if batch:
            minutes, buckets, counts = (np.array(column, dtype=np.int64) for column in zip(*batch))
            part.add_counts(minutes, buckets + COARSE_ZERO, counts)
            one.add_counts(minutes, buckets + COARSE_ZERO, counts)
        for minute, bucket, n in batch:
            want.setdefault(minute, Counter())[bucket + COARSE_ZERO] += n
        merged.merge(MinuteSketches.from_wire(part.to_wire()))
    expected = []
    for minute, counter in sorted(want.items()):
        low, high = min(counter), max(counter)
        expected.append([minute, low, np.array([counter[b] for b in range(low, high + 1)], "<i8").tobytes()])
    assert one.to_wire() == expected
    assert merged.to_wire() == expected


def test_minute_sketches_from_a_peer_with_empty_buckets_at_the_ends_are_sent_trimmed():
    """A peer's run may carry zeros at either end (nothing refuses them): the wire form that
    goes on (a saved state, equality) starts and ends at a used bucket."""
    from lograd.sketch import COARSE_ZERO, MinuteSketches
    raw = np.array([0, 2, 0, 3, 0], "<i8").tobytes()
    got = MinuteSketches.from_wire([[7, COARSE_ZERO, raw], [8, COARSE_ZERO, np.array([4], "<i8").tobytes()],
                                    [9, COARSE_ZERO, np.array([5, 0], "<i8").tobytes()]])
    assert got.to_wire() == [[7, COARSE_ZERO + 1, np.array([2, 0, 3], "<i8").tobytes()],
                             [8, COARSE_ZERO, np.array([4], "<i8").tobytes()],
                             [9, COARSE_ZERO, np.array([5], "<i8").tobytes()]]
