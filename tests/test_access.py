"""`access` logs (issue #16): the grammar line by line, paths normalised, every figure the same for
every chunking of a file (the sums, counts and sketches merged), and detection."""
import pytest
from hypothesis import given, settings, strategies as st

from lograd.access import normalised_path
from lograd.formats.access import INVALID, parse_access_line, trailing_time
from lograd.inputs import detect_format
from lograd.parsing import to_fixed
from lograd.timestamps import parse_time_arg

from .test_formats import report_by_chunks
from .test_jsonlines import mutated, same_entries

T = "24/Jan/2024:10:15:32"
UTC = parse_time_arg("2024-01-24T10:15:32")


@pytest.mark.parametrize("line, ms, client, status, sent, method, target, rt", [
    # combined with nginx's $request_time (seconds, milliseconds)
    (f'1.2.3.4 - - [{T} +0000] "GET /a?b=1 HTTP/1.1" 200 512 "-" "curl/8" 0.127', UTC, b"1.2.3.4", 200, 512,
     b"GET", b"/a?b=1", to_fixed(b"127")),
    # zones convert to UTC
    (f'1.2.3.4 - - [{T} +0130] "GET / HTTP/1.0" 200 1', UTC - 90 * 60_000, b"1.2.3.4", 200, 1, b"GET", b"/", None),
    (f'1.2.3.4 - - [{T} -0800] "GET / HTTP/2.0" 200 1', UTC + 8 * 3_600_000, b"1.2.3.4", 200, 1, b"GET", b"/", None),
    # common, '-' bytes, Apache's %D (microseconds)
    (f'::1 - bob [{T} +0000] "HEAD /x HTTP/1.1" 304 - 2500', UTC, b"::1", 304, 0, b"HEAD", b"/x", to_fixed(b"2.5")),
    # an upstream list: its sum; a '-' item counts nothing
    (f'h - - [{T} +0000] "GET / HTTP/1.1" 502 0 "-" "x" 0.120, 0.003, -', UTC, b"h", 502, 0, b"GET", b"/",
     to_fixed(b"123")),
    # vhost first (Apache vhost_combined), an escaped quote in the agent, X-Forwarded-For before the time
    (f'shop:443 10.0.0.1 - - [{T} +0000] "GET / HTTP/1.1" 200 5 "r" "a \\"b\\" c" "9.9.9.9" 1.5', UTC, b"10.0.0.1",
     200, 5, b"GET", b"/", to_fixed(b"1500")),
    # request lines that are not METHOD TARGET PROTOCOL: still entries, method INVALID, no path
    (f'1.2.3.4 - - [{T} +0000] "\\x16\\x03\\x01" 400 0 "-" "-"', UTC, b"1.2.3.4", 400, 0, INVALID, None, None),
    (f'1.2.3.4 - - [{T} +0000] "-" 408 0 "-" "-"', UTC, b"1.2.3.4", 408, 0, INVALID, None, None),
    (f'1.2.3.4 - - [{T} +0000] "" 400 0', UTC, b"1.2.3.4", 400, 0, INVALID, None, None),
])
def test_access_lines(line, ms, client, status, sent, method, target, rt):
    e = parse_access_line(line.encode())
    assert (e.timestamp_ms, e.client, e.status, e.sent, e.method, e.target, e.rt) == (
        ms, client, status, sent, method, target, rt)


@pytest.mark.parametrize("line", [
    f'1.2.3.4 - - [{T}] "GET / HTTP/1.1" 200 1',                  # no zone
    f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1" 200',              # no bytes
    f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1" 99 1',             # no status
    f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1" 600 1',            # past 599
    '1.2.3.4 - - [30/Feb/2024:10:15:32 +0000] "GET / HTTP/1.1" 200 1',   # no such day
    '1.2.3.4 - - [24/Foo/2024:10:15:32 +0000] "GET / HTTP/1.1" 200 1',   # no such month
    f'1.2.3.4 - [{T} +0000] "GET / HTTP/1.1" 200 1',              # a field missing
    f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1 200 1',             # the quote not closed
    "2024-01-24 10:15:32.123 INFO Request processed in 127ms",
])
def test_lines_that_are_not_access_lines(line):
    assert parse_access_line(line.encode()) is None


@pytest.mark.parametrize("rest, rt", [
    (b"", None), (b" -", None), (b' "-" "x"', None), (b" 0.000", 0), (b" 12", to_fixed(b"0.012")),
    (b' "1.2.3.4" 0.5', to_fixed(b"500")), (b" 1.5 0.2", to_fixed(b"1500")), (b" -, -", None),
])
def test_the_response_time_is_the_first_trailing_number_or_list(rest, rt):
    assert trailing_time(rest) == rt


