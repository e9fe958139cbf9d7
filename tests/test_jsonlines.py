"""`json` lines (SPEC §1): the key rules, and "then analysed exactly like app" (issue #5)."""
import json

import pytest
from hypothesis import given, settings, strategies as st

from lograd.aggregate import Partial

from lograd.formats.jsonlines import add_json_lines

from lograd.formats.app import summarise_app
from lograd.formats.jsonlines import json_entries, number_fixed, parse_json_line
from lograd.parsing import to_fixed


def entry(obj) -> object:
    return parse_json_line(json.dumps(obj).encode())


@pytest.mark.parametrize("obj, ms", [
    ({"timestamp": "2024-01-24T10:15:32.123", "level": "INFO"}, 1706091332123),
    ({"time": "2024-01-24 10:15:32Z", "level": "info"}, 1706091332000),
    ({"ts": "2024-01-24T12:15:32+02:00", "level": "info"}, 1706091332000),
    ({"@timestamp": 1706091332123, "level": "info"}, 1706091332123),     # ms
    ({"@timestamp": 1706091332, "level": "info"}, 1706091332000),        # seconds
    ({"ts": "2024-01-24T10:15:32", "timestamp": 5, "level": "info"}, 5000),  # timestamp is looked up first
])
def test_timestamps_by_alias_iso_or_number(obj, ms):
    assert entry(obj).timestamp_ms == ms


@pytest.mark.parametrize("line", [
    b'[1, 2]', b'"text"', b'{"ts": "2024-01-24T10:15:32", "level": "info"',  # not an object
    b'{"ts": "2024-02-30T10:15:32", "level": "info"}', b'{"level": "info"}',   # no valid timestamp
    b'{"ts": -1.5, "level": "info"}', b'{"ts": -5, "level": "info"}', b'{"ts": true, "level": "info"}',
    b'{"ts": 5, "level": 35}', b'{"ts": 5, "level": true}', b'{"ts": 5, "log": {"level": "loud"}}',
    b'{"ts": 5, "level": "info", "x": NaN}', b'{"ts": 5, "level": "info", "x": -Infinity}',
    b'{"ts": 5, "level": "info", "msg": "caf\xff"}',                           # invalid UTF-8
    b'{"ts": 5}', b'{"ts": 5, "level": "LOUD"}', b'{"ts": 5, "level": 3}',     # level: decisions
    b'{"ts": 5, "level": "info", "msg": 42}',                                 # message: a decision
    b'2024-01-24 10:15:32 INFO app line', b'',
])
def test_malformed_json_lines(line):
    assert parse_json_line(line) is None


@pytest.mark.parametrize("line, ms, level, rt", [
    # pino / bunyan: numeric levels, epoch ms, responseTime in ms
    (b'{"level":30,"time":1706091332123,"pid":42,"msg":"request completed","responseTime":12}',
     1706091332123, "INFO", 12 * 10**9),
    (b'{"level":50,"time":1706091332123,"msg":"x"}', 1706091332123, "ERROR", None),
    # zap: float epoch seconds (truncated to the millisecond)
    (b'{"level":"error","ts":1706091332.1239,"caller":"h.go:42","msg":"failed in 5ms"}',
     1706091332123, "ERROR", 5 * 10**9),
    # ECS: dotted level, nanosecond ISO time, event.duration in nanoseconds
    (b'{"@timestamp":"2024-01-24T10:15:32.123456789Z","log.level":"warn","message":"slow",'
     b'"event":{"duration":1500000}}', 1706091332123, "WARN", 1_500_000_000),
    (b'{"@timestamp":"2024-01-24T10:15:32Z","log":{"level":"ERROR"},"message":"x"}', 1706091332000, "ERROR", None),
    # integer epochs by magnitude: s, ms, us, ns
    (b'{"ts":1706091332,"level":"info"}', 1706091332000, "INFO", None),
    (b'{"ts":1706091332123456,"level":"info"}', 1706091332123, "INFO", None),
    (b'{"ts":1706091332123456789,"level":"info"}', 1706091332123, "INFO", None),
    # Serilog compact, Python json logger
    (b'{"@t":"2024-01-24T10:15:32.123Z","@l":"Information","@m":"took 3ms"}', 1706091332123, "INFO", 3 * 10**9),
    (b'{"time":"2024-01-24T10:15:32","levelname":"WARNING","message":"x","elapsed_ms":2.5}',
     1706091332000, "WARN", 2_500_000_000),
])
def test_widened_json_pino_zap_ecs_serilog(line, ms, level, rt):
    e = parse_json_line(line)
    assert (e.timestamp_ms, e.level, e.response_time) == (ms, level, rt)


