"""Message templates (issue #17, its first part): the masking rules token by token, and a
template that depends on the message alone."""
import pytest
from hypothesis import given, settings, strategies as st

from lograd import template_of


@pytest.mark.parametrize("message, template", [
    (b"Timeout after 3001 ms calling 10.0.0.7:5432", "Timeout after <*> ms calling <*>"),
    (b"Request processed in 127ms", "Request processed in <*>"),                   # a number with a unit
    (b"cpu=87.5% mem=1024MB host=web-1 user=alice", "cpu=<*> mem=<*> host=<*> user=alice"),  # key=value
    (b'upstream "db primary" timed out', 'upstream "<*>" timed out'),              # quoted values
    (b"user 'bob' logged in", "user '<*>' logged in"),
    (b"session 3fa85f64-5717-4562-b3fc-2c963f66afa6 expired", "session <*> expired"),  # UUID
    (b"object 0x7f3a9c1d at deadbeef01", "object <*> at <*>"),                      # hex ids
    (b"connect to [2001:db8::1]:443 failed", "connect to <*> failed"),             # IPv6 with a port
    (b"peer fe80::1 gone", "peer <*> gone"),
    (b"Connection refused to cache:6379", "Connection refused to <*>"),           # host:port
    (b"Cache miss for key user:42", "Cache miss for key <*>"),                   # word:digits is host:port too
    (b"Cache miss for key user:bob", "Cache miss for key user:bob"),             # key:word: kept
    (b"Error::Timeout in main", "Error::Timeout in main"),                           # not an address
    (b"mail to alice@example.com bounced", "mail to <*> bounced"),                 # e-mail
    (b"open /var/data/part-00042.parquet: no such file", "open <*>: no such file"),  # a path with digits
    (b"open /var/data/index: denied", "open /var/data/index: denied"),             # a path without: kept
    (b"retry (attempt 3/5) at 2024-01-24T10:15:32Z", "retry (attempt <*>) at <*>"),  # dates, fractions
    (b"Caused by: java.net.SocketTimeoutException: Read timed out",
     "Caused by: java.net.SocketTimeoutException: Read timed out"),                # no value: unchanged
    (b"  spaces\tand\ttabs  ", "spaces and tabs"),                                 # white space normalised
    (b"", ""),
])
def test_masking_rules(message, template):
    assert template_of(message) == template


def test_lines_that_say_the_same_thing_share_a_template():
    lines = [b"Timeout after 2984 ms calling 10.0.0.9:5432", b"Timeout after 17 ms calling 192.168.1.20:5432"]
    assert {template_of(m) for m in lines} == {"Timeout after <*> ms calling <*>"}
    assert template_of(b"Timeout after 5 ms calling db") != template_of(b"Connection refused calling db")


@given(st.binary(max_size=200))
def test_a_template_depends_on_the_message_alone_and_never_raises(message):
    first = template_of(message)
    assert isinstance(first, str) and template_of(bytes(message)) == first
    assert "\x00" not in first or b"\x00" not in message  # the internal mark never leaks


@given(st.lists(st.sampled_from(["Timeout", "after", "calling", "db", "ms", "="]), max_size=6),
       st.lists(st.integers(0, 10 ** 6), min_size=6, max_size=6))
def test_numbers_never_split_a_group(words, numbers):
    a = " ".join(f"{w} {n}" for w, n in zip(words, numbers)).encode()
    b = " ".join(f"{w} {n + 1}" for w, n in zip(words, numbers)).encode()
    assert template_of(a) == template_of(b)


REALISTIC = st.lists(st.one_of(
    st.sampled_from(["Timeout", "after", "ms", "calling", "user=alice", "id=42", "host:8080", "Error::Retry",
                     "[2001:db8::1]:443", "fe80::1", "(attempt", "3/5)", "alice@example.com", "x@y.z",
                     "3fa85f64-5717-4562-b3fc-2c963f66afa6", "abcdefab-abcd-abcd-abcd-abcdefabcdef", "0xdeadbeef",
                     '"quoted value"', "'single'", "don't", 'k="v 1"', "path=/var/x", "a:b:c", "::", "[]:",
                     "\t", "  ", "\\", '"', "'", "\x00", "é", "\xff"]),
    st.text(max_size=6)), max_size=14).map(lambda parts: " ".join(parts).encode("utf-8", "surrogateescape"))


@settings(max_examples=3000, deadline=None)
@given(st.one_of(st.binary(max_size=300), REALISTIC))
def test_the_scanner_masks_every_message_as_the_rules_say(message):
    """The compiled scanner's templates are the exact path's, byte for byte."""
    from lograd._scanner import template_bytes as scanned
    from lograd.templates import template_bytes
    assert scanned(message) == template_bytes(message)


def test_a_template_is_made_of_the_first_bytes_of_a_message():
    from lograd._scanner import template_bytes as scanned
    from lograd.templates import MESSAGE_BYTES
    long = b"Request failed " + b"x" * 2000 + b" 42"
    assert template_of(long) == template_of(long[:MESSAGE_BYTES]) and "42" not in template_of(long)
    assert scanned(long) == template_of(long).encode()


ENTRIES = st.lists(st.tuples(st.integers(0, 2), st.sampled_from([b"a <*>", b"b", b"c <*> d"]),
                             st.integers(0, 10 * 60_000), st.booleans(), st.integers(0, 99)), max_size=40)


@settings(max_examples=200, deadline=None)
@given(ENTRIES, st.integers(1, 5), st.randoms())
def test_template_counts_merge_alike_in_any_cut_and_order(entries, parts, rng):
    from lograd.templates import TemplateCounts
    whole = TemplateCounts()
    for g, t, ms, inside, offset in entries:
        whole.add(g, t, ms, inside, (0, offset))
    pieces = [TemplateCounts() for _ in range(parts)]
    for i, (g, t, ms, inside, offset) in enumerate(entries):
        pieces[rng.randrange(parts)].add(g, t, ms, inside, (0, offset))
    rng.shuffle(pieces)
    merged = TemplateCounts()
    for piece in pieces:
        merged.merge(piece)
    assert merged.to_wire() == whole.to_wire()
    assert TemplateCounts.from_wire(whole.to_wire()) == whole


def test_past_the_bound_a_group_keeps_its_most_frequent_templates_and_says_how_far_off(monkeypatch):
    from lograd import templates
    from lograd.templates import TemplateCounts, template_report
    monkeypatch.setattr(templates, "MAX_TEMPLATES", 3)
    truth = {b"heavy <*>": 50, b"second": 20, b"third": 9, **{f"rare {chr(97 + i)}".encode(): 1 for i in range(10)}}
    counts = TemplateCounts()
    for i, (template, n) in enumerate(truth.items()):
        piece = TemplateCounts()
        for k in range(n):
            piece.add(0, template, 60_000 * k, True, (0, i))
        counts.merge(piece)  # bounded as it merges
    kept = counts.groups[0]
    assert len(kept) <= 3 and b"heavy <*>" in kept and b"second" in kept
    cut = counts.undercount[0]
    assert cut > 0 and all(truth[t] - cut <= f.count <= truth[t] for t, f in kept.items())
    assert sum(kept[b"heavy <*>"].minutes.values()) == kept[b"heavy <*>"].count  # minutes cut to the count left
    report = template_report(counts, ["f"], False)
    assert report["templates_approximate"] == {"errors": cut}
    assert report["templates"]["errors"][0]["template"] == "heavy <*>"