@pytest.mark.parametrize("target, path", [
    (b"/api/users/123", b"/api/users/{id}"),
    (b"/api/users/456?expand=1#top", b"/api/users/{id}"),
    (b"/o/3fa85f64-5717-4562-b3fc-2c963f66afa6/items", b"/o/{id}/items"),
    (b"/blob/7f3a9c1d2e", b"/blob/{id}"),
    (b"/blob/deadbeefcafe", b"/blob/deadbeefcafe"),  # hex without a digit: a word, kept
    (b"/v2/items", b"/v2/items"),
    (b"/images/123.png", b"/images/{id}.png"),                  # an id with an extension
    (b"/static/app.1a2b3c4d.js", b"/static/app.{id}.js"),       # a hashed asset
    (b"/jquery-3.6.0.min.js", b"/jquery-3.{id}.{id}.min.js"),
    (b"/", b"/"),
])
def test_paths_are_normalised(target, path):
    assert normalised_path(target) == path


def test_access_logs_are_detected(tmp_path):
    path = tmp_path / "access.log"
    path.write_bytes(f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1" 200 1 "-" "x"\n'.encode() * 3)
    assert detect_format(str(path)) == "access"


CLIENTS = ["1.2.3.4", "10.0.0.1", "::1", "h"]
TARGETS = ["/a", "/api/users/1", "/api/users/22?x", "/x/3fa85f64-5717-4562-b3fc-2c963f66afa6"]
line = st.builds(
    lambda c, s, t, status, sent, agent, rt: (
        f'{c} - - [24/Jan/2024:10:{s // 60:02d}:{s % 60:02d} +0000] "GET {t} HTTP/1.1" {status} {sent} '
        f'"-" "{agent}"{rt}').encode(),
    st.sampled_from(CLIENTS), st.integers(0, 3599), st.sampled_from(TARGETS),
    st.sampled_from([200, 201, 301, 404, 499, 500, 503]), st.sampled_from(["0", "-", "1234", "987654321098765432"]),  # bytes past 2**32 too
    st.sampled_from(["curl", "Mozilla/5.0 (X11)"]), st.sampled_from(["", " 0.127", " 5000", " -", " 0.1, 0.2"]))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(line, line, line, st.sampled_from([b"garbage", b"", b'"x" 200'])), min_size=1,
                max_size=30), st.integers(0, 100))
