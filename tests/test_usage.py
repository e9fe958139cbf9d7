"""The command lines' defaults are config's (written once, there)."""
from docopt import docopt

from lograd.cli import COORDINATOR_USAGE, WORKER_USAGE
from lograd.config import DEFAULT_BIND, DEFAULT_COORDINATOR, DEFAULT_PORT, Settings


def test_the_usage_texts_default_to_what_config_says():
    d = Settings()
    coordinator = docopt(COORDINATOR_USAGE, argv=["x.log"])
    assert int(coordinator["--port"]) == DEFAULT_PORT and coordinator["--bind"] == DEFAULT_BIND
    assert float(coordinator["--heartbeat"]) == d.heartbeat_interval and int(coordinator["--liveness"]) == d.liveness
    assert float(coordinator["--join-timeout"]) == d.join_timeout
    assert int(coordinator["--max-attempts"]) == d.max_attempts
    worker = docopt(WORKER_USAGE, argv=["alice"])
    assert worker["--coordinator"] == DEFAULT_COORDINATOR and int(worker["--capacity"]) == d.worker_capacity
    assert float(worker["--give-up"]) == d.give_up and float(worker["--heartbeat"]) == d.heartbeat_interval
    assert "@" not in COORDINATOR_USAGE.split("Formats")[0] + WORKER_USAGE  # every placeholder filled
