"""`conn` logs (SPEC §1, §3): grammar, windows, ties, chunking, format detection (issue #5).

Expected answers come from ``oracle`` below: a direct reading of SPEC §3 over
the (time, source, target) triples the test itself wrote, independent of the
mergeable counts under test.
"""
import io
import random

import pytest
from hypothesis import given, settings, strategies as st

from lograd.aggregate import Partial

from lograd.formats.conn import add_conn_lines
from lograd.analyzer import Analyzer
from lograd.conn import MAX_HOST, ConnCounts
from lograd.formats.conn import newest_conn_entry, parse_conn_line
from lograd.inputs import SNIFF, detect_format
from lograd.reader import owned_blocks


@pytest.mark.parametrize("line, expected", [
    (b"1565647204351 Aadvik Matina", (1565647204351, b"Aadvik", b"Matina")),
    (b"1565647205 quark garak", (1565647205000, b"quark", b"garak")),
    (b"1565647205\tquark \t garak \t ", (1565647205000, b"quark", b"garak")),
    (b"99999999999 a b", (99999999999000, b"a", b"b")),        # below 10**11: seconds
    (b"100000000000 a b", (100000000000, b"a", b"b")),         # 10**11 and above: milliseconds
    (b"0 a b", (0, b"a", b"b")),
    (b"0001565647205 a b", (1565647205000, b"a", b"b")),
    (b"1 " + b"h" * MAX_HOST + b" x", (1000, b"h" * MAX_HOST, b"x")),
    (b"1 caf\xc3\xa9 \xff\xfe", (1000, b"caf\xc3\xa9", b"\xff\xfe")),
])
def test_conn_lines_that_parse(line, expected):
    assert parse_conn_line(line) == expected


@pytest.mark.parametrize("line", [
    b"", b"1565647205", b"1565647205 quark", b"1565647205 a b c", b"-5 a b", b"1.5 a b", b"x5 a b",
    b" 1565647205 a b", b"1 " + b"h" * (MAX_HOST + 1) + b" x", b"12345678901234567 a b",
    b"253402300800000 a b",  # the year 10000
    b"2024-01-24 10:15:32 INFO hello",
])
def test_conn_lines_that_are_malformed(line):
    assert parse_conn_line(line) is None


def oracle(triples, hosts=(), last=None):
    """SPEC §3 conn answers from (ms, source, target) triples, for each host asked."""
    newest = max((t for t, _, _ in triples), default=None)
    inside = [(t, s, d) for t, s, d in triples if last is None or t >= newest - last * 1000]
    sources, targets = {}, {}
    asked = {h: {"connected_to_host": {}, "connected_from_host": {}} for h in hosts}
    for _, s, d in inside:
        sources[s] = sources.get(s, 0) + 1
        targets[d] = targets.get(d, 0) + 1
        for host, peers in asked.items():
            if d == host:
                peers["connected_to_host"][s] = peers["connected_to_host"].get(s, 0) + 1
            if s == host:
                peers["connected_from_host"][d] = peers["connected_from_host"].get(d, 0) + 1

    def top(counts):
        most = max(counts.values(), default=0)
        return {"hosts": sorted(h for h, n in counts.items() if n == most) if most else [], "connections": most}
    one = asked[hosts[0]] if len(hosts) == 1 else {"connected_to_host": {}, "connected_from_host": {}}
    return {"in_window": len(inside), **one, "hosts_asked": asked,
            "top_sources": top(sources), "top_targets": top(targets)}


def chunks_of(data: bytes, chunk_size: int):
    """Each chunk's owned lines, as the worker reads them (small blocks: many block edges)."""
    f = io.BytesIO(data)
    for start in range(0, len(data), chunk_size):
        yield [(bytes(block), base) for block, base in owned_blocks(f, start, min(chunk_size, len(data) - start), 64)]


def report_of(data: bytes, chunk_size: int, hosts=(), last=None, seed=0) -> dict:
    """The coordinator's two passes in process: scan each chunk for its newest entry
    (with --last), then summarise the chunks with the window, merged in a shuffled order."""
    window = None
    if last is not None:
        newest = max((t for chunk in chunks_of(data, chunk_size) for block, _ in chunk
                      if (t := newest_conn_entry(block)) is not None), default=None)
        window = (0, -1) if newest is None else (newest - last * 1000, newest)
    partials = []
    for chunk in chunks_of(data, chunk_size):
        p = Partial()
        for block, base in chunk:
            p.lines += add_conn_lines(p, block, base, 0, window, ConnCounts(tuple(h.encode() for h in hosts)))
        partials.append(p)
    random.Random(seed).shuffle(partials)
    analyzer = Analyzer(["f"], fmt="conn", window_length_ms=last and last * 1000, hosts=tuple(h.encode() for h in hosts))
    for i, p in enumerate(partials):
        analyzer.update_metrics(p.to_wire(), i)
    return analyzer.get_current_metrics()


