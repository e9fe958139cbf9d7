"""Following growing files (issue #6): every complete line handed out once, across
growth, half-written lines, rotation, copy-truncate, deletion, new files and restarts."""
import os

from lograd.follow import Follower, Span, load_state, save_state


def read(spans: list[Span]) -> bytes:
    """The bytes the spans cover, in order, as a worker would read them."""
    out = b""
    for s in spans:
        with open(s.path, "rb") as f:
            f.seek(s.start)
            out += f.read(s.size)
    return out


def test_growth_hands_out_complete_lines_once(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"one\ntwo\n")
    follower = Follower([str(log)])
    assert read(follower.poll()) == b"one\ntwo\n"
    assert follower.poll() == []
    with open(log, "ab") as f:
        f.write(b"three\nhal")  # a line written in two parts ...
    assert read(follower.poll()) == b"three\n"
    with open(log, "ab") as f:
        f.write(b"f\n")  # ... is handed out whole when its newline arrives
    assert read(follower.poll()) == b"half\n"


def test_rotation_by_rename_reads_the_old_file_to_its_end_then_the_new_one(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"a\n")
    follower = Follower([str(log)])
    assert read(follower.poll()) == b"a\n"
    with open(log, "ab") as f:
        f.write(b"b\n")  # written just before the rotation, not yet seen
    os.rename(log, tmp_path / "app.log.1")
    log.write_bytes(b"c\n")
    spans = follower.poll()
    assert read(spans) == b"b\nc\n"
    assert {s.path for s in spans} == {str(tmp_path / "app.log.1"), str(log)}


def test_copy_truncate_is_read_again_from_the_start(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"first line\nsecond line\n")
    follower = Follower([str(log)])
    read(follower.poll())
    with open(log, "r+b") as f:  # copytruncate: same inode, emptied, written again
        f.truncate(0)
        f.write(b"x\n")
    assert read(follower.poll()) == b"x\n"


def test_deleted_files_are_forgotten_and_new_files_followed_from_their_start(tmp_path):
    (tmp_path / "a.log").write_bytes(b"a\n")
    follower = Follower([str(tmp_path / "*.log")])
    assert read(follower.poll()) == b"a\n"
    os.remove(tmp_path / "a.log")
    assert follower.poll() == [] and follower.state() == {"files": []}
    (tmp_path / "b.log").write_bytes(b"b\n")  # did not exist when the follower started
    assert read(follower.poll()) == b"b\n"


def test_a_path_that_does_not_exist_yet_is_followed_when_it_appears(tmp_path):
    log = tmp_path / "later.log"
    follower = Follower([str(log)])
    assert follower.poll() == []
    log.write_bytes(b"hello\n")
    assert read(follower.poll()) == b"hello\n"


def test_a_restart_with_the_saved_state_continues_without_gaps_or_repeats(tmp_path):
    log = tmp_path / "app.log"
    state_file = tmp_path / "state.json"
    assert load_state(str(state_file)) is None
    log.write_bytes(b"1\n2\n")
    first = Follower([str(log)])
    seen = read(first.poll())
    save_state(str(state_file), first.state())
    with open(log, "ab") as f:
        f.write(b"3\n4")
    second = Follower([str(log)], load_state(str(state_file)))
    seen += read(second.poll())
    assert seen == b"1\n2\n3\n"
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []  # written atomically


def test_many_appends_add_up_to_the_file(tmp_path):
    log = tmp_path / "app.log"
    log.write_bytes(b"")
    follower = Follower([str(log)])
    seen = b""
    written = b""
    for i in range(200):
        piece = b"line %d\n" % i if i % 3 else b"part of %d" % i
        with open(log, "ab") as f:
            f.write(piece)
        written += piece
        seen += read(follower.poll())
    assert seen == written[:written.rfind(b"\n") + 1]
