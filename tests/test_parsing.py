"""SPEC §1, the `app` grammar: each rule with lines that pass and lines that fail."""
import pytest

from lograd.formats.app import summarise_app
from lograd.parsing import MAX_LINE, resource_metrics, response_time, to_fixed
from lograd.formats.app import LogEntry

T = "2024-01-24 10:15:32.123"


def entry(line: bytes | str) -> LogEntry | None:
    return LogEntry.parse(line.encode() if isinstance(line, str) else line)


@pytest.mark.parametrize("line, when", [
    (f"{T} INFO ok", "2024-01-24T10:15:32.123"),
    ("2024-01-24T10:15:32.123 INFO T separator", "2024-01-24T10:15:32.123"),
    ("2024-01-24 10:15:32 INFO no fraction", "2024-01-24T10:15:32.000"),
    ("2024-01-24 10:15:32.1 INFO one digit", "2024-01-24T10:15:32.100"),
    ("2024-01-24 10:15:32.123456789 INFO nine digits, truncated", "2024-01-24T10:15:32.123"),
    ("2024-01-24T10:15:34Z WARN zulu", "2024-01-24T10:15:34.000"),
    ("2024-01-24T10:15:34+02:00 INFO east of UTC", "2024-01-24T08:15:34.000"),
    ("2024-01-24T10:15:34-0130 INFO west, no colon", "2024-01-24T11:45:34.000"),
    ("2024-01-24T00:30:00+01:00 INFO crosses midnight", "2024-01-23T23:30:00.000"),
    ("2024-02-29 00:00:00 INFO leap day", "2024-02-29T00:00:00.000"),
    ("2000-02-29 23:59:59 INFO leap century", "2000-02-29T23:59:59.000"),
    ("2024-01-24 10:15:32.123\tINFO\ttabs", "2024-01-24T10:15:32.123"),
])
def test_timestamps_that_parse(line, when):
    parsed = entry(line)
    assert parsed is not None and parsed.timestamp == when


@pytest.mark.parametrize("line", [
    "2023-02-29 10:00:00 INFO not a leap year",
    "1900-02-29 10:00:00 INFO 1900 was not a leap year",
    "2024-04-31 10:00:00 INFO April has 30 days",
    "2024-13-01 10:00:00 INFO month 13",
    "2024-00-10 10:00:00 INFO month 0",
    "2024-01-00 10:00:00 INFO day 0",
    "2024-01-24 24:00:00 INFO hour 24",
    "2024-01-24 23:60:00 INFO minute 60",
    "2024-01-24 23:59:60 INFO leap second",
    "2024-01-24 10:15:32.1234567890 INFO ten-digit fraction",
    "2024-01-24 10:15:32. INFO empty fraction",
    "2024-01-24T10:15:34z INFO lower-case zone",
    "2024-01-24t10:15:34 INFO lower-case T",
    "2024-01-24T10:15:34+24:00 INFO zone hour 24",
    "2024-01-24T10:15:34+01:60 INFO zone minute 60",
    "2024-01-24T10:15:34+1 INFO short zone",
    "10:15:32 INFO no date",
    "2024-01-24 INFO no time",
    "24-01-24 10:15:32 INFO two-digit year",
    " 2024-01-24 10:15:32 INFO leading space",
    "2024-01-24  10:15:32 INFO two spaces inside the timestamp",
    "2024-01-24 10:15:32INFO no space before the level",
    "garbage",
])
def test_timestamps_that_fail(line):
    assert entry(line) is None


@pytest.mark.parametrize("word, level", [
    ("INFO", "INFO"), ("info", "INFO"), ("Info", "INFO"), ("TRACE", "TRACE"), ("DEBUG", "DEBUG"),
    ("NOTICE", "NOTICE"), ("WARN", "WARN"), ("WARNING", "WARN"), ("warning", "WARN"),
    ("ERROR", "ERROR"), ("CRITICAL", "CRITICAL"), ("FATAL", "FATAL"), ("fatal", "FATAL"),
])
def test_levels_any_case_reported_upper_warning_as_warn(word, level):
    assert entry(f"{T} {word} message").level == level


@pytest.mark.parametrize("line", [
    f"{T} INFORMATION unknown word", f"{T} ERR short", f"{T} ERROR: colon glued on",
    f"{T} WARN-ing", f"{T} 404 number", f"{T}",
])
def test_unknown_levels_are_malformed(line):
    assert entry(line) is None


def test_level_at_end_of_line_has_empty_message():
    assert entry(f"{T} ERROR").message == b""
    assert entry(f"{T} ERROR \t").message == b""


