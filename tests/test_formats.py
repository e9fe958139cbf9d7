"""The line formats beyond app: `text` (framework logs, every timestamp shape, levels, continuation
lines) and `logfmt`; the hand-written samples of test_vectors/formats/ for every format.
Hand-written samples in test_vectors/formats/ with reports worked out by hand;
the compiled path held to the exact per-line path; continuation lines decided
the same for every chunk size (SPEC §2), including chunks that start inside a
stack trace.
"""
import io
import json
import os
import random
from datetime import datetime, timezone

import pytest
from hypothesis import given, settings, strategies as st

from lograd.aggregate import Partial
from lograd.analyzer import Analyzer
from lograd.formats import Reading, get
from lograd.formats.text import add_text_lines, parse_text_line
from lograd.inputs import detect
from lograd.parsing import MAX_LINE
from lograd.reader import owned_blocks, record_blocks

from .test_jsonlines import mutated, same_entries

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMATS_DIR = os.path.join(ROOT, "test_vectors", "formats")
with open(os.path.join(ROOT, "test_vectors", "formats.expected.json")) as _f:
    EXPECTED = {k: v for k, v in json.load(_f).items() if not k.startswith("_")}


def ms(text: str) -> int:
    """Epoch ms of an ISO time read as UTC, by the standard library (independent of lograd)."""
    return int(datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp() * 1000)


REF = ms("2024-06-01T00:00:00")


def summarise(data: bytes, start: int, size: int, exact: bool, reference_ms: int = REF,
              block_size: int = 64, fmt: str = "text") -> Partial:
    """One chunk of a document, in small blocks, as a worker reads it (``exact``: by the
    `text` per-line path instead of the compiled one)."""
    partial = Partial()
    reading = Reading(0, None, reference_ms)
    goes_on = getattr(get(fmt), "record_goes_on", None)
    f = io.BytesIO(data)
    blocks = (owned_blocks(f, start, size, block_size) if goes_on is None
              else record_blocks(f, start, size, goes_on, block_size))
    for block, base in blocks:
        if exact:
            add_text_lines(partial, bytes(block), base, 0, None, reference_ms)
        else:
            get(fmt).add_block(partial, bytes(block), base, reading, None)
    get(fmt).finish(partial, reading)
    return partial


def report_by_chunks(data: bytes, chunk_size: int, exact: bool = False, seed: int = 0,
                     reference_ms: int = REF, fmt: str = "text") -> dict:
    """Cut into chunks, summarise each, merge in a shuffled order: the report."""
    parts = [(s, summarise(data, s, min(chunk_size, len(data) - s), exact, reference_ms, fmt=fmt))
             for s in range(0, len(data), chunk_size)]
    random.Random(seed).shuffle(parts)
    analyzer = Analyzer(["f"], fmt=fmt)
    for chunk_id, partial in parts:
        analyzer.update_metrics(partial.to_wire(), chunk_id)
    return analyzer.get_current_metrics()


def pick(report, path):
    node = report
    for part in path.replace("]", "").split("."):
        name, _, index = part.partition("[")
        node = node[name]
        if index:
            node = node[int(index)]
    return node


# -- every timestamp shape, checked against the standard library's reading -------------------


