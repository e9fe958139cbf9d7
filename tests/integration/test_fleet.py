"""Issue #19 on one machine: workers that serve their own host's files (``--serve``, a host
name each), a coordinator that asks them (``--on-workers``), nothing shipped but partials.
Real processes and sockets; the hosts are told apart by ``--hostname`` and each serves a
directory of its own. The same with network namespaces, where hosts share no path:
tests/integration/test_hosts.py."""
from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from benchmarks.access_log import write_access_log
from lograd.generate import generate_test_logs
from tests.integration.conftest import free_base_port, wait_for, without_job

pytestmark = pytest.mark.timeout(150)

HOSTS = ("web-1", "web-2", "web-3")


@pytest.fixture(scope="module")
def fleet_dirs(tmp_path_factory):
    """Each host's own directory: an app log and an access log of its own (different seeds)."""
    root = tmp_path_factory.mktemp("fleet")
    dirs = {}
    for n, host in enumerate(HOSTS):
        d = root / host / "log"
        d.mkdir(parents=True)
        generate_test_logs(0.4, str(d / "app.log"), "error_spike", seed=20 + n)
        write_access_log(str(d / "access.log"), 200_000, seed=30 + n)
        dirs[host] = str(d)
    return dirs


def serve(procs, port, host, directory, *extra):
    return procs.watched("lograd-worker", f"w-{host}", "--coordinator", f"tcp://127.0.0.1:{port}",
                         "--hostname", host, "--serve", directory, "--verbose", *extra)


def named_locally(report: dict) -> dict:
    """The fleet report with HOST:PATH written PATH, and without the keys only it has."""
    text = json.dumps(report)
    for host in HOSTS:
        text = text.replace(f'"{host}:/', '"/')
    plain = json.loads(text)
    plain.pop("hosts", None)
    return without_job(plain)


def test_a_fleet_report_equals_the_one_machine_report_of_the_same_files(procs, fleet_dirs):
    port = free_base_port()
    for host in HOSTS:
        serve(procs, port, host, fleet_dirs[host])
    patterns = [f"{host}:{fleet_dirs[host]}/*.log" for host in HOSTS]
    status, fleet, err = procs.coordinator(port, "--workers", "3", "--chunk-size", "64KiB",
                                           *[a for p in patterns for a in ("--on-workers", p)])
    assert status == 0, err
    names = [f"{h}:{fleet_dirs[h]}/{f}" for h in HOSTS for f in ("access.log", "app.log")]
    assert fleet["files"] == names, "HOST:PATH, by host then path"
    # one machine, the same files named as the fleet orders them
    status, local, err = procs.coordinator(free_base_port(), "--local", "2", "--chunk-size", "64KiB",
                                           *[n.split(":", 1)[1] for n in names])
    assert status == 0, err
    assert named_locally(fleet) == without_job(local)
    for host in HOSTS:
        row = fleet["hosts"][host]
        mine = [i for i, name in enumerate(names) if name.startswith(host + ":")]
        assert row["files"] == 2
        assert row["bytes"] == sum(os.path.getsize(names[i].split(":", 1)[1]) for i in mine)
        assert row["entries"] > 0 and 0 <= row["error_rate"] <= 1
        assert row["error_rate"] == round(row["errors"] / row["entries"], 6)
    assert sum(fleet["hosts"][h]["entries"] for h in HOSTS) == fleet["total_requests"]
    workers = fleet["job"]["workers"]
    assert all(workers[f"w-{h}"]["chunks"] > 0 for h in HOSTS), "each host's worker read its own files"


def test_a_glob_outside_a_workers_serve_directories_is_refused_and_reported_per_host(procs, fleet_dirs, tmp_path):
    port = free_base_port()
    serve(procs, port, "web-1", fleet_dirs["web-1"])
    outside = str(tmp_path / "elsewhere")
    os.mkdir(outside)
    shutil.copy(os.path.join(fleet_dirs["web-2"], "app.log"), outside)
    status, report, err = procs.coordinator(port, "--workers", "1", "--on-workers", f"{outside}/*.log",
                                            "--on-workers", f"{fleet_dirs['web-1']}/app.log")
    assert status == 1, err  # a report, but not everything asked could be read
    assert report["files"] == [f"web-1:{fleet_dirs['web-1']}/app.log"]
    reasons = {row["file"]: row["reason"] for row in report["unreadable_files"]}
    assert "lies outside the directories this worker serves" in reasons[f"web-1:{outside}/*.log"]
    assert "host web-1 refused to list" in err


def test_a_hosts_only_worker_killed_leaves_its_chunks_failed_with_the_host_named(procs, fleet_dirs):
    port = free_base_port()
    workers = {h: serve(procs, port, h, fleet_dirs[h], "--capacity", "1") for h in HOSTS}
    job = procs.watched("lograd-coordinator", "--port", str(port), "--json", "--workers", "3",
                        "--chunk-size", "16KiB", "--join-timeout", "2",
                        *[a for h in HOSTS for a in ("--on-workers", f"{h}:{fleet_dirs[h]}/*.log")])
    wait_for(lambda: workers["web-2"].said(" did chunk "), 60, "web-2 to read a chunk")
    os.kill(workers["web-2"].pid, signal.SIGKILL)
    status, report, err = job.finish(120)
    assert status == 1, err
    failed = report["job"]["failed_chunks"]
    assert failed and all(row["reason"] == "host web-2 unavailable" for row in failed)
    assert all(row["file"].startswith("web-2:") for row in failed)
    assert "host web-2 has had no worker for 2 s" in err
    assert report["hosts"]["web-1"]["entries"] > 0 and report["hosts"]["web-3"]["entries"] > 0