@pytest.mark.parametrize("message, ms", [
    ("Request processed in 127ms", 127.0),
    ("Request took 0.5s", 500.0),
    ("took 250us", 0.25),
    ("retry in 3s took 120ms", 3000.0),  # SPEC: the first match wins
    ("response_time=42.5ms", 42.5),
    ("latency: 7 ms", 7.0),
    ("duration=1.25s", 1250.0),
    ("in127ms", 127.0),
    ("done in 5 ms.", 5.0),
])
def test_response_times(message, ms):
    assert entry(f"{T} INFO {message}").response_time_ms == ms


@pytest.mark.parametrize("message", [
    "logged in", "login 127ms", "in 127 msec", "in 12mss", "took 5 minutes", "within 5ms",
    "took -5ms", "response_time 5ms", "in 5sec",
])
def test_no_response_time(message):
    assert entry(f"{T} INFO {message}").response_time is None


def test_fixed_point_keeps_nine_decimals_and_truncates():
    assert to_fixed(b"127") == 127 * 10**9
    assert to_fixed(b"0.5", 3) == 500 * 10**9
    assert to_fixed(b"1.0000000019") == 10**9 + 1
    assert response_time(b"in 1.5us") == 1_500_000


@pytest.mark.parametrize("message, metrics", [
    ("cpu=87.5% mem=1024MB", [("cpu", 87.5), ("mem", 1024.0)]),
    ("a=1,b=-2;c=3.25", [("a", 1.0), ("b", -2.0), ("c", 3.25)]),
    ("x=1 x=2", [("x", 1.0), ("x", 2.0)]),
    ("disk.io_read=5 CPU=3", [("disk.io_read", 5.0), ("CPU", 3.0)]),
    ("_k=0", [("_k", 0.0)]),
    ("load=5%) rate=10MB/s big=5e3 ver=3.5.1", []),
    ("x=5%abc 1k=2 a=b=3 (cpu=5)", []),
    ("pre,cpu=5", [("cpu", 5.0)]),
    ("tab\tcpu=5\x0bmem=6", [("cpu", 5.0), ("mem", 6.0)]),
])
def test_resource_metrics(message, metrics):
    assert [(k, v / 10**9) for k, v in resource_metrics(message.encode())] == metrics


def classify(data: bytes) -> tuple[int, int, int, int]:
    p = summarise_app(data)
    return p.lines, p.entries, p.malformed, p.blank


@pytest.mark.parametrize("data, counts", [
    (b"", (0, 0, 0, 0)),
    (b"\n", (1, 0, 0, 1)),
    (b"   \t\n", (1, 0, 0, 1)),
    (b"\r\n", (1, 0, 0, 1)),
    (b"\x00\n", (1, 0, 1, 0)),
    (b"\x0b\x0c\n", (1, 0, 1, 0)),
    (f"{T} INFO crlf\r\n".encode(), (1, 1, 0, 0)),
    (f"{T} INFO no newline at the end".encode(), (1, 1, 0, 0)),
    (f"{T} INFO a\n{T} INFO b".encode(), (2, 2, 0, 0)),
    (f"{T} INFO two CRs\r\r\n".encode(), (1, 1, 0, 0)),  # only one \r is dropped; \r is in the message
    (f"{T} INFO bad utf-8 \xff\xfe\n".encode("latin-1"), (1, 1, 0, 0)),
])
def test_lines_blank_malformed_and_entries(data, counts):
    assert classify(data) == counts


def test_line_length_limit_is_one_mebibyte_without_newline_and_cr():
    head = f"{T} INFO ".encode()
    exactly = head + b"x" * (MAX_LINE - len(head))
    assert classify(exactly + b"\r\n") == (1, 1, 0, 0)
    assert classify(exactly + b"x\n") == (1, 0, 1, 0)
    assert classify(b" " * (MAX_LINE + 1) + b"\n") == (1, 0, 1, 0)


def test_malformed_sample_text_is_decoded_and_cut_to_200_chars():
    line = b"\xff" + b"y" * 300
    p = summarise_app(b"  \n" + line + b"\n", base=1000, file_index=0)
    [(_, offset, text)] = p.samples
    assert offset == 1003 and text.startswith("\ufffd") and len(text) == 200


def test_a_lazy_pattern_is_compiled_at_its_first_use_and_then_is_the_pattern_itself():
    """Module-level expressions are compiled when first used (lograd/patterns.py): before,
    nothing is compiled; after, every method is the compiled pattern's own."""
    import re
    from lograd.patterns import LazyPattern, lazy
    p = lazy(rb"(\d+)-(\w+)", re.S)
    assert isinstance(p, LazyPattern) and "match" not in vars(p)
    compiled = re.compile(rb"(\d+)-(\w+)", re.S)
    assert p.match(b"12-ab").groups() == compiled.match(b"12-ab").groups() == (b"12", b"ab")
    assert vars(p)["search"] == compiled.search and p.pattern == compiled.pattern and p.flags == compiled.flags
    assert p.sub(rb"\2", b"1-a 2-b") == b"a b" and [m.group(1) for m in p.finditer(b"3-c 4-d")] == [b"3", b"4"]