@pytest.mark.parametrize("line, when, level, message", [
    (b"2015-10-18 18:01:47,978 INFO [main] o.a.h.MRAppMaster: Created", "2015-10-18T18:01:47.978", "INFO",
     b"[main] o.a.h.MRAppMaster: Created"),
    (b"2024-01-24 10:15:33,001 - db - ERROR - Database connection failed", "2024-01-24T10:15:33.001", "ERROR",
     b"Database connection failed"),
    (b"2024-01-24T10:15:32.123+01:00 ERROR 12345 --- [main] c.e.App : msg", "2024-01-24T09:15:32.123", "ERROR",
     b"12345 --- [main] c.e.App : msg"),
    (b"[2024-01-24 10:15:32,123] WARN [Log partition=x] took 5ms", "2024-01-24T10:15:32.123", "WARN",
     b"[Log partition=x] took 5ms"),
    (b"2024/01/24 10:15:32 [error] 1234#0: *5 open() failed", "2024-01-24T10:15:32", "ERROR",
     b"1234#0: *5 open() failed"),
    (b"17/06/09 20:10:40 INFO executor.Executor: Running", "2017-06-09T20:10:40", "INFO", b"executor.Executor: Running"),
    (b"Jun 14 15:16:01 combo sshd[19939]: authentication failure", "2023-06-14T15:16:01", "NONE",
     b"combo sshd[19939]: authentication failure"),
    (b"Jan  4 09:00:00.250 host app: notice: rotated", "2024-01-04T09:00:00.250", "NOTICE", b"rotated"),
    (b"E0124 10:15:32.123456    1234 server.go:42] refused", "2024-01-24T10:15:32.123", "ERROR",
     b"1234 server.go:42] refused"),
    (b"[Sun Dec 04 04:47:44 2005] [error] mod_jk child", "2005-12-04T04:47:44", "ERROR", b"mod_jk child"),
    (b"[Wed Jan 24 10:15:32.123456 2024] [core:crit] [pid 1] AH1", "2024-01-24T10:15:32.123", "CRITICAL",
     b"[pid 1] AH1"),
    (b"20171223-22:15:29:606|Step_LSC|30002312|onStandStepChanged 3579", "2017-12-23T22:15:29.606", "NONE",
     b"Step_LSC|30002312|onStandStepChanged 3579"),
    (b"03-17 16:13:38.811  1702  2395 D WindowManager: printFreezing", "2024-03-17T16:13:38.811", "DEBUG",
     b"WindowManager: printFreezing"),
    (b"2016-09-28 04:30:30, Info                  CBS    Loaded", "2016-09-28T04:30:30", "INFO", b"CBS    Loaded"),
    (b"2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:2181:Fast@774] - Notification", "2015-07-29T17:41:44.747",
     "INFO", b"[QuorumPeer[myid=1]/0:0:2181:Fast@774] - Notification"),
    (b"2024-01-24 10:15:32 [INFO ] padded", "2024-01-24T10:15:32", "INFO", b"padded"),
    (b"2024-01-24 10:15:32 level=warning msg=x", "2024-01-24T10:15:32", "WARN", b"msg=x"),
    (b"2024-01-24 10:15:32 <Severe> jul", "2024-01-24T10:15:32", "ERROR", b"jul"),
    (b"2024-01-24 10:15:32 alone", "2024-01-24T10:15:32", "NONE", b"alone"),
    (b"2024-01-24 10:15:32", "2024-01-24T10:15:32", "NONE", b""),
])
def test_each_timestamp_shape_and_level_form(line, when, level, message):
    # the reference (2024-06-01) dates stamps without a year: Jun 14 is in the past year
    assert parse_text_line(line, REF) == (ms(when), level, message)


@pytest.mark.parametrize("line", [
    b"java.lang.RuntimeException: boom", b"\tat o.e.H.run(H.java:42)", b"2024-02-30 10:00:00 INFO x",
    b"2024-01-24 24:00:00 INFO x", b"2024-01-24 10:15:32.1234567890 INFO x", b"2024-01-24 10:15:32x INFO",
    b"Jun 14 25:16:01 host x", b"jun 14 15:16:01 host x", b"X0124 10:15:32.1 x", b"Foo Dec 04 04:47:44 2005 x",
    b"[2024-01-24 10:15:32 INFO x", b"2024-01-24 10:15:32+25:00 INFO x", b"Feb 30 10:00:00 h x",
])
def test_lines_that_are_not_entries(line):
    assert parse_text_line(line, REF) is None


def test_a_stamp_without_a_year_is_never_put_in_the_future():
    # a file written on 3 January: 31 December is the year before, 2 January this year,
    # 29 February the last leap year at or before then
    jan3 = ms("2025-01-03T12:00:00")
    assert parse_text_line(b"Dec 31 23:59:59 h x", jan3)[0] == ms("2024-12-31T23:59:59")
    assert parse_text_line(b"Jan  2 00:00:00 h x", jan3)[0] == ms("2025-01-02T00:00:00")
    assert parse_text_line(b"Feb 29 00:00:00 h x", jan3)[0] == ms("2024-02-29T00:00:00")
    assert parse_text_line(b"Jan  4 11:00:00 h x", jan3)[0] == ms("2025-01-04T11:00:00")  # within a day
    assert parse_text_line(b"Jan  5 00:00:00 h x", jan3)[0] == ms("2024-01-05T00:00:00")


