"""The profile-guided build of the scanner (lograd.training): its workload reads every format,
and any failure puts the plain build back (a build that cannot be made is only slower)."""
import os
import subprocess

import pytest

from lograd import training


def test_the_workload_reads_every_format_lograd_has_a_scanner_for(tmp_path, monkeypatch):
    """What the counting scanner never runs is not laid out for: each format's lines are read."""
    monkeypatch.setattr(training, "SAMPLE_MB", 0.05)
    monkeypatch.setattr(training, "VECTOR_BYTES", 4096)
    read = set(training.workload(str(tmp_path)))
    assert {"app", "conn", "json", "text", "logfmt", "syslog", "access"} <= read
    assert any(name.startswith("cri+") for name in read) and any(name.startswith("docker+") for name in read)


def _fake_checkout(tmp_path, monkeypatch) -> str:
    (tmp_path / "lograd").mkdir()
    scanner = tmp_path / "lograd" / "_scanner.cpython-311-x86_64-linux-gnu.so"
    scanner.write_bytes(b"the plain build")
    monkeypatch.setattr(training, "ROOT", str(tmp_path))
    monkeypatch.setattr(training.sysconfig, "get_config_var", lambda name: "gcc -pthread" if name == "CC" else None)
    return str(scanner)


def test_a_failed_step_puts_the_plain_build_back_and_says_why(tmp_path, monkeypatch, capsys):
    scanner = _fake_checkout(tmp_path, monkeypatch)
    steps = []

    def build(step):
        steps.append(step)
        if step == "use":
            raise subprocess.CalledProcessError(1, "setup.py", stderr=b"cc1: error: unrecognized option\n")
        with open(scanner, "wb") as f:  # what setup.py writes: a new file where the plain one was
            f.write(b"the counting build")

    monkeypatch.setattr(training, "_build", build)
    monkeypatch.setattr(training, "_train", lambda: steps.append("train"))
    assert training.build() == 0
    assert steps == ["generate", "train", "use"]
    with open(scanner, "rb") as f:
        assert f.read() == b"the plain build"
    assert not os.path.exists(scanner + ".plain")
    said = capsys.readouterr().out
    assert "stays as built" in said and "unrecognized option" in said


def test_ctrl_c_during_the_build_puts_the_plain_build_back(tmp_path, monkeypatch):
    scanner = _fake_checkout(tmp_path, monkeypatch)
    monkeypatch.setattr(training, "_build", lambda step: open(scanner, "wb").write(b"the counting build"))

    def interrupted():
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "_train", interrupted)
    with pytest.raises(KeyboardInterrupt):
        training.build()
    with open(scanner, "rb") as f:
        assert f.read() == b"the plain build"


def test_the_plain_build_stays_without_gcc(tmp_path, monkeypatch, capsys):
    scanner = _fake_checkout(tmp_path, monkeypatch)
    monkeypatch.setattr(training.sysconfig, "get_config_var", lambda name: "clang" if name == "CC" else None)
    monkeypatch.setattr(training, "_build", lambda step: (_ for _ in ()).throw(AssertionError("built without gcc")))
    assert training.build() == 0
    with open(scanner, "rb") as f:
        assert f.read() == b"the plain build"
    assert "needs gcc" in capsys.readouterr().out