def test_level_message_and_response_time_aliases():
    e = entry({"ts": 5, "severity": "Warning", "lvl": "error", "msg": "took 9ms", "message": "in 7ms"})
    assert (e.level, e.message, e.response_time) == ("WARN", b"in 7ms", to_fixed(b"7"))
    e = entry({"ts": 5, "level": "info", "msg": None})
    assert (e.message, e.response_time) == (b"", None)
    # a response-time key wins over the message, the first alias over later ones
    e = entry({"ts": 5, "level": "info", "msg": "in 7ms", "latency_ms": 3, "duration_ms": 2.25})
    assert e.response_time == number_fixed("2.25") == 2_250_000_000
    # a response-time key that is not a number leaves the message's rule (a decision)
    e = entry({"ts": 5, "level": "info", "msg": "in 7s", "response_time_ms": None})
    assert e.response_time == to_fixed(b"7", 3)


def test_numeric_keys_and_message_tokens_are_metrics_booleans_and_aliases_are_not():
    e = entry({"ts": 5, "level": "info", "msg": "usage cpu=50%", "mem": 1024, "load": -0.25,
               "ok": True, "name": "x", "nested": {"a": 1}, "latency_ms": 4})
    assert sorted(e.metrics) == [("cpu", 50 * 10**9), ("load", -250_000_000), ("mem", 1024 * 10**9)]


@pytest.mark.parametrize("text", ["0", "-0", "12", "1.5", "-2.5e-3", "1E+2", "0.0000000019", "-1.9999999999",
                                  "123456789.123456789123", "1e30", "-1e30"])
def test_json_numbers_become_fixed_exactly_like_message_numbers(text):
    from decimal import Decimal
    value = Decimal(text)
    expected = int(value.scaleb(9)) if abs(value) < Decimal(10) ** 24 else (10 ** 33) * (1 if value > 0 else -1)
    assert number_fixed(text) == expected


APP = st.builds(
    lambda s, lvl, words: (s, lvl, " ".join(words)),
    st.integers(1_706_000_000_000, 1_706_100_000_000), st.sampled_from(["INFO", "ERROR", "warn", "Debug"]),
    st.lists(st.sampled_from(["Request", "in", "127ms", "took", "0.5s", "cpu=87.5%", "mem=1024MB", "x=-3",
                              "latency=3us", "caf\u00e9", "done"]), max_size=5))


@settings(max_examples=100, deadline=None)
@given(st.lists(APP, min_size=1, max_size=20))
def test_json_lines_are_analysed_exactly_like_the_same_app_lines(entries):
    from lograd.timestamps import format_ms
    app = "\n".join(f"{format_ms(ms)} {lvl} {msg}".rstrip() for ms, lvl, msg in entries).encode()
    lines = "\n".join(json.dumps({"ts": format_ms(ms), "level": lvl, "msg": msg}) for ms, lvl, msg in entries)
    partial = Partial()
    partial.lines = add_json_lines(partial, lines.encode(), 0, 0, None)
    assert without_examples(partial) == without_examples(summarise_app(app))


def without_examples(partial: Partial) -> Partial:
    """``partial`` without its templates' example offsets: the same entries lie at other
    offsets of a file of another format."""
    for group in partial.templates.groups:
        for figures in group.values():
            figures.example = None
    return partial


JSON_SEEDS = [
    b'{"timestamp": 1706091332018, "level": "INFO", "message": "Request processed in 136ms"}',
    b'{"time": "2024-01-24T10:15:32.032Z", "severity": "info", "msg": "GET /x done", "duration_ms": 82}',
    b'{"@timestamp":"2024-01-24T10:15:32.1234567+02:00","log.level":"warn","message":"cpu=5%",'
    b'"event.duration":1500000}',
    b'{"level":30,"time":1706091332123,"pid":42,"msg":"request completed","responseTime":12.75}',
    b'{"level":"error","ts":1706091332.123456,"msg":"failed in 2.5s","n":-0.5,"b":true,"z":null}',
    b'{"@t":"2024-01-24T10:15:32Z","@l":"Error","@m":"x=1 y=-2.5kb","elapsed_ms":3,"big":123456789012}',
]
MUTATION_BYTES = b'{}[]":,.-+0123456789eE \t\\=\rZTnul\x7f\x01\xc2\xb5'