# -- the hand-written samples ------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_give_their_hand_worked_reports_at_every_chunk_size(name):
    with open(os.path.join(FORMATS_DIR, name), "rb") as f:
        data = f.read()
    case = EXPECTED[name]
    fmt, ref = case["format"], ms(case["reference"])
    whole = report_by_chunks(data, len(data), exact=fmt == "text", reference_ms=ref, fmt=fmt)
    for key, want in case["want"].items():
        got = pick(whole, key)
        assert got == pytest.approx(want) if isinstance(want, float) else got == want, key
    assert whole["lines"] == (whole["entries"] + whole["malformed_lines"] + whole["blank_lines"]
                              + whole["continuation_lines"])
    for size in (1, 3, 17, 64, 100, len(data) - 1):
        assert report_by_chunks(data, size, seed=size, reference_ms=ref, fmt=fmt) == whole, size


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_samples_are_detected_as_their_format(name, tmp_path):
    path = tmp_path / name
    path.write_bytes(open(os.path.join(FORMATS_DIR, name), "rb").read())
    stamp = ms(EXPECTED[name]["reference"]) / 1000
    os.utime(path, (stamp, stamp))
    found = detect(str(path))
    assert (found.format, found.known) == (EXPECTED[name]["format"], True)


def test_app_logs_keep_the_strict_app_format(tmp_path):
    # malformed.log: app parses 200 of 230 lines; text would take 4 more (lines with
    # unknown level words), but a strict format parsing at least half wins
    found = detect(os.path.join(ROOT, "test_vectors", "logs", "malformed.log"))
    assert found.format == "app" and found.known
    path = tmp_path / "garbage.log"
    path.write_bytes(b"hello\nworld\n")
    assert not detect(str(path)).known


# -- continuation lines across chunks ---------------------------------------------------------

TRACE = [b"java.lang.IllegalStateException: boom", b"\tat a.B.c(B.java:1)", b"Caused by: x.Y: z",
         b"\t... 3 more", b"Traceback (most recent call last):", b'  File "x.py", line 1, in f']
TEXT_LINES = [
    b"2024-01-24 10:15:32,123 INFO [main] a.B: Request processed in 127ms",
    b"2024-01-24 10:15:33,001 - db - ERROR - failed after retry in 3s took 120ms",
    b"Jan 24 10:15:34 web01 sshd[1]: error: x=1.5 cpu=87.5% mem=1024MB",
    b"E0124 10:15:35.123456 1 a.go:1] duration=12.5ms",
    b"[Sun Dec 04 04:47:44 2005] [notice] ok",
    b"2024/01/24 10:16:00 [warn] 1#0: latency:7ms",
    b"2024-01-24T10:16:01Z level=fatal took 1234567890123456789ms",
    b"2024-01-24 10:16:02 NONE x=12345678901234567890",
    b"", b" \t", b"\r", b"\x00\x0b", b"garbage before anything",
    b"2024-02-30 10:00:00 INFO bad date", b"caf\xc3\xa9 \xff\xfe",
] + TRACE


def test_a_chunk_starting_inside_a_stack_trace_reads_it_as_the_whole_file_would():
    data = b"\n".join([b"header", TEXT_LINES[0], *TRACE, TEXT_LINES[1], *TRACE]) + b"\n"
    whole = report_by_chunks(data, len(data), exact=True)
    assert (whole["entries"], whole["continuation_lines"], whole["malformed_lines"]) == (2, 12, 1)
    assert whole["malformed_samples"][0]["text"] == "header"
    for size in range(1, 80):
        assert report_by_chunks(data, size, seed=size) == whole, size


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(TEXT_LINES), min_size=1, max_size=40), st.integers(1, 90),
       st.booleans(), st.integers(0, 10**6))
def test_property_compiled_equals_exact_and_chunking_never_changes_the_report(lines, size, final_newline, seed):
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    exact = summarise(data, 0, len(data), exact=True, block_size=1 << 20)
    fast = summarise(data, 0, len(data), exact=False, block_size=1 << 20)
    assert fast == exact
    whole = report_by_chunks(data, len(data) or 1, exact=True)
    assert report_by_chunks(data, size, seed=seed) == whole


