"""Reconnecting with a capped back-off (the ZeroMQ guide's Paranoid Pirate: 20 ms doubling to
2 s), as every socket a worker connects does it: real sockets on a free loopback port, the
retries read from libzmq's own monitor events (their value is the wait before the next try)."""
from __future__ import annotations

import struct
import time

import pytest
import zmq

from lograd.net import transport
from tests.integration.conftest import free_base_port

pytestmark = pytest.mark.timeout(60)


def retries(monitor: zmq.Socket, until, timeout: float) -> list[int]:
    """The waits (ms) of the connection retries the monitor reports, until ``until(waits)``."""
    waits: list[int] = []
    deadline = time.monotonic() + timeout
    while not until(waits):
        assert time.monotonic() < deadline, f"retries so far: {waits}"
        if monitor.poll(100):
            event, value = struct.unpack("=hi", monitor.recv_multipart()[0][:6])
            if event == zmq.EVENT_CONNECT_RETRIED:
                waits.append(value)
    return waits


def test_a_worker_socket_backs_off_from_20_ms_to_2_s_and_starts_again_after_a_connection():
    port = free_base_port()
    ctx = zmq.Context()
    try:
        dealer = transport.open_socket(ctx, zmq.DEALER, f"tcp://127.0.0.1:{port}", bind=False, identity="w.1")
        monitor = dealer.get_monitor_socket(zmq.EVENT_CONNECT_RETRIED | zmq.EVENT_CONNECTED)
        waits = retries(monitor, lambda w: w.count(transport.RECONNECT_MAX_MS) >= 2, 20)
        # the monitor is attached just after the socket connects: it may miss the first retry
        # or two, so the waits seen are a tail of 20, 40, ... 1280, then 2 s each
        schedule = [transport.RECONNECT_MS * 2 ** i for i in range(7)] + [transport.RECONNECT_MAX_MS] * len(waits)
        first = schedule.index(waits[0])
        assert first <= 2 and waits == schedule[first:first + len(waits)], waits

        router = transport.open_socket(ctx, zmq.ROUTER, f"tcp://127.0.0.1:{port}", bind=True)
        hello = b"hello"
        dealer.send(hello)
        assert router.poll(5000), "connected within the 2 s back-off (and a margin)"
        assert router.recv_multipart() == [b"w.1", hello]
        router.close(linger=0)  # the coordinator goes: the retries start again from 20 ms
        again = retries(monitor, lambda w: len(w) >= 2, 10)
        assert again[:2] == [transport.RECONNECT_MS, 2 * transport.RECONNECT_MS]
        dealer.disable_monitor()
        monitor.close(linger=0)
        dealer.close(linger=0)
    finally:
        ctx.destroy(linger=0)
