"""The bundled test vectors: the assessment's expected results, the reference, the generator."""
import math
import os
import shlex

import pytest

from lograd.cli import generate_main
from lograd.generate import generate_test_logs
from tests import reference
from tests.test_chunking import report_by_chunks

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOGS = os.path.join(ROOT, "test_vectors", "logs")


def manifest():
    with open(os.path.join(ROOT, "test_vectors", "generate.txt")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                name, *args = shlex.split(line)
                yield name, args


def read(name):
    with open(os.path.join(LOGS, name), "rb") as f:
        return f.read()


def test_normal_log_gives_the_assessments_expected_results():
    # The original assessment: total_requests 3000, requests_per_second 50.0,
    # avg_response_time 109.0 (within 1%), error_rate 0.0.
    r = report_by_chunks(read("normal.log"), 4096)
    assert r["total_requests"] == 3000
    assert r["requests_per_second"] == 50.0
    assert math.isclose(r["avg_response_time"], 109.0, rel_tol=0.01)
    assert r["error_rate"] == 0.0


def test_malformed_log_gives_the_assessments_expected_results():
    # The original assessment: malformed_lines 30, total_requests 200.
    r = report_by_chunks(read("malformed.log"), 1000)
    assert r["malformed_lines"] == 30
    assert r["total_requests"] == 200


def test_error_spike_log_has_its_spike_in_the_middle_minute():
    minutes = report_by_chunks(read("error_spike.log"), 8192)["per_minute"]
    worst = max(minutes, key=lambda m: m["error_rate"])
    assert worst["minute"] == "2024-01-24T11:02" and worst["error_rate"] > 0.4
    assert all(m["error_rate"] < 0.2 for m in minutes if m is not worst)


@pytest.mark.parametrize("name", [n for n, _ in manifest()])
def test_every_vector_matches_the_reference(name):
    data = read(name)
    reference.assert_matches(report_by_chunks(data, 3001), reference.report(data))


@pytest.mark.parametrize("name, args", list(manifest()))
def test_vectors_are_reproduced_by_their_command(name, args, tmp_path):
    out = tmp_path / name
    assert generate_main([*args, str(out)]) == 0
    assert out.read_bytes() == read(name)


def test_generator_is_deterministic_per_seed_and_sized(tmp_path):
    a, b, c = (tmp_path / x for x in "abc")
    generate_test_logs(0.5, str(a), "error_spike", seed=5)
    generate_test_logs(0.5, str(b), "error_spike", seed=5)
    generate_test_logs(0.5, str(c), "error_spike", seed=6)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    assert 0.45e6 < len(a.read_bytes()) <= 0.5e6 and a.read_bytes().endswith(b"\n")


def test_generator_usage_errors_exit_2(tmp_path, capsys):
    assert generate_main(["--profile", "chaos", str(tmp_path / "x")]) == 2
    assert "choose one of normal, error_spike, malformed" in capsys.readouterr().err