def test_an_over_long_line_is_malformed_even_inside_a_stack_trace():
    data = b"\n".join([TEXT_LINES[0], b"\tat " + b"x" * MAX_LINE, TRACE[1]]) + b"\n"
    whole = report_by_chunks(data, len(data), exact=True)
    assert (whole["entries"], whole["malformed_lines"], whole["continuation_lines"]) == (1, 1, 1)
    assert report_by_chunks(data, 4096) == whole


def test_help_lists_every_registered_format_with_its_example():
    from lograd.cli import COORDINATOR_USAGE, FORMAT_NAMES
    from lograd.formats import formats
    assert FORMAT_NAMES == tuple(formats())
    for name, fmt in formats().items():
        assert f"  {name:<6} {fmt.example}" in COORDINATOR_USAGE, name


# -- logfmt ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, when, level, message, rt", [
    (b'time=2024-01-24T10:15:32.123Z level=error msg="upstream \\"db\\" timed out" duration=1.5s',
     "2024-01-24T10:15:32.123", "ERROR", b'upstream "db" timed out', 1500),
    (b'ts=1706091332 lvl=Warn msg="a\\nb" latency=1m2.5s', "2024-01-24T10:15:32", "WARN", b"a\nb", 62500),
    (b'ts=1706091332123 msg="took 7ms"', "2024-01-24T10:15:32.123", "NONE", b"took 7ms", 7),
    (b't=2024-01-24T10:15:32Z level=loud elapsed_ms=2.25', "2024-01-24T10:15:32", "NONE", b"", 2.25),
    (b'time=2024-01-24T10:15:32Z level=info duration=350\xc2\xb5s flag', "2024-01-24T10:15:32", "INFO", b"", 0.35),
    (b'time=2024-01-24T10:15:32Z level=info duration=12', "2024-01-24T10:15:32", "INFO", b"", None),  # no unit
])
def test_logfmt_lines(line, when, level, message, rt):
    from lograd.formats.logfmt import parse_logfmt_line
    from lograd.parsing import FIXED_ONE
    e = parse_logfmt_line(line)
    assert (e.timestamp_ms, e.level, e.message) == (ms(when), level, message)
    assert e.response_time == (None if rt is None else round(rt * FIXED_ONE))


@pytest.mark.parametrize("line", [b"hello world", b"time=2024-01-24T10:15:32Z", b'time=2024-01-24T10:15:32Z msg="open',
                                  b"level=info msg=x", b"time=yesterday level=info", b'a="b"c d=1',
                                  b"2024-01-24 10:15:32,123 INFO [main] x=1 y=2"])
def test_lines_that_are_not_logfmt(line):
    from lograd.formats.logfmt import parse_logfmt_line
    assert parse_logfmt_line(line) is None


# -- syslog ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("line, when, level, message, host, program", [
    # RFC 5424's own examples: PRI 34 is auth.crit, 165 local4.notice; structured data skipped, BOM dropped
    (b"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed for lonvick on /dev/pts/8",
     "2003-10-11T22:14:15.003", "CRITICAL", b"'su root' failed for lonvick on /dev/pts/8", b"mymachine.example.com", b"su"),
    (b'<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" '
     b'eventSource="Application" eventID="1011"] \xef\xbb\xbfAn application event log entry...',
     "2003-10-11T22:14:15.003", "NOTICE", b"An application event log entry...", b"mymachine.example.com", b"evntslog"),
    (b'<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [a b="x\\]y"][c@1 d="e"] %% It\'s time',
     "2003-08-24T12:14:15.000", "NOTICE", b"%% It's time", b"192.0.2.1", b"myproc"),
    # RFC 3164 with and without PRI; the level from the PRI, else from the message's first fields
    (b"<0>Oct 22 10:52:12 scapegoat sched[0]: That's All Folks!", "2023-10-22T10:52:12", "FATAL",
     b"That's All Folks!", b"scapegoat", b"sched"),
    (b"Jan 24 10:15:32 web01 sshd[4242]: error: too many attempts", "2024-01-24T10:15:32", "ERROR",
     b"too many attempts", b"web01", b"sshd"),
    (b"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: check pass", "2023-06-14T15:16:01", "NONE", b"check pass",
     b"combo", b"sshd(pam_unix)"),
    (b"Jul  1 09:00:55 mac com.apple.xpc.launchd[1] (com.apple.x.WebContent): Service exited", "2023-07-01T09:00:55",
     "NONE", b"(com.apple.x.WebContent): Service exited", b"mac", b"com.apple.xpc.launchd"),
    (b"2024-01-24T10:15:32.123456+00:00 web01 kernel: Out of memory", "2024-01-24T10:15:32.123", "NONE",
     b"Out of memory", b"web01", b"kernel"),
])
def test_syslog_lines(line, when, level, message, host, program):
    from lograd.formats.syslog import parse_syslog_line
    assert tuple(parse_syslog_line(line, REF)) == (ms(when), level, message, host, program)


