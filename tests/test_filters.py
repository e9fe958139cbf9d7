"""Filters (issue #17): --level, --grep and --template, the compiled path held to the exact one
for every format with messages, and the real command line against a reading in the test."""
import pytest
from hypothesis import given, settings, strategies as st

from lograd.aggregate import Partial
from lograd.filters import EntryFilter
from lograd.formats import Reading, get
from tests.test_formats import CRI_CONTENTS, CRI_PREFIXES, REF

FILTERS = st.builds(EntryFilter, st.sampled_from([None, "DEBUG", "INFO", "WARN", "ERROR", "FATAL"]),
                    st.sampled_from([None, rb"\d+ms", rb"^Request", rb"x=", rb"(?i)FAILED", rb"done$"]),
                    st.sampled_from([None, b"Request processed in <*>", b"[main] c.e.Handler: Request processed in <*>",
                                     b"done in <*>", b"Failed password"]))
WINDOWS = st.sampled_from([None, (1706090400000, 1706090400100), (1706091332100, None)])


FILTERED = sorted(name for name in CRI_CONTENTS if get(name).has_messages)
"""The formats filters apply to (a job over access lines is refused, see plan.refuse_filters)."""


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FILTERED), st.data(), FILTERS, WINDOWS)
def test_the_compiled_path_filters_as_the_exact_one_in_every_format(inner, data, filters, window):
    """Each format's lines bare (its own scanner) and wrapped in CRI lines: the same partial."""
    lines = data.draw(st.lists(st.sampled_from(CRI_CONTENTS[inner]), min_size=1, max_size=10))
    for fmt, block in ((get(inner), b"\n".join(lines) + b"\n"),
                       (get(f"cri+{inner}"), b"\n".join(CRI_PREFIXES[0] + line for line in lines) + b"\n")):
        exact, fast = Partial(filters=filters), Partial(filters=filters)
        exact_reading, fast_reading = Reading(0, None, REF), Reading(0, None, REF)
        exact.lines += exact_lines(fmt, exact, block, exact_reading, window)
        fmt.add_block(fast, block, 5, fast_reading, window)
        for p, r in ((exact, exact_reading), (fast, fast_reading)):
            fmt.finish(p, r)
        assert fast == exact, fmt.name
        # the wire does not carry how a partial was built (its filters): what it holds arrives
        assert Partial.from_wire(fast.to_wire()) == fast, fmt.name


def exact_lines(fmt, partial, block, reading, window) -> int:
    """The format's per-line path over a block at offset 5."""
    if fmt.name == "app":
        from lograd.formats.app import add_lines
        return add_lines(partial, block, 5, 0, window)
    if fmt.name == "text":
        from lograd.formats.text import add_text_lines
        return add_text_lines(partial, block, 5, 0, window, REF)
    if hasattr(fmt, "inner"):
        return fmt.add_lines(partial, block, 5, reading, window)
    return fmt.add_lines(partial, block, 5, 0, window, REF)


def test_filters_are_what_an_entry_must_pass():
    f = EntryFilter("WARN", rb"timed? out", b"upstream <*> timed out")
    assert f.passes("ERROR", b"upstream 10.0.0.1:80 timed out")
    assert not f.passes("INFO", b"upstream 10.0.0.1:80 timed out")   # below the level
    assert not f.passes("NONE", b"upstream 10.0.0.1:80 timed out")   # no level passes no --level
    assert not f.passes("FATAL", b"upstream 10.0.0.1:80 failed")     # no match
    assert not f.passes("FATAL", b"upstream db time out")            # another template
    assert EntryFilter.from_options(None, None, None) is None
    assert EntryFilter.from_options("warning", None, None).level == "WARN"
    for bad in (("LOUD", None, None), (None, "(", None)):
        with pytest.raises(ValueError):
            EntryFilter.from_options(*bad)
    assert EntryFilter.from_wire(f.to_wire()) == f and EntryFilter.from_wire([]) is None
