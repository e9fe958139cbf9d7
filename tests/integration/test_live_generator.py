"""`lograd-generate --follow` appends in real time; the follower reads what it writes (issue #6)."""
import signal
import time

from lograd.formats.app import summarise_app
from lograd.follow import Follower
from tests.integration.conftest import wait_for


def test_a_timed_run_appends_exactly_rate_times_duration_lines_stamped_now(procs, tmp_path):
    out = tmp_path / "live.log"
    before = time.time()
    p = procs.start("lograd-generate", "--follow", "--rate", "2000", "--duration", "1", str(out))
    assert p.wait(timeout=30) == 0
    after = time.time()
    data = out.read_bytes()
    partial = summarise_app(data)
    assert partial.lines == partial.entries == 2000  # 2000 a second for 1 s, every one an entry
    assert before * 1000 - 1 <= partial.first_ms <= partial.last_ms <= after * 1000 + 1


def test_ctrl_c_stops_it_with_whole_lines_only(procs, tmp_path):
    out = tmp_path / "live.log"
    p = procs.start("lograd-generate", "--follow", "--rate", "5000", str(out))
    wait_for(lambda: out.exists() and out.read_bytes().count(b"\n") >= 500, 20, "500 lines appended")
    p.send_signal(signal.SIGINT)
    assert p.wait(timeout=10) == 0
    assert out.read_bytes().endswith(b"\n")


def test_the_follower_hands_out_every_line_the_generator_appends(procs, tmp_path):
    out = tmp_path / "live.log"
    follower = Follower([str(out)])
    p = procs.start("lograd-generate", "--follow", "--rate", "20000", "--duration", "1.5", str(out))
    seen = 0
    while p.poll() is None:
        seen += sum(span.size for span in follower.poll())
    assert p.wait(timeout=30) == 0
    seen += sum(span.size for span in follower.poll())
    assert seen == out.stat().st_size and out.read_bytes().count(b"\n") == 30_000