@pytest.mark.parametrize("line", [b"<34>1 - web01 sshd 4242 ID47 - no time", b"<192>Jan 24 10:15:32 h p: x",
                                  b"<034>Jan 24 10:15:32 h p: x", b"Jan 24 10:15:32 web01 -- MARK --",
                                  b"2024-01-24 10:15:32,123 INFO [main] x", b"<34>1 2024-01-24T10:15:32Z h a p m [open",
                                  b"Jan 24 10:15:32 web01"])
def test_lines_that_are_not_syslog(line):
    from lograd.formats.syslog import parse_syslog_line
    assert parse_syslog_line(line, REF) is None


# -- container wrappers ----------------------------------------------------------------------------


def cri_lines(rng, inner_lines):
    """CRI lines for ``inner_lines``: each maybe split into P pieces, streams mixed."""
    out = []
    for i, inner in enumerate(inner_lines):
        stamp = b"2024-01-24T10:15:%02d.%09dZ" % (30 + i % 20, i)
        stream = rng.choice([b"stdout", b"stderr"])
        cuts = sorted(rng.sample(range(1, len(inner)), min(rng.choice([0, 0, 1, 2]), len(inner) - 1))) if inner else []
        pieces = [inner[a:b] for a, b in zip([0, *cuts], [*cuts, len(inner)])] or [b""]
        for k, piece in enumerate(pieces):
            out.append(stamp + b" " + stream + (b" P " if k < len(pieces) - 1 else b" F ") + piece)
    return out


def report_of_file(path, fmt, chunk_size, seed=0):
    """The report of a real file cut into chunks (the reader's record rule needs the file)."""
    from lograd.reader import summarise_chunk
    size = os.path.getsize(path)
    parts = [(s, summarise_chunk(str(path), s, min(chunk_size, size - s), fmt=fmt, block_size=64, reference_ms=REF))
             for s in range(0, size, chunk_size)]
    random.Random(seed).shuffle(parts)
    analyzer = Analyzer([str(path)], fmt=fmt)
    for chunk_id, partial in parts:
        analyzer.update_metrics(partial.to_wire(), chunk_id)
    return analyzer.get_current_metrics()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(TEXT_LINES[:8] + TRACE), min_size=1, max_size=15), st.integers(0, 10**6),
       st.booleans())
def test_property_split_cri_lines_join_the_same_for_every_chunk_size(tmp_path_factory, lines, seed, garbage):
    rng = random.Random(seed)
    wrapped = cri_lines(rng, [line for line in lines if line])
    split = False
    if garbage:  # anywhere: inside a split line it ends the record early
        at = rng.randrange(len(wrapped) + 1)
        split = at > 0 and b" P " in wrapped[at - 1][:40]
        wrapped.insert(at, b"not a cri line")
    path = tmp_path_factory.mktemp("cri") / "pod.log"
    path.write_bytes(b"\n".join(wrapped) + b"\n")
    whole = report_of_file(path, "cri+text", 1 << 20)
    if not split:
        assert whole["entries"] == len([line for line in lines if line])  # every record is an entry
        assert whole["continuation_lines"] == sum(1 for w in wrapped if b" P " in w[:40])
    for size in (1, 7, 30, 64, 200):
        assert report_of_file(path, "cri+text", size, seed) == whole, size


