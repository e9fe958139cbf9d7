"""The compiled conn path equals the exact per-line path, partial for partial (issue #5)."""
import pytest
from hypothesis import given, settings, strategies as st

from lograd.aggregate import Partial

from lograd.formats.conn import add_conn_lines
from lograd.conn import ConnCounts
from lograd.formats.conn import newest_conn_entry
from lograd.formats.conn import HostTally, add_conn_fast, newest_conn_fast

STAMPS = [b"1565647204351", b"1565647205", b"0", b"99999999999", b"100000000000", b"1234567890123456",
          b"12345678901234567", b"253402300800000", b"-5", b"1.5", b"x1", b""]
HOSTS = [b"quark", b"garak", b"Aadvik", b"a", b"h" * 8, b"h" * 9, b"w" * 16, b"w" * 17, b"caf\xc3\xa9",
         b"\xff\xfe", b"x\x0by", b"a\rb", b"\x00", b"n\x00ul"]
GAPS = [b" ", b" ", b" ", b"\t", b"  ", b""]
line = st.builds(lambda t, g1, s, g2, d, tail: t + g1 + s + g2 + d + tail,
                 st.sampled_from(STAMPS), st.sampled_from(GAPS), st.sampled_from(HOSTS),
                 st.sampled_from(GAPS), st.sampled_from(HOSTS), st.sampled_from([b"", b"", b" ", b"\t", b" x"]))


def both(data: bytes, hosts: tuple[bytes, ...], window=None):
    fast, exact = Partial(), Partial()
    tally = HostTally(hosts)
    add_conn_fast(fast, data, 7, 1, window, ConnCounts(hosts), tally)
    if fast.conn is not None:
        tally.into(fast)
    exact.lines = add_conn_lines(exact, data, 7, 1, window, ConnCounts(hosts))
    return fast, exact


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(line, line, line, st.binary(max_size=30)), max_size=30),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans(), st.sampled_from([(), (b"quark",), (b"w" * 16,), (b"w" * 17,), (b"quark", b"garak", b"w" * 17)]),
       st.sampled_from([None, (1565647204000, 1565647205000), (0, -1)]))
def test_fast_conn_path_equals_the_exact_path(lines, newline, final, hosts, window):
    data = newline.join(lines) + (newline if final and lines else b"")
    fast, exact = both(data, hosts, window)
    assert fast == exact
    assert newest_conn_fast(data) == newest_conn_entry(data) == exact.last_ms


def test_every_line_shape_is_decided_without_the_per_line_path():
    data = (b"1565647204351 Aadvik Matina\n1565647205\tquark\tgarak\n1 " + b"w" * 16 + b" " + b"v" * 16 +
            b"\n1  a\t b \t\n \t\nx a b\n12345678901234567 a b\n253402300800000 a b\n1 a\n\n")
    partial = Partial()
    assert add_conn_fast(partial, data, 0, 0, None, ConnCounts((b"quark",))) == 0
    assert partial.entries == 4 and partial.conn.from_host == {b"quark": {b"garak": 1}}
    assert partial.conn.sources == {b"Aadvik": 1, b"quark": 1, b"w" * 16: 1, b"a": 1}
    assert (partial.blank, partial.malformed) == (2, 4)
    fast, exact = both(data, (b"quark",))
    assert fast == exact


@pytest.mark.parametrize("line", [b"1 " + b"w" * 17 + b" b", b"1 a " + b"v" * 17, b"1 n\x00ul b", b"1 a \x00"])
def test_long_hosts_and_nul_bytes_go_the_per_line_way(line):
    fast, exact = both(line + b"\n", ())
    assert add_conn_fast(Partial(), line + b"\n", 0, 0, None, ConnCounts()) == 1
    assert fast == exact


def test_many_hosts_colliding_in_the_hash_table_are_still_counted_apart():
    data = b"".join(b"1565647205 h%d x\n" % i for i in range(70_000))  # more hosts than table slots
    fast, exact = both(data, ())
    assert fast == exact and len(fast.conn.sources) == 70_000


@pytest.mark.parametrize("stamp", [b"12345678", b"1234567", b"1234567:", b"1234567/", b"123456789", b"1565647204351",
                                   b"0000000000000001", b"12345678901234567", b"9999999999999999", b"12345678x",
                                   b"\x3a2345678", b"1234\x3f678", b"00000000"])
def test_times_read_eight_digits_at_a_time_are_the_exact_paths(stamp):
    """The scanner reads a line's first eight bytes as digits in one word when all eight are."""
    data = stamp + b" alpha beta\n" + stamp + b"\tbeta alpha\r\n"
    fast, exact = both(data, (b"alpha",))
    assert fast == exact