def answers(report):
    return {k: report[k] for k in ("in_window", "connected_to_host", "connected_from_host", "hosts_asked",
                                   "top_sources", "top_targets")}


HOSTS = ["quark", "garak", "Matina", "Aadvik", "odo", "caf\u00e9"]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(1_565_647_000_000, 1_565_647_400_000), st.sampled_from(HOSTS),
                          st.sampled_from(HOSTS), st.booleans()), min_size=1, max_size=40),
       st.sampled_from([(), ("quark",), ("nobody",), ("quark", "garak", "nobody")]),
       st.sampled_from([None, 0, 5, 60, 300]), st.integers(1, 200), st.integers(0, 100))
def test_any_chunking_gives_the_spec_answers(entries, hosts, last, chunk_size, seed):
    lines, triples = [], []
    for ms, s, d, in_seconds in entries:  # out of order, seconds and milliseconds mixed
        if in_seconds:
            ms -= ms % 1000
            lines.append(f"{ms // 1000} {s} {d}".encode())
        else:
            lines.append(f"{ms} {s} {d}".encode())
        triples.append((ms, s, d))
    lines.insert(len(lines) // 2, b"not a connection")
    data = b"\n".join(lines) + b"\n"
    got = report_of(data, chunk_size, hosts, last, seed)
    assert answers(got) == oracle(triples, hosts, last)
    assert (got["entries"], got["malformed_lines"], got["lines"]) == (len(triples), 1, len(triples) + 1)
    assert got["host"] == (hosts[0] if len(hosts) == 1 else None)  # SPEC's key: the one host asked


def test_window_edges_are_inclusive_and_out_of_order_lines_count():
    data = (b"1000000000 a x\n"        # newest - 10 s: exactly on the edge of --last 10, inside
            b"1000000010000 b y\n"     # the newest entry (ms)
            b"999999999999 c z\n"      # 1 ms before the edge: outside
            b"1000000005 d y\n")       # out of order, inside
    got = report_of(data, 7, last=10)
    assert got["in_window"] == 3
    assert got["window"] == {"start": "2001-09-09T01:46:40.000", "end": "2001-09-09T01:46:50.000"}
    assert got["top_targets"] == {"hosts": ["y"], "connections": 2}
    assert got["first_timestamp"] == "2001-09-09T01:46:39.999"  # the whole input, not the window


def test_ties_list_every_host_sorted_by_code_point():
    data = b"".join(f"1565647205 {s} {d}\n".encode() for s, d in
                    [("b", "x"), ("a", "y"), ("B", "z"), ("a", "x"), ("b", "y"), ("B", "z")])
    got = report_of(data, 1000)
    assert got["top_sources"] == {"hosts": ["B", "a", "b"], "connections": 2}
    assert got["top_targets"] == {"hosts": ["x", "y", "z"], "connections": 2}


def test_empty_window_answers():
    got = report_of(b"bad\n\n", 100, hosts=("quark",), last=60)
    assert answers(got) == {"in_window": 0, "connected_to_host": {}, "connected_from_host": {},
                            "hosts_asked": {"quark": {"connected_to_host": {}, "connected_from_host": {}}},
                            "top_sources": {"hosts": [], "connections": 0},
                            "top_targets": {"hosts": [], "connections": 0}}
    assert got["window"] is None and got["entries"] == 0 and got["blank_lines"] == 1


@pytest.mark.parametrize("head, expected", [
    (b"1565647204351 a b\n" * 3 + b"2024-01-24 10:15:32 INFO x\n", "conn"),
    (b"2024-01-24 10:15:32 INFO x\n" * 2 + b"1565647204351 a b\n", "app"),
    (b"2024-01-24 10:15:32 INFO x\n1565647204351 a b\n", "app"),  # a tie goes to app
    (b"", "app"),
    (b"garbage\n" * 5 + b"1 a b\n", "conn"),
])
def test_format_is_decided_by_the_lines_that_parse(tmp_path, head, expected):
    path = tmp_path / "x.log"
    path.write_bytes(head)
    assert detect_format(str(path)) == expected


def test_a_line_cut_at_64_kib_is_not_counted(tmp_path):
    app = b"2024-01-24 10:15:32 INFO x\n"
    conn_line = b"1565647204351 a b\n"
    filler = b"\n" * (SNIFF - len(app) - 15)
    data = app + filler + b"1565647204 a bc"  # the conn line is cut at 64 KiB
    path = tmp_path / "cut.log"
    path.write_bytes(data + b"d\n" + conn_line * 3)
    assert len(data) == SNIFF
    assert detect_format(str(path)) == "app"


def test_human_report_lists_hosts_by_count_and_cuts_long_lists():
    from lograd.outputs.report import LONGEST_LIST, human
    lines = [f"1565647205 h{i:02d} quark" for i in range(LONGEST_LIST + 5) for _ in range(i + 1)]
    report = report_of(("\n".join(lines) + "\n").encode(), 4096, hosts=("quark",))
    text = human(report)
    section = text.split("Connected to quark\n")[1].split("\n\n")[0].splitlines()
    busiest = LONGEST_LIST + 4  # h14 made the most connections (15)
    assert section[0].split() == [f"h{busiest:02d}", str(busiest + 1)]
    counts = [int(row.split()[1]) for row in section[:LONGEST_LIST]]
    assert counts == sorted(counts, reverse=True)
    assert section[LONGEST_LIST] == "  ... and 5 more"
    assert "most connected-to target: quark" in text


def test_generated_conn_logs_are_skewed_out_of_order_and_all_entries(tmp_path):
    from lograd.generate import CONN_MAX_LATE_MS, generate_test_logs
    path = tmp_path / "connections.log"
    generate_test_logs(0, str(path), seed=3, lines=20_000, fmt="conn", hosts=200, rate=100)
    triples = [parse_conn_line(line) for line in path.read_bytes().splitlines()]
    assert len(triples) == 20_000 and None not in triples
    assert detect_format(str(path)) == "conn"
    times = [t for t, _, _ in triples]
    backwards = max(a - b for a, b in zip(times, times[1:]))  # how far a line is behind the one before it
    assert 60_000 < backwards <= CONN_MAX_LATE_MS + 1000
    counts = {}
    for _, s, _ in triples:
        counts[s] = counts.get(s, 0) + 1
    ranked = sorted(counts.values(), reverse=True)
    assert ranked[0] > 10 * ranked[len(ranked) // 2]  # a few very busy hosts, a long tail
    assert len(counts) > 100


def test_generated_json_logs_use_the_aliases_and_read_like_their_app_twin(tmp_path):
    from lograd.generate import generate_test_logs
    from lograd.formats.jsonlines import LEVEL_KEYS, MESSAGE_KEYS, RESPONSE_KEYS, TIME_KEYS
    spec_aliases = {"timestamp", "time", "ts", "@timestamp", "level", "severity", "lvl", "message", "msg",
                    "response_time_ms", "duration_ms", "latency_ms"}  # SPEC §1's json keys
    assert spec_aliases <= set(TIME_KEYS + LEVEL_KEYS + MESSAGE_KEYS + RESPONSE_KEYS)
    app, js = tmp_path / "app.log", tmp_path / "json.log"
    generate_test_logs(0, str(app), "error_spike", seed=4, lines=3000)
    generate_test_logs(0, str(js), "error_spike", seed=4, lines=3000, fmt="json")
    import json
    keys = set().union(*(json.loads(line) for line in js.read_bytes().splitlines()))
    assert spec_aliases <= keys
    assert detect_format(str(js)) == "json"
    from lograd.formats.jsonlines import add_json_lines
    from lograd.formats.app import summarise_app
    p = Partial()
    p.lines = add_json_lines(p, js.read_bytes(), 0, 0, None)
    a = summarise_app(app.read_bytes())
    # same entries, levels, times and response times; messages differ where the time became a key
    assert (p.entries, p.levels, p.first_ms, p.last_ms, p.rt_count, p.rt_total) == \
        (a.entries, a.levels, a.first_ms, a.last_ms, a.rt_count, a.rt_total)


def test_the_newest_entry_scan_reads_seconds_milliseconds_and_crlf():
    assert newest_conn_entry(b"1565647205 a b\r\n1565647204999 c d\nbad\n1565647205001 e f x\n") == 1565647205000
    assert newest_conn_entry(b"bad\n\n") is None