def test_wrapped_files_are_detected_with_their_inner_format(tmp_path):
    import json as stdjson
    cri = tmp_path / "cri.log"
    cri.write_bytes(b"\n".join(cri_lines(random.Random(1), [line for line in TEXT_LINES[:2] * 5])) + b"\n")
    docker = tmp_path / "docker.log"
    docker.write_text("\n".join(stdjson.dumps({"log": stdjson.dumps({"level": 30, "time": 1706091332000 + i,
                                                                     "msg": "x"}) + "\n",
                                               "stream": "stdout", "time": "2024-01-24T10:15:32Z"})
                                for i in range(10)) + "\n")
    plain = tmp_path / "plain.log"
    plain.write_bytes(b"\n".join(b"2024-01-24T10:15:32.1Z stdout F Starting server on :%d" % i for i in range(10)))
    assert [detect(str(p)).format for p in (cri, docker, plain)] == ["cri+text", "docker+json", "cri"]
    r = report_of_file(plain, "cri", 1 << 20)
    assert (r["entries"], r["levels"]) == (10, {"NONE": 10})


@pytest.mark.parametrize("fmt", ["text", "logfmt", "syslog", "cri"])
def test_generated_logs_of_each_format_read_like_their_app_twin(tmp_path, fmt):
    from lograd.generate import generate_test_logs
    from lograd.reader import summarise_chunk
    app, other = tmp_path / "app.log", tmp_path / f"x.{fmt}"
    generate_test_logs(0, str(app), "error_spike", seed=4, lines=2000)
    generate_test_logs(0, str(other), "error_spike", seed=4, lines=2000, fmt=fmt)
    found = detect(str(other)).format
    assert found == {"cri": "cri+text"}.get(fmt, fmt)
    a = summarise_chunk(str(app), 0, app.stat().st_size)
    o = summarise_chunk(str(other), 0, other.stat().st_size, fmt=found)
    # the same entries, levels, times and response times; stack traces (text: continuation
    # lines; cri: entries of level NONE, whose first line repeats the message, "took 12ms" too)
    levels = {k: v for k, v in o.levels.items() if k != "NONE"}
    assert (levels, o.errors, o.first_ms, o.last_ms) == (a.levels, a.errors, a.first_ms, a.last_ms)
    if fmt != "cri":
        assert (o.rt_count, o.rt_total) == (a.rt_count, a.rt_total)
    assert o.entries - o.levels.get("NONE", 0) == a.entries


SYSLOG_PIECES = st.tuples(
    st.sampled_from([b"", b"<34>", b"<0>", b"<191>", b"<192>", b"<034>", b"<1234>", b"<13"]),
    st.sampled_from([b"1 ", b"12 ", b"123 ", b""]),
    st.sampled_from([b"2024-01-24T10:15:32.123Z", b"2024-01-24T10:15:32+01:00", b"Jan 24 10:15:32",
                     b"Jan  4 09:00:00.25", b"Feb 29 10:00:00", b"2024-13-01T00:00:00Z", b"2024/01/24 10:15:32"]),
    st.lists(st.sampled_from([b"web01", b"-", b"sshd", b"4242", b"a\tb", b"", b"sshd[42]:", b"cron:", b"kernel[0]",
                              b"a[1", b'[a b="c\\"d"][e f="g"]', b"[open", b'[a b="x\\]y"]']), max_size=5),
    st.sampled_from([b"", b"error: too many", b"Failed in 5ms", b"\xef\xbb\xbfBOM took 3s", b"cpu=5% mem=3MB",
                     b"[ERROR] x", b"x=99999999999999999999", b"E x"]))


@settings(max_examples=150, deadline=None)
@given(st.lists(SYSLOG_PIECES, min_size=1, max_size=12))
def test_property_compiled_syslog_equals_the_exact_path(pieces):
    from lograd.formats.syslog import add_syslog_fast, add_syslog_lines
    data = b"\n".join(pri + version + stamp + b" " + b" ".join(tokens) + b" " + message
                      for pri, version, stamp, tokens, message in pieces)
    exact, fast = Partial(), Partial()
    exact.lines = add_syslog_lines(exact, data, 0, 0, None, REF)
    add_syslog_fast(fast, data, 0, 0, None, REF)
    assert fast == exact
    assert Partial.from_wire(fast.to_wire()) == fast  # and it travels (counts are ints, not bools)


