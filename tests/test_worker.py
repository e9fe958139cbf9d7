"""The worker's stop request from a signal handler (found as a hang under SIGTERM)."""
import pytest

from lograd.worker import Worker


@pytest.mark.timeout(10)
def test_a_stop_request_takes_no_lock_so_a_signal_cannot_deadlock_the_worker():
    worker = Worker("alice")
    # A signal can arrive while the main thread is inside Event.set() of the beat
    # event, holding its (non-reentrant) lock; the handler's work must not need it.
    with worker._beat_now._cond:
        worker.request_stop()
    assert worker.stopping()  # the loop then stops for real, outside the handler
    assert worker._stopping.is_set() and worker._beat_now.is_set()


@pytest.mark.parametrize("heartbeat, liveness", [(0.5, 3), (0.03, 3), (2.0, 10)])
def test_a_forked_local_worker_runs_with_the_settings_its_command_line_gives(heartbeat, liveness):
    """--local workers are forks given their settings (no command line parsed); a local
    worker started as a command (with --curve) parses _worker_argv: both mean the same."""
    from lograd.cli import WORKER_USAGE, _parse, _settings, _value
    from lograd.config import Settings, parse_seconds
    from lograd.jobs.local import _worker_argv, local_worker_settings
    coordinator = Settings(heartbeat_interval=heartbeat, liveness=liveness)
    argv = _worker_argv(2, "tcp://127.0.0.1:5555", coordinator, None, "abc")
    args = _parse(WORKER_USAGE, argv[1:])
    parsed = _settings(args, give_up=_value(parse_seconds, args, "--give-up"))
    assert parsed == local_worker_settings(coordinator)
    assert parsed.give_up == max(heartbeat * liveness * 4, 5.0) and args["<id>"] == "local-2"
    assert args["--quiet"] and args["--instance"] == "abc" and args["--capacity"] == str(Settings().worker_capacity)