def mutated(seeds):
    """Lines made from ``seeds`` by a few byte edits from a hostile alphabet."""
    edit = st.tuples(st.sampled_from(["set", "insert", "delete"]), st.integers(0, 200),
                     st.sampled_from(list(MUTATION_BYTES)))

    def apply(args):
        line, edits = args
        b = bytearray(line)
        for op, at, byte in edits:
            at = min(at, len(b))
            if op == "insert":
                b.insert(at, byte)
            elif b:
                at = min(at, len(b) - 1)
                if op == "set":
                    b[at] = byte
                else:
                    del b[at]
        return bytes(b)
    return st.tuples(st.sampled_from(seeds), st.lists(edit, max_size=4)).map(apply)


JSON_VALUES = st.fixed_dictionaries({}, optional={
    "ts": st.sampled_from([1706091332123, 1706091332, 1706091332.5, "2024-01-24T10:15:32.123Z", "2024-02-30T00:00:00",
                           -5, True]),
    "level": st.sampled_from(["info", "ERROR", "warn", 30, 50, 35, "Information", "loud"]),
    "msg": st.sampled_from(["Request processed in 127ms", "took 0.5s cpu=87.5% mem=1024MB", "a\nb in 3ms",
                            "x=99999999999999999999", "in 1." + "5" * 25 + "ms", "", None, 42, "a\rb in 2ms\r"]),
    "latency_ms": st.sampled_from([12.5, 10 ** 30, None, "7"]),
    "pid": st.sampled_from([42, 10 ** 25, -0.25, True]),
})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(JSON_VALUES.map(lambda o: json.dumps(o).encode()), mutated(JSON_SEEDS),
                          st.sampled_from([b"not json", b"  ", b'{"ts": 5, "level": "info", "x": NaN}'])),
                min_size=1, max_size=20),
       st.sampled_from([None, (1706091332000, 1706091332999)]))
def test_the_compiled_json_path_equals_the_exact_one(lines, window):
    from lograd.formats.jsonlines import add_json_fast
    data = b"\n".join(lines)
    exact, fast = Partial(), Partial()
    exact.lines = add_json_lines(exact, data, 5, 1, window)
    add_json_fast(fast, data, 5, 1, window)
    assert fast == exact
    same_entries(data, json_entries(data), parse_json_line)  # --last's heads-only reading too


def same_entries(data: bytes, compiled, parse) -> None:
    """The compiled heads-only reading of a block (--last) gives the exact path's entries."""
    from lograd.formats import entries_of
    order = lambda entries: sorted(zip(*(column.tolist() for column in entries)))
    assert order(compiled) == order(entries_of(data, parse))


@pytest.mark.parametrize("line, ms", [
    # more digits than Decimal's 28-digit context: still truncated, never rounded up a millisecond
    (b'{"ts": 1706091332.9999999999999999999999999, "level": "info"}', 1706091332999),
    (b'{"ts": 1706091332123456.9, "level": "info"}', 1706091332123),  # microseconds
    (b'{"ts": 1e9999999999999999999, "level": "info"}', None),  # past Decimal: malformed, no traceback
    (b'{"ts": 1.5e999999, "level": "info"}', None),             # past the year 9999
])
def test_epoch_numbers_are_read_exactly_and_never_raise(line, ms):
    entry_ = parse_json_line(line)
    assert (entry_ and entry_.timestamp_ms) == ms


def test_a_number_too_big_for_any_field_saturates_like_the_app_path():
    entry_ = parse_json_line(b'{"ts": 1, "level": "info", "n": 1e999999999, "latency_ms": 2.5e2}')
    assert dict(entry_.metrics)["n"] == to_fixed(b"9" * 40)  # the saturated value app gives
    assert entry_.response_time == to_fixed(b"250")