LOGFMT_SEEDS = [
    b'time=2024-01-24T10:00:00.018Z level=info msg="Request processed in 136ms"',
    b'time="2024-01-24T10:15:32Z" level=error msg="upstream timed out" status=504 duration=1.5s cpu=87.5%',
    b'ts=1706091335.25 lvl=debug msg="cache refreshed in 3ms" caller=cache.go:42 latency=1m2.5s',
    b't=1706091332123 severity=WARN message=plain took=350\xc2\xb5s elapsed_ms=2.25 x=-3 flag',
    b'@timestamp=2024-01-24T10:15:32+01:00 loglevel=E msg="a=5 b=6ms" response_time_ms=7 k="" q=',
    b'ts=1706091332.99999999999999999999999999 level=info msg=x n=12345678901 duration=1h2m3.5s',
]
LOGFMT_PIECES = [b"time=2024-01-24T10:15:32.123Z", b"ts=1706091332.5", b"t=1706091332123", b"level=info", b"lvl=ERROR",
                 b"level=loud", b'msg="a \\"q\\" in 5ms"', b'msg="open', b"msg=plain", b'message="x=5 cpu=3%"',
                 b"duration=1.5s", b"latency=1m2.5s", b"elapsed_ms=2.25", b"duration=12", b"status=504", b"cpu=87.5%",
                 b"x=-3", b"big=99999999999999999999", b"flag", b"a=b=c", b"=x", b'k=""', b"k=", b"took=350\xc2\xb5s",
                 b'msg="line\\nbreak"', b"x\t=1"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.lists(st.sampled_from(LOGFMT_PIECES), max_size=7).map(b" ".join), mutated(LOGFMT_SEEDS)),
                min_size=1, max_size=15),
       st.sampled_from([None, (1706091332000, 1706091332999)]))
def test_the_compiled_logfmt_path_equals_the_exact_one(lines, window):
    """Pieces of lines, and damaged lines: every byte the compiled reader is unsure of leaves
    the line to the exact path."""
    from lograd.formats.logfmt import add_logfmt_fast, add_logfmt_lines
    data = b"\n".join(lines)
    exact, fast = Partial(), Partial()
    exact.lines = add_logfmt_lines(exact, data, 3, 0, window, 0)
    add_logfmt_fast(fast, data, 3, 0, window, 0)
    assert fast == exact
    from lograd.formats.logfmt import LOGFMT, parse_logfmt_line
    same_entries(data, LOGFMT.block_entries(data, Reading()), parse_logfmt_line)


CRI_PREFIXES = [b"2024-01-24T10:00:00.018000000Z stdout F ", b"2024-01-24T10:00:00+01:00 stderr F ",
                b"2024-01-24T10:00:00.5Z stdout P ", b"2024-01-24T10:00:00.5+0100 stdout F ",
                b"2024-01-24 10:00:00.5Z stdout F ", b"2024-01-24T10:00:00Z stdin F ", b"2024-01-24T10:00:00Z stdout F"]
