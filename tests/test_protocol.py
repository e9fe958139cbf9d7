"""The wire protocol: every message survives a round trip; garbage is refused, not trusted."""
import msgpack
import pytest

from lograd.net import protocol
from lograd.aggregate import Partial
from lograd.formats.app import summarise_app
from lograd.net.protocol import Assign, Beat, Failure, Heartbeat, Hello, ProtocolError, Release, Result

MESSAGES = [
    Hello("alice", "inst", 2),
    Assign("job", 3, 1, "/var/log/app.log", 0, 4096, 8192, "app", None, 1706091332000),
    Assign("job", 4, 1, "/var/log/conn.log", 1, 0, 8192, "conn", None, None, [b"sierra", b"Delta"]),
    Release("job", [[3, 1], [4, 1]]),
    Result("job", 3, 1, "alice", 0.25, summarise_app(b"2024-01-24 10:15:32 INFO in 5ms\nbad\n").to_wire()),
    Failure("job", 3, 2, "bob", "Permission denied: /var/log/app.log"),
    Heartbeat("alice", "alice.1.ab", 7, 93.5, 40.0, 41.5),
    Beat("inst", "job", 12),
]


@pytest.mark.parametrize("message", MESSAGES, ids=lambda m: type(m).__name__)
def test_round_trip(message):
    assert protocol.decode(protocol.encode(message)) == message


def test_partial_survives_the_wire_including_huge_exact_sums():
    p = summarise_app(b"2024-01-24 10:15:32 INFO in 99999999999999999999ms mem=123456789012345678901\n")
    wire = msgpack.unpackb(msgpack.packb(p.to_wire()), raw=False, strict_map_key=False)
    assert Partial.from_wire(wire) == p


@pytest.mark.parametrize("frames", [
    [],
    [b"lograd/1", b"hello"],
    [b"lograd/0", b"hello", msgpack.packb(["a", "b", 1])],
    [b"lograd/1", b"shout", msgpack.packb(["a"])],
    [b"lograd/1", b"hello", b"\xc1\xc1 not msgpack"],
    [b"lograd/1", b"hello", msgpack.packb(["a", "b"])],
    [b"lograd/1", b"hello", msgpack.packb(["a", "b", "two"])],
    [b"lograd/1", b"hello", msgpack.packb(["a", "b", True])],
    [b"lograd/1", b"beat", msgpack.packb({"instance": "x"})],
    [b"lograd/1", b"assign", msgpack.packb(["j", 1, 1, "p", 0, 0, 1, "app", "soon", None])],
])
def test_garbage_is_a_protocol_error(frames):
    with pytest.raises(ProtocolError):
        protocol.decode(frames)


@pytest.mark.parametrize("wire", [
    {}, {"n": [1, 2]}, {"n": [-1, 0, 0, 0, 0, 0]},
])
def test_malformed_partials_are_refused(wire):
    good = summarise_app(b"2024-01-24 10:15:32 INFO in 5ms\n").to_wire()
    with pytest.raises(ValueError):
        Partial.from_wire({**good, **wire} if wire else wire)


@pytest.mark.parametrize("hosts", [None, [b"a", "b"], [1], b"sierra"])
def test_an_assign_whose_hosts_are_not_a_list_of_bytes_is_refused(hosts):
    body = list(msgpack.unpackb(protocol.encode(MESSAGES[1])[2], raw=False))
    body[10] = hosts
    with pytest.raises(ProtocolError):
        protocol.decode([protocol.VERSION, b"assign", msgpack.packb(body, use_bin_type=True)])


def _app_wire() -> dict:
    lines = b"2024-01-24 10:15:32 INFO in 5ms cpu=5\n2024-01-24 10:16:02 ERROR in 7ms cpu=6\n"
    return summarise_app(lines).to_wire()


@pytest.mark.parametrize("damage", [
    lambda w: w["minutes"][0].__setitem__(1, True),            # a bool is no count
    lambda w: w["minutes"][1].__setitem__(2, -1.5),            # nor a float
    lambda w: w["res"]["cpu"][4][0].__setitem__(1, 0),          # a resource minute without values
    lambda w: w["res"]["cpu"][4][0].__setitem__(2, False),
    lambda w: w["templates"][0][0][1].__setitem__(4, [[1, True]]),  # a template's minute count
    lambda w: w["templates"][0][0][1].__setitem__(4, [[1, -1]]),
])
def test_the_wire_s_long_lists_are_checked_value_by_value(damage):
    """A partial's per-minute rows are checked in bulk (plain ints at C speed), then one by one
    when anything is not plain: either way a bool, a float or a negative count is refused."""
    wire = _app_wire()
    damage(wire)
    with pytest.raises(ValueError):
        Partial.from_wire(wire)


def test_sums_past_64_bits_travel_as_strings_in_the_per_minute_rows():
    p = Partial.from_wire(_app_wire())
    minute = next(iter(p.per_minute))
    p.per_minute[minute][3] = 1 << 70
    wire = p.to_wire()
    assert any(isinstance(v, str) for row in wire["minutes"] for v in row)
    assert Partial.from_wire(wire) == p
