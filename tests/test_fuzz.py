"""Issue #7: fuzzing every decoder of outside input (hypothesis). Log bytes — real lines
mutated byte by byte, or noise — never crash a parser, and the compiled and exact
paths agree on them; frames and partials from a peer raise only the errors their
receivers catch; a report made of anything is valid JSON.
"""
import json

import msgpack
from hypothesis import HealthCheck, given, settings, strategies as st

from lograd.net import protocol
from lograd.aggregate import Partial
from lograd.formats.conn import add_conn_lines
from lograd.formats.jsonlines import add_json_lines
from lograd.formats.app import add_lines
from lograd.analyzer import build_report
from lograd.conn import ConnCounts
from lograd.formats.conn import HostTally, add_conn_fast
from lograd.formats.app import add_app_fast
from lograd.formats import names
from lograd.inputs import detect_format
from lograd.reader import block_entries
from lograd.outputs.report import to_json
from tests.test_chunking import HOSTILE_LINES

SEEDS = HOSTILE_LINES + [
    b"1565647204351 Aadvik Matina", b"1565647205 quark garak\t",
    b'{"ts": 1706091332123, "level": "error", "msg": "took 5ms", "cpu": 1.5}',
    b'{"@timestamp": "2024-01-24T10:15:32Z", "severity": "INFO", "message": null, "latency_ms": 3}']


@st.composite
def mutated(draw) -> bytes:
    """A real line with bytes flipped, inserted, deleted or repeated."""
    line = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.integers(0, 3))
        at = draw(st.integers(0, len(line)))
        if op == 0 and at < len(line):
            line[at] = draw(st.integers(0, 255))
        elif op == 1:
            line[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif op == 2:
            del line[at:at + draw(st.integers(1, 5))]
        else:
            line[at:at] = line[at:at + draw(st.integers(1, 12))] * draw(st.integers(1, 3))
    return bytes(line)


document = st.lists(st.one_of(mutated(), mutated(), st.binary(max_size=60)), max_size=25).map(
    lambda lines: b"\n".join(lines))


def exact_and_fast(fmt: str, data: bytes) -> tuple[Partial, Partial]:
    exact, fast = Partial(), Partial()
    if fmt == "app":
        exact.lines = add_lines(exact, data, 0, 0, None)
        add_app_fast(fast, data, 0, 0, None)
    else:
        exact.lines = add_conn_lines(exact, data, 0, 0, None, ConnCounts((b"quark",)))
        tally = HostTally((b"quark",))
        add_conn_fast(fast, data, 0, 0, None, ConnCounts((b"quark",)), tally)
        tally.into(fast)
    return exact, fast


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=document, fmt=st.sampled_from(["app", "conn"]))
def test_mutated_lines_never_crash_and_both_paths_agree(data, fmt):
    exact, fast = exact_and_fast(fmt, data)
    assert fast == exact
    assert len(block_entries(data, fmt)[0]) == exact.entries  # what follow mode buckets
    back = Partial.from_wire(msgpack.unpackb(msgpack.packb(fast.to_wire()), strict_map_key=False))
    assert back.to_wire() == fast.to_wire()
    report = build_report(fast, ["x.log"], fmt, hosts=(b"quark",))
    assert json.loads(to_json(report)) == json.loads(json.dumps(report, allow_nan=False))  # no NaN


@settings(max_examples=300, deadline=None)
@given(data=document)
def test_json_lines_never_crash(data):
    partial = Partial()
    partial.lines = add_json_lines(partial, data, 0, 0, None)
    assert partial.lines == partial.entries + partial.malformed + partial.blank
    assert len(block_entries(data, "json")[0]) == partial.entries
    json.loads(to_json(build_report(partial, ["x.log"], "app")))


@settings(max_examples=100, deadline=None)
@given(data=document)
def test_format_detection_takes_any_bytes(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("d") / "any.log"
    path.write_bytes(data)
    assert detect_format(str(path)) in names()


frames = st.lists(st.one_of(st.binary(max_size=40), st.sampled_from([protocol.VERSION, b"result", b"hello",
                                                                    b"assign", b"heartbeat"])),
                  max_size=4)
values = st.recursive(st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats() | st.text(max_size=8)
                      | st.binary(max_size=8),
                      lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=6), inner,
                                                                                   max_size=6),
                      max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(raw=frames, kind=st.sampled_from([b"hello", b"assign", b"release", b"result", b"failure", b"heartbeat",
                                          b"beat"]), body=values)
def test_frames_from_a_peer_raise_only_protocol_errors(raw, kind, body):
    for candidate in (raw, [protocol.VERSION, kind, msgpack.packb(body)]):
        try:
            protocol.decode(candidate)
        except protocol.ProtocolError:
            pass


def real_wire() -> dict:
    """A partial with every part filled: samples, seconds, minutes, sketch, resources, hosts."""
    partial = Partial()
    add_app_fast(partial, b"\n".join(HOSTILE_LINES * 3), 0, 0, None)
    partial.conn = ConnCounts((b"h",), 2, {b"a": 1}, {b"b": 1}, {b"h": {b"c": 1}}, {b"h": {b"d": 1}})
    return msgpack.unpackb(msgpack.packb(partial.to_wire()), strict_map_key=False)


@st.composite
def damaged_wire(draw) -> dict:
    """A real partial's wire form with parts of it replaced by anything."""
    wire = real_wire()
    for _ in range(draw(st.integers(1, 4))):
        node, key = wire, draw(st.sampled_from(sorted(wire)))
        while isinstance(node[key], (list, dict)) and node[key] and draw(st.booleans()):
            node = node[key]
            key = draw(st.sampled_from(sorted(node) if isinstance(node, dict) else range(len(node))))
        node[key] = draw(values)
    return wire


@settings(max_examples=800, deadline=None)
@given(wire=damaged_wire())
def test_partials_from_a_peer_raise_only_value_errors(wire):
    try:
        partial = Partial.from_wire(wire)
    except ValueError:
        return
    merged = Partial()
    merged.merge(partial)
    json.loads(to_json(build_report(merged, ["x.log"], "mixed", hosts=(b"h",))))