def test_last_over_a_fleet_takes_the_newest_entry_of_every_host(procs, fleet_dirs):
    port = free_base_port()
    for host in HOSTS:
        serve(procs, port, host, fleet_dirs[host])
    patterns = [a for h in HOSTS for a in ("--on-workers", f"{h}:{fleet_dirs[h]}/app.log")]
    status, fleet, err = procs.coordinator(port, "--workers", "3", "--chunk-size", "64KiB", "--last", "120", *patterns)
    assert status == 0, err
    paths = [f"{fleet_dirs[h]}/app.log" for h in HOSTS]
    status, local, err = procs.coordinator(free_base_port(), "--local", "2", "--chunk-size", "64KiB", "--last", "120",
                                           *paths)
    assert status == 0, err
    assert fleet["window"] == local["window"] and fleet["window"] is not None
    assert named_locally(fleet) == without_job(local)
    assert fleet["job"]["scan_chunks"] == local["job"]["scan_chunks"] > 0


def test_shared_paths_and_a_hosts_own_files_in_one_job(procs, fleet_dirs):
    # shared paths go to the workers that serve no host's files (here the --local one); a
    # host's files only to that host's workers
    port = free_base_port()
    serve(procs, port, "web-1", fleet_dirs["web-1"])
    shared = f"{fleet_dirs['web-2']}/app.log"  # a path every worker of this machine can open
    status, report, err = procs.coordinator(port, "--local", "1", "--workers", "2", "--chunk-size", "64KiB",
                                            "--on-workers", f"web-1:{fleet_dirs['web-1']}/app.log", shared)
    assert status == 0, err
    assert report["files"] == [shared, f"web-1:{fleet_dirs['web-1']}/app.log"]
    assert list(report["hosts"]) == ["web-1"]
    workers = report["job"]["workers"]
    assert workers["w-web-1"]["bytes"] == os.path.getsize(f"{fleet_dirs['web-1']}/app.log")
    assert workers["local-1"]["bytes"] == os.path.getsize(shared)


def test_shared_paths_with_only_serving_workers_fail_with_the_reason(procs, fleet_dirs):
    port = free_base_port()
    serve(procs, port, "web-1", fleet_dirs["web-1"])
    status, report, err = procs.coordinator(port, "--workers", "1", "--join-timeout", "1",
                                            f"{fleet_dirs['web-2']}/app.log")
    assert status == 1, err
    reasons = {row["reason"] for row in report["job"]["failed_chunks"]}
    assert reasons == {"no worker reads shared paths (a worker started with --serve reads only its host's files)"}


def test_follow_mode_follows_each_hosts_own_files_growth_and_rotation_included(procs, tmp_path):
    from tests.integration.test_follow_mode import Follow, app_lines, append
    port = free_base_port()
    dirs = {h: tmp_path / h for h in ("web-1", "web-2")}
    for host, d in dirs.items():
        d.mkdir()
        (d / "app.log").write_bytes(app_lines(10))
        serve(procs, port, host, str(d))
    run = Follow(procs.start("lograd-coordinator", "--port", str(port), "--workers", "2", "--follow", "--every",
                             "0.5", "--json", "--on-workers", f"{tmp_path}/*/app.log*"))
    report = run.wait_report("both hosts' first lines", lambda r: r["lines"] == 20)
    assert sorted(report["files"]) == [f"{h}:{dirs[h]}/app.log" for h in ("web-1", "web-2")]
    assert {h: row["entries"] for h, row in report["hosts"].items()} == {"web-1": 10, "web-2": 10}
    append(dirs["web-1"] / "app.log", app_lines(5, first=10) + app_lines(1)[:20])  # and half a line
    run.wait_report("web-1's 5 more", lambda r: r["lines"] == 25)
    os.rename(dirs["web-2"] / "app.log", dirs["web-2"] / "app.log.1")  # rotation by rename, within the glob
    append(dirs["web-2"] / "app.log.1", app_lines(3, first=10))  # its last lines, written after the rename
    (dirs["web-2"] / "app.log").write_bytes(app_lines(4, first=13))
    append(dirs["web-1"] / "app.log", app_lines(1)[20:])  # the half line completed: counted once
    report = run.wait_report("the rotated file's rest, the new file and the completed line",
                             lambda r: r["lines"] == 33)
    assert report["hosts"]["web-2"]["entries"] == 17 and report["hosts"]["web-1"]["entries"] == 16
    status, final = run.stop()
    assert status == 0 and final["lines"] == 33 and final["unreadable_files"] == []


def test_a_fleet_follow_run_restarted_with_its_state_reads_each_hosts_new_lines_once(procs, tmp_path):
    from tests.integration.test_follow_mode import Follow, app_lines, append
    port = free_base_port()
    logs = {h: tmp_path / h / "app.log" for h in ("web-1", "web-2")}
    for host, log in logs.items():
        log.parent.mkdir()
        log.write_bytes(app_lines(6))
        serve(procs, port, host, str(log.parent))
    state = str(tmp_path / "fleet.state")

    def coordinator() -> Follow:
        return Follow(procs.start("lograd-coordinator", "--port", str(port), "--workers", "2", "--follow", "--every",
                                  "0.5", "--json", "--state", state, "--on-workers", f"{tmp_path}/*/app.log"))
    run = coordinator()
    run.wait_report("the first lines", lambda r: r["lines"] == 12)
    status, final = run.stop()
    assert status == 0 and final["lines"] == 12
    append(logs["web-1"], app_lines(4, first=6))  # written while no coordinator ran
    append(logs["web-2"], app_lines(2, first=6))
    run = coordinator()
    report = run.wait_report("only the new lines, once", lambda r: r["lines"] == 18)
    assert report["files"] == [f"{h}:{logs[h]}" for h in ("web-1", "web-2")]
    status, final = run.stop()
    assert status == 0 and final["lines"] == 18
