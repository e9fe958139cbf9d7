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
