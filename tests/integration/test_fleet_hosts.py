"""Issue #19's "done when": three hosts, each with its own logs under the same path that no
other host (nor the coordinator) can read, queried where they lie.

Each host is a network namespace joined to the coordinator's by a veth pair, and its
worker runs in a mount namespace of its own with a tmpfs at the same directory, holding
that host's files: the path is the same on every host, the files differ, and the
coordinator's machine sees an empty directory there. The first test runs over CurveZMQ.
Needs root, iproute2's ``ip`` and util-linux's ``unshare``.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import uuid

import pytest

from benchmarks.access_log import write_access_log
from lograd.generate import generate_test_logs
from tests.integration.conftest import BIN, Running, free_base_port, ip, namespaced, start_in, wait_for, without_job
from tests.integration.test_hosts import keys

pytestmark = pytest.mark.timeout(150)

HOSTS = ("web-1", "web-2", "web-3")
PORT = 5555


class Fleet:
    """A coordinator namespace and one namespace per host, each on its own link to it."""

    def __init__(self, tmp_path) -> None:
        tag = uuid.uuid4().hex[:6]
        self.coordinator = f"lfc-{tag}"
        self.namespaces = {h: f"lf{n}-{tag}" for n, h in enumerate(HOSTS)}
        self.links = []
        subnet = int(tag[:2], 16) % 200 + 20
        ip("netns", "add", self.coordinator)
        ip("-n", self.coordinator, "link", "set", "lo", "up")
        self.address: dict[str, str] = {}
        for n, (host, ns) in enumerate(self.namespaces.items()):
            ip("netns", "add", ns)
            link = f"lf{n}{tag}"
            self.links.append(link)
            ip("link", "add", f"{link}a", "type", "veth", "peer", "name", f"{link}b")
            for namespace, end, address in ((self.coordinator, "a", f"10.{subnet}.{n}.1"),
                                            (ns, "b", f"10.{subnet}.{n}.2")):
                ip("link", "set", f"{link}{end}", "netns", namespace)
                ip("-n", namespace, "addr", "add", f"{address}/24", "dev", f"{link}{end}")
                ip("-n", namespace, "link", "set", f"{link}{end}", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            self.address[host] = f"10.{subnet}.{n}.1"  # where this host reaches the coordinator
        self.mount_point = str(tmp_path / "var-log")  # the same path on every host
        os.mkdir(self.mount_point)

    def remove(self) -> None:
        for ns in [self.coordinator, *self.namespaces.values()]:
            ip("netns", "delete", ns, check=False)


@pytest.fixture
def fleet(procs, tmp_path):
    yield from namespaced(procs, lambda: Fleet(tmp_path), ("ip", "unshare"))


@pytest.fixture(scope="module")
def own_files(tmp_path_factory):
    """Each host's files where they are made: an app log and an nginx access log each."""
    root = tmp_path_factory.mktemp("own")
    made = {}
    for n, host in enumerate(HOSTS):
        d = root / host
        d.mkdir()
        generate_test_logs(0.5, str(d / "app.log"), "error_spike", seed=40 + n)
        write_access_log(str(d / "access.log"), 300_000, seed=50 + n)
        made[host] = str(d)
    return made


def host_worker(fleet: Fleet, procs, host: str, source: str, *extra: str) -> Running:
    """The host's worker in its own mount namespace: a tmpfs at the shared path, with this
    host's files copied in, and nothing else of them anywhere it or others can see."""
    worker = [sys.executable, os.path.join(BIN, "lograd-worker"), f"w-{host}", "--hostname", host,
              "--coordinator", f"tcp://{fleet.address[host]}:{PORT}", "--serve", fleet.mount_point, "--verbose",
              *extra]
    script = 'mount -t tmpfs tmpfs "$1" && cp "$2"/* "$1"/ && shift 2 && exec "$@"'
    return start_in(procs, ["ip", "netns", "exec", fleet.namespaces[host], "unshare", "--mount", "--propagation",
                         "private", "sh", "-c", script, "sh", fleet.mount_point, source, *worker])


def coordinator(fleet: Fleet, procs, *args: str) -> Running:
    return start_in(procs, ["ip", "netns", "exec", fleet.coordinator, sys.executable,
                         os.path.join(BIN, "lograd-coordinator"), "--bind", "0.0.0.0", "--port", str(PORT),
                         "--json", "--workers", "3", *args])


def test_three_hosts_own_logs_give_the_one_machine_report_with_per_host_figures(fleet, procs, own_files, tmp_path):
    directory = keys(tmp_path)  # over CurveZMQ, as a fleet across a network would run
    for host in HOSTS:
        host_worker(fleet, procs, host, own_files[host], "--curve", directory)
    assert os.listdir(fleet.mount_point) == [], "the coordinator's machine sees none of the hosts' files"
    status, report, err = coordinator(fleet, procs, "--chunk-size", "64KiB", "--curve", directory,
                                      "--on-workers", f"{fleet.mount_point}/*.log").finish(120)
    assert status == 0, err
    names = [f"{h}:{fleet.mount_point}/{f}" for h in HOSTS for f in ("access.log", "app.log")]
    assert report["files"] == names
    local_paths = [os.path.join(own_files[n.split(":")[0]], os.path.basename(n)) for n in names]
    status, local, err = procs.coordinator(free_base_port(), "--local", "2", "--chunk-size", "64KiB", *local_paths)
    assert status == 0, err
    text = json.dumps(report)
    for host in HOSTS:
        text = text.replace(f'"{host}:{fleet.mount_point}/', f'"{own_files[host]}/')
    fleet_report = json.loads(text)
    hosts = fleet_report.pop("hosts")
    assert without_job(fleet_report) == without_job(local)
    assert sorted(hosts) == list(HOSTS)
    assert sum(h["entries"] for h in hosts.values()) == local["total_requests"]
    for host in HOSTS:
        assert hosts[host]["bytes"] == sum(os.path.getsize(os.path.join(own_files[host], f))
                                           for f in ("access.log", "app.log"))


def test_a_hosts_only_worker_killed_gives_a_report_naming_its_missing_chunks_and_exit_1(fleet, procs, own_files):
    workers = {h: host_worker(fleet, procs, h, own_files[h], "--capacity", "1") for h in HOSTS}
    job = coordinator(fleet, procs, "--chunk-size", "16KiB", "--join-timeout", "2",
                      "--on-workers", f"{fleet.mount_point}/*.log")
    wait_for(lambda: workers["web-3"].said(" did chunk "), 60, "web-3 to read a chunk")
    # the worker is the last of its host's process chain (ip, unshare, sh exec'd into python)
    os.kill(workers["web-3"].pid, signal.SIGKILL)
    status, report, err = job.finish(120)
    assert status == 1, err
    failed = report["job"]["failed_chunks"]
    assert failed and {row["reason"] for row in failed} == {"host web-3 unavailable"}
    assert all(row["file"].startswith(f"web-3:{fleet.mount_point}/") for row in failed)
    assert report["hosts"]["web-1"]["entries"] > 0 and report["hosts"]["web-2"]["entries"] > 0
