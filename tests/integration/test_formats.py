"""Real coordinator and workers over a directory of framework logs (issue #14's "done when")."""
import json
import os
import shutil

from tests.test_formats import EXPECTED, FORMATS_DIR, ms, pick, report_by_chunks


def test_a_directory_of_framework_logs_reports_each_as_the_samples_say(procs, base_port, tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for name, case in EXPECTED.items():
        shutil.copy(os.path.join(FORMATS_DIR, name), logs / name)
        stamp = ms(case["reference"]) / 1000  # dates the stamps without a year
        os.utime(logs / name, (stamp, stamp))
    status, report, err = procs.coordinator(base_port, "--local", "2", "--chunk-size", "64", str(logs))
    assert status == 0, err
    assert report["files_formats"] == {str(logs / n): c["format"] for n, c in sorted(EXPECTED.items())}
    assert report["format"] == "mixed"
    # the run over all files equals the in-process reading of each, summed
    assert report["entries"] == sum(c["want"]["entries"] for c in EXPECTED.values())
    for key in ("lines", "continuation_lines", "malformed_lines", "blank_lines", "errors"):
        each = [report_by_chunks(open(os.path.join(FORMATS_DIR, n), "rb").read(), 1 << 20,
                                 reference_ms=ms(c["reference"]), fmt=c["format"])[key]
                for n, c in EXPECTED.items()]
        assert report[key] == sum(each), key
    assert pick(report, "levels.NONE") == sum(c["want"]["levels"].get("NONE", 0) for c in EXPECTED.values())


def test_a_file_in_no_known_format_is_said_on_stderr(procs, base_port, tmp_path):
    path = tmp_path / "mystery.log"
    path.write_bytes(b"hello there\nthis is not a log\n")
    status, report, err = procs.coordinator(base_port, "--local", "1", str(path))
    assert "no known format in" in err and "hello there" in err and "--format" in err
    assert report["malformed_lines"] == 2 and json.dumps(report)
