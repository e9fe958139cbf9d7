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


def test_a_reader_that_goes_away_ends_a_command_quietly_with_141():
    # `lograd-worker --help | head -1`: the pipe's reader is gone before the help is written
    import os
    import subprocess
    import sys
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                            "bin", "lograd-worker"), "--help"],
                              stdout=write, stderr=subprocess.PIPE, timeout=60)
    finally:
        os.close(write)
    assert b"Traceback" not in done.stderr, done.stderr.decode()
    assert done.returncode == 141
