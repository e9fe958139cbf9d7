"""Issue #7: a coordinator and workers on separate hosts — network namespaces joined by
a veth pair (Debian's iproute2), so every message crosses a real network interface.

The hosts share this machine's filesystem, as machines share an NFS mount: the
workers read the same paths the coordinator plans. Needs root and ``ip``.
"""
import os
import subprocess
import sys
import uuid

import pytest

from tests.integration.conftest import (BIN, LOGS, Running, free_base_port, ip, namespaced, start_in, wait_for,
                                        without_job)

pytestmark = pytest.mark.timeout(150)

PORT = 5555  # each host has its own ports: the default is free there


class Hosts:
    """Two namespaces, ``coordinator`` (10.x.y.1) and ``workers`` (10.x.y.2), on one link."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.names = {"coordinator": f"lgc-{tag}", "workers": f"lgw-{tag}"}
        subnet = int(tag[:2], 16)
        self.address = {"coordinator": f"10.213.{subnet}.1", "workers": f"10.213.{subnet}.2"}
        self.link = f"lg{tag}"
        for ns in self.names.values():
            ip("netns", "add", ns)
        ip("link", "add", f"{self.link}a", "type", "veth", "peer", "name", f"{self.link}b")
        for host, end in (("coordinator", "a"), ("workers", "b")):
            ns, device = self.names[host], f"{self.link}{end}"
            ip("link", "set", device, "netns", ns)
            ip("-n", ns, "addr", "add", f"{self.address[host]}/24", "dev", device)
            ip("-n", ns, "link", "set", device, "up")
            ip("-n", ns, "link", "set", "lo", "up")

    def command(self, host: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.names[host], *argv]

    def cut(self) -> None:
        """A network partition: the link goes down on the workers' side."""
        ip("-n", self.names["workers"], "link", "set", f"{self.link}b", "down")

    def remove(self) -> None:
        for ns in self.names.values():
            ip("netns", "delete", ns, check=False)


@pytest.fixture
def hosts(procs):
    yield from namespaced(procs, Hosts)


def lograd(hosts: Hosts, procs, host: str, command: str, *args: str) -> Running:
    return start_in(procs, hosts.command(host, sys.executable, os.path.join(BIN, command), *args))


def keys(tmp_path) -> str:
    directory = str(tmp_path / "keys")
    subprocess.run([sys.executable, os.path.join(BIN, "lograd-keys"), directory], check=True,
                   capture_output=True, timeout=60)
    return directory


def test_workers_on_another_host_over_curve_give_the_one_host_report(hosts, procs, tmp_path):
    path = os.path.join(LOGS, "error_spike.log")
    directory = keys(tmp_path)
    url = f"tcp://{hosts.address['coordinator']}:{PORT}"
    for name in ("alice", "bob"):
        lograd(hosts, procs, "workers", "lograd-worker", name, "--coordinator", url, "--curve", directory)
    run = lograd(hosts, procs, "coordinator", "lograd-coordinator", "--bind", hosts.address["coordinator"],
                 "--workers", "2", "--chunk-size", "16KiB", "--curve", directory, "--json", path)
    status, report, err = run.finish(timeout=90)
    assert status == 0, err
    assert sorted(report["job"]["workers"]) == ["alice", "bob"] and "without encryption" not in err
    status, here, err = procs.coordinator(free_base_port(), "--local", "2", path)
    assert without_job(report) == without_job(here)


def test_a_partitioned_worker_host_loses_nothing(hosts, procs, tmp_path):
    from lograd.generate import generate_test_logs
    path = str(tmp_path / "big.log")
    generate_test_logs(20, path, "error_spike", seed=5)
    url = f"tcp://{hosts.address['coordinator']}:{PORT}"
    far = lograd(hosts, procs, "workers", "lograd-worker", "far", "--coordinator", url, "--verbose")
    run = lograd(hosts, procs, "coordinator", "lograd-coordinator", "--bind", hosts.address["coordinator"],
                 "--local", "1", "--workers", "2", "--chunk-size", "64KiB", "--json", path)
    wait_for(lambda: far.said("did chunk"), 60, "the far worker finishing a chunk")
    hosts.cut()  # the far host drops off the network mid-job
    status, report, err = run.finish(timeout=120)
    assert status == 0, err
    assert "listening on" in err and "without encryption" in err  # not loopback, no --curve: warned
    assert "worker far stopped answering" in err
    status, here, err = procs.coordinator(free_base_port(), "--local", "2", "--chunk-size", "64KiB", path)
    assert without_job(report) == without_job(here)
