"""Compressed files, rotation sets and standard input, through real coordinators and workers."""
import gzip
import os

import zstandard

from tests.integration.conftest import LOGS

SAME = ("lines", "entries", "malformed_lines", "blank_lines", "continuation_lines", "levels", "errors",
        "response_time", "per_minute", "resources", "first_timestamp", "last_timestamp")


def figures(report):
    return {k: report[k] for k in SAME}


def test_a_rotation_set_with_gzip_and_zstd_reports_as_the_whole_log(procs, base_port, tmp_path):
    data = open(os.path.join(LOGS, "error_spike.log"), "rb").read()
    lines = data.splitlines(keepends=True)
    third = len(lines) // 3
    oldest, older, current = (b"".join(lines[:third]), b"".join(lines[third:2 * third]),
                              b"".join(lines[2 * third:]))
    (tmp_path / "app.log.2.gz").write_bytes(gzip.compress(oldest))
    (tmp_path / "app.log.1.zst").write_bytes(zstandard.ZstdCompressor().compress(older))
    (tmp_path / "app.log").write_bytes(current)
    status, rotated, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "4KiB", str(tmp_path))
    assert status == 0, err
    status, whole, err = procs.coordinator(base_port, "--local", "2", os.path.join(LOGS, "error_spike.log"))
    assert status == 0, err
    assert figures(rotated) == figures(whole)
    assert set(rotated["files_formats"].values()) == {"app"}


def test_standard_input_reports_as_the_file(procs, base_port):
    path = os.path.join(LOGS, "malformed.log")
    data = open(path, "rb").read()
    status, piped, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "2KiB", "-", stdin=data)
    assert status == 0, err
    status, read, err = procs.coordinator(base_port, "--local", "2", path)
    assert figures(piped) == figures(read)
    assert piped["files"] == ["-"] and piped["files_formats"] == {"-": "app"}
    assert {s["file"] for s in piped["malformed_samples"]} == {"-"}
    assert [s["offset"] for s in piped["malformed_samples"]] == [s["offset"] for s in read["malformed_samples"]]


def test_compressed_standard_input_is_read_decompressed(procs, base_port):
    data = open(os.path.join(LOGS, "normal.log"), "rb").read()
    status, report, err = procs.coordinator(base_port, "--local", "1", "-", stdin=gzip.compress(data))
    assert status == 0, err
    assert report["entries"] == 3000 and report["malformed_lines"] == 0


def test_a_damaged_gzip_is_a_failed_chunk_and_the_rest_is_reported(procs, base_port, tmp_path):
    good = open(os.path.join(LOGS, "normal.log"), "rb").read()
    (tmp_path / "a.log").write_bytes(good)
    (tmp_path / "b.log.gz").write_bytes(gzip.compress(good)[:5000])  # cut short, as by a full disk
    status, report, err = procs.coordinator(base_port, "--local", "1", "--max-attempts", "1", str(tmp_path))
    assert status == 1, err
    assert report["entries"] == 3000
    [failed] = report["job"]["failed_chunks"]
    assert failed["file"].endswith("b.log.gz") and "damaged gzip" in failed["reason"]
    assert "Traceback" not in err