CRI_CONTENTS = {
    "text": [b"2024-01-24 10:00:00,018 INFO  [main] c.e.Handler: Request processed in 136ms",
             b"2024-01-24 10:00:00,032 ERROR [http-1] c.e.Pool: GET /x failed cpu=5% in 82ms",
             b"java.lang.RuntimeException: boom", b"\tat com.example.App.main(App.java:42)", b"WARN x in 2ms", b""],
    "app": [b"2024-01-24 10:15:32.123 INFO Request processed in 127ms", b"2024-01-24T10:15:32Z ERROR x=5", b"garbage"],
    "logfmt": [b'time=2024-01-24T10:00:00.018Z level=info msg="done in 136ms" duration=3ms', b"ts=1706091332 lvl=error"],
    "json": [b'{"ts": 1706091332123, "level": "info", "msg": "done in 5ms", "cpu": 5}', b'{"ts": 5, "level": 50}'],
    "syslog": [b"<34>1 2024-01-24T10:15:32.123Z web01 sshd 4242 ID47 - Failed password", b"<13>Jan 24 10:15:32 h c: x"],
    "access": [b'10.0.0.1 - - [24/Jan/2024:10:00:00 +0000] "GET /api/users/42?x=1 HTTP/1.1" 503 512 "-" "curl/8.5" 0.127',
               b'::1 - bob [24/Jan/2024:11:00:00 +0100] "POST /o HTTP/2.0" 200 - "r" "a" 1500', b"nginx: ready"],
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(CRI_CONTENTS)), st.data(), st.sampled_from([None, (1706090400000, 1706090400100)]))
def test_the_compiled_cri_path_equals_the_exact_one(inner, data, window):
    """Whole CRI lines are read by the inner format's scanner (plain output too); split lines,
    damaged prefixes and what follows a ``P`` line by the exact path, with the same result."""
    from lograd.formats.container import WrappedFormat
    fmt = WrappedFormat("cri", get(inner))
    line = st.tuples(st.sampled_from(CRI_PREFIXES[:1] * 4 + CRI_PREFIXES), st.sampled_from(CRI_CONTENTS[inner]))
    lines = data.draw(st.lists(mutated([p + c for p, c in data.draw(st.lists(line, min_size=1, max_size=8))]),
                               min_size=1, max_size=10))
    block = b"\n".join(lines) + b"\n"
    exact, fast = Partial(), Partial()
    exact_reading, fast_reading = Reading(0, None, REF), Reading(0, None, REF)
    exact.lines += fmt.add_lines(exact, block, 5, exact_reading, window)
    fmt.add_block(fast, block, 5, fast_reading, window)
    for p, r in ((exact, exact_reading), (fast, fast_reading)):
        fmt.finish(p, r)
    assert fast == exact


def _every_line_of_every_vector() -> list[list[bytes]]:
    from tests.test_chunking import hostile_document
    from lograd.inputs import _first_lines
    docs = [_first_lines(os.path.join(d, n)) for d in (FORMATS_DIR, os.path.join(ROOT, "test_vectors", "logs"))
            for n in sorted(os.listdir(d))]
    hostile = [line for line in hostile_document().split(b"\n") if line.strip(b" \t")]
    return docs + [hostile, [line for doc in docs for line in doc[:20]]]


@pytest.mark.parametrize("name", ["app", "json", "logfmt", "syslog", "access"])
def test_detection_counts_a_compiled_format_s_lines_as_its_exact_parser_does(name):
    """Detection lets the scanner decide the lines of a format with a compiled grammar (its
    undecided ones by parse_line): on every test vector, the hostile document and a mix of
    them, each such format's count is the count of lines parse_line reads."""
    from lograd.inputs import _score
    fmt = get(name)
    assert fmt.grammar is not None and not fmt.continues
    for lines in _every_line_of_every_vector():
        assert _score(fmt, lines, REF) == sum(fmt.parse_line(line, REF) is not None for line in lines)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([line for lines in CRI_CONTENTS.values() for line in lines if line.strip()]
                                + [b"conn 1706091332 a b", b"1706091332 host1 host2", b"garbage"]),
                min_size=1, max_size=40))
def test_detection_that_stops_reading_a_format_early_chooses_as_reading_every_line(lines):
    """inputs._choose stops reading a strict format once it cannot read more lines than the
    best one before it; the choice and its count are those of reading every line with every
    format (ties to the one registered first, a lenient one only when no strict one reads half)."""
    from lograd.formats import formats
    from lograd.inputs import _choose
    candidates = list(formats().values())

    def reads(fmt) -> int:
        parsed = [fmt.parse_line(line, REF) is not None for line in lines]
        return len(parsed) - parsed.index(True) if fmt.continues and any(parsed) else sum(parsed)
    scores = {i: reads(fmt) for i, fmt in enumerate(candidates)}
    strict = [i for i, fmt in enumerate(candidates) if not fmt.continues]
    best = max(strict, key=lambda i: (scores[i], -i))
    if 2 * scores[best] < len(lines):
        best = max(scores, key=lambda i: (scores[i], -i))
    chosen, count = _choose(candidates, lines, REF)
    assert (chosen.name, count) == (candidates[best].name, scores[best])