def test_every_chunking_gives_the_whole_file_figures(lines, seed):
    data = b"\n".join(lines) + b"\n"
    whole = report_by_chunks(data, len(data), fmt="access")
    for size in (1, 7, 64, len(data) // 2 or 1):
        assert report_by_chunks(data, size, seed=seed + size, fmt="access") == whole
    assert whole["total_requests"] == sum(whole["status_codes"].values())
    assert whole["errors"] == sum(n for code, n in whole["status_codes"].items() if code.startswith("5"))


NGINX_MAIN = '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" ' \
             '"$http_user_agent" "$http_x_forwarded_for" $request_time'


@pytest.mark.parametrize("layout, line, expected", [
    # nginx's "main" layout with X-Forwarded-For (an unknown variable, skipped) and $request_time
    (NGINX_MAIN, f'1.2.3.4 - - [{T} +0000] "GET /a HTTP/1.1" 200 5 "-" "curl x" "9.9.9.9, 8.8.8.8" 0.250',
     (UTC, 200, 5, b"GET", b"/a", b"1.2.3.4", b"curl x", to_fixed(b"250"))),
    # ISO time, split request variables, an upstream list (with nginx's ' : ' between groups)
    ('$time_iso8601 $remote_addr $request_method $request_uri $status $bytes_sent $upstream_response_time',
     "2024-01-24T10:15:32+00:00 ::1 POST /o?x=1 502 0 0.120, 0.003 : 0.010",
     (UTC, 502, 0, b"POST", b"/o?x=1", b"::1", None, to_fixed(b"133"))),
    # epoch milliseconds, no response time
    ('$msec "$request" $status $body_bytes_sent', '1706091332.000 "GET / HTTP/1.1" 204 -',
     (UTC, 204, 0, b"GET", b"/", b"-", None, None)),
])
def test_log_format_layouts(layout, line, expected):
    from lograd.formats.access import AccessFormat
    e = AccessFormat(layout).parse_line(line.encode())
    assert (e.timestamp_ms, e.status, e.sent, e.method, e.target, e.client, e.agent, e.rt) == expected


@pytest.mark.parametrize("layout", ["$remote_addr $request", "[$time_local] $body_bytes_sent"])
def test_a_layout_without_status_or_time_is_refused(layout):
    from lograd.formats.access import layout_pattern
    with pytest.raises(ValueError):
        layout_pattern(layout)


def test_a_line_the_layout_does_not_fit_is_not_an_entry():
    from lograd.formats.access import AccessFormat
    assert AccessFormat(NGINX_MAIN).parse_line(f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1" 200 5'.encode()) is None


ACCESS_SEEDS = [line.encode() for line in (
    f'1.2.3.4 - - [{T} +0000] "GET /api/users/42?x=1 HTTP/1.1" 200 512 "-" "curl/8.5" 0.127',
    f'shop:443 ::1 - bob [{T} -0130] "POST /o/3fa85f64-5717-4562-b3fc-2c963f66afa6 HTTP/2.0" 503 - "r" "a \\"b\\"" 1500',
    f'10.0.0.1 - - [{T} +0000] "\\x16\\x03\\x01" 400 157 "-" "-" 0.000',
    f'10.0.0.1 - - [{T} +0000] "GET /blob/7f3a9c1d2e#top HTTP/1.0" 404 0 "-" "Go" 0.120, 0.003',
    f'10.0.0.2 - - [{T} +0000] "GET /static/app.js HTTP/1.1" 304 0',
)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(mutated(ACCESS_SEEDS), line), min_size=1, max_size=15),
       st.sampled_from([None, (UTC, UTC + 999), (UTC - 60_000, UTC)]))
def test_the_compiled_access_path_equals_the_exact_one(lines, window):
    """Damaged lines too: whatever the scanner is unsure of goes to the exact path whole."""
    from lograd.aggregate import Partial
    from lograd.formats import Reading, get
    data = b"\n".join(lines)
    fast, exact = fast_and_exact(data, window)
    assert fast == exact
    fmt = get("access")
    same_entries(data, fmt.block_entries(data, Reading()), parse_access_line)
    # the same lines as blocks of one chunk (a minute may come back in a later block)
    blocked, reading, base = Partial(), Reading(), 3
    for i in range(0, len(lines), 4):
        block = b"\n".join(lines[i:i + 4]) + (b"\n" if i + 4 < len(lines) else b"")
        fmt.add_block(blocked, block, base, reading, window)
        base += len(block)
    fmt.finish(blocked, reading)
    assert blocked == exact


@pytest.mark.parametrize("stamp", [b"\x00" * 18 + b"12" + b"\x00" * 6, T.encode() + b" +0000"])
def test_a_time_that_looks_like_the_empty_stamp_cache_is_read_as_the_exact_path_reads_it(stamp):
    """The access scanner's minute cache starts empty: a time whose bytes equal its initial
    words is no time (and a real one after it is still read)."""
    data = b"1.2.3.4 - - [" + stamp + b'] "GET / HTTP/1.1" 200 5\n'
    data += f'1.2.3.4 - - [{T} +0000] "GET / HTTP/1.1" 200 5\n'.encode()
    fast, exact = fast_and_exact(data, None)
    assert fast == exact
    assert exact.entries == 2 - (stamp[0] == 0)


def fast_and_exact(data: bytes, window) -> tuple:
    """The partials of ``data`` (at offset 3, one block) by the compiled path and the exact one."""
    from lograd.aggregate import Partial
    from lograd.formats import Reading, get
    from lograd.formats.access import add_access_lines
    exact, fast = Partial(), Partial()
    exact.lines = add_access_lines(exact, data, 3, 0, window)
    fmt, reading = get("access"), Reading()
    fmt.add_block(fast, data, 3, reading, window)
    fmt.finish(fast, reading)
    return fast, exact


def test_lists_past_their_bound_keep_the_heavy_hitters_and_say_how_far_off_they_may_be(monkeypatch):
    import collections
    from lograd import access
    monkeypatch.setattr(access, "MAX_KEYS", 4)
    # two heavy clients among many light ones, spread over the file
    clients = ["heavy-1"] * 40 + ["heavy-2"] * 25 + [f"light-{i}" for i in range(30)]
    lines = [f'{c} - - [{T} +0000] "GET / HTTP/1.1" {500 if i % 5 == 0 else 200} 1 "-" "a{i % 9}"'.encode()
             for i, c in enumerate(clients)]
    data = b"\n".join(lines[i] for i in sorted(range(len(lines)), key=lambda i: (i * 37) % len(lines))) + b"\n"
    truth = collections.Counter(clients)
    report = report_by_chunks(data, 700, fmt="access")
    under = report["approximate"]["top_clients"]
    assert 0 < under <= len(clients) // (4 + 1)  # Misra-Gries: at most entries / (bound + 1)
    listed = {row["client"]: row["requests"] for row in report["top_clients"]}
    assert len(listed) <= 4 and {"heavy-1", "heavy-2"} <= set(listed)
    for client, n in listed.items():
        assert truth[client] - under <= n <= truth[client]
    assert "top_user_agents" in report["approximate"] and "top_referrers" not in report["approximate"]
    assert report["total_requests"] == len(clients)  # the totals stay exact
