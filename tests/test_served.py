"""What a worker lists of its host's files when a coordinator asks (--serve, --on-workers):
lograd.inputs.served_files on a directory made here."""
import os

import pytest

from lograd.inputs import served_files

pytestmark = pytest.mark.timeout(10)


@pytest.fixture
def tree(tmp_path):
    """/log/nginx/{access.log,access.log.1}, /log/app/app.log, /secret/key, and a link
    from nginx to the secret."""
    (tmp_path / "log" / "nginx").mkdir(parents=True)
    (tmp_path / "log" / "app").mkdir()
    (tmp_path / "secret").mkdir()
    (tmp_path / "log" / "nginx" / "access.log").write_text(
        '10.0.0.1 - - [24/Jan/2024:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl"\n')
    (tmp_path / "log" / "nginx" / "access.log.1").write_text("")
    (tmp_path / "log" / "app" / "app.log").write_text("2024-01-24 10:00:00.000 INFO Request processed in 5ms\n")
    (tmp_path / "secret" / "key").write_text("2024-01-24 10:00:00.000 INFO secret\n")
    os.symlink(tmp_path / "secret" / "key", tmp_path / "log" / "nginx" / "leak.log")
    return tmp_path


def test_the_files_a_glob_matches_inside_the_served_directory_with_size_format_and_mtime(tree):
    nginx = str(tree / "log" / "nginx")
    rows, refused = served_files(f"{nginx}/access.log*", [nginx])
    assert refused == ""
    assert [r[0] for r in rows] == [f"{nginx}/access.log", f"{nginx}/access.log.1"]
    path, size, fmt, mtime_ms, compressed = rows[0]
    assert size == os.path.getsize(path) and fmt == "access" and compressed == 0
    assert mtime_ms == int(os.stat(path).st_mtime * 1000)


def test_a_glob_that_starts_above_the_served_directory_lists_only_what_lies_inside(tree):
    rows, refused = served_files(f"{tree}/log/*/*.log", [str(tree / "log" / "app")])
    assert refused == "" and [r[0] for r in rows] == [f"{tree}/log/app/app.log"]


def test_a_symlink_out_of_the_served_directory_is_not_listed(tree):
    nginx = str(tree / "log" / "nginx")
    rows, _ = served_files(f"{nginx}/*.log", [nginx])
    assert [r[0] for r in rows] == [f"{nginx}/access.log"]


@pytest.mark.parametrize("pattern", ["{tree}/secret/*", "{tree}/log/app/*", "relative/*.log"])
def test_a_glob_that_cannot_reach_a_served_directory_is_refused(tree, pattern):
    rows, refused = served_files(pattern.format(tree=tree), [str(tree / "log" / "nginx")])
    assert rows == [] and "lies outside the directories this worker serves" in refused


def test_a_worker_that_serves_nothing_refuses(tree):
    rows, refused = served_files(f"{tree}/log/*", [])
    assert rows == [] and "--serve DIR" in refused
