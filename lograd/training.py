"""A profile-guided build of the compiled scanner (gcc): the scanner is built to count which
way each of its branches goes, reads a sample of every format as a worker reads its chunks,
and is built again laid out for those counts. One core's app scan went 776 -> ~900 MB/s
(benchmarks/parse.py, alternating runs), its instructions per byte down 16% (callgrind).

``make`` runs ``python -m lograd.training build`` after installing. Where any step fails (no
gcc, a compiler without the flags), the plain build is put back and one line says why: the
scanner is as correct either way, only slower.

    python -m lograd.training build   # the counting build, the workload, the final build
    python -m lograd.training run     # the workload alone, in this process
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE_MB = 4
"""Megabytes of each generated format the workload reads."""
VECTOR_BYTES = 1 << 20
"""Each bundled test vector (a few lines each) is repeated to about this many bytes."""


def workload(directory: str) -> list[str]:
    """Read a generated log of each format lograd generates, an access log as the benchmarks
    make one, and each bundled test vector (the other formats and dialects: syslog, log4j,
    ...) as a worker reads chunks, with templates counted and not; the formats read, as
    detected."""
    from .generate import FORMATS, generate_test_logs
    from .inputs import detect_format
    from .reader import summarise_chunk
    paths = []
    for fmt in FORMATS:
        path = os.path.join(directory, f"{fmt}.log")
        generate_test_logs(SAMPLE_MB, path, "error_spike", fmt=fmt)
        paths.append(path)
    try:  # access lines of many paths, clients and agents, as the benchmarks make them (a checkout)
        sys.path.insert(0, ROOT)
        from benchmarks.access_log import write_access_log
    except ImportError:
        pass
    else:
        path = os.path.join(directory, "access.log")
        write_access_log(path, int(SAMPLE_MB * 1e6))
        paths.append(path)
    finally:
        sys.path.remove(ROOT)
    for vector in sorted(glob.glob(os.path.join(ROOT, "test_vectors", "*", "*.log"))):
        with open(vector, "rb") as f:
            data = f.read()
        if not data.endswith(b"\n"):
            data += b"\n"
        path = os.path.join(directory, "vector-" + os.path.basename(vector))
        with open(path, "wb") as f:
            f.write(data * max(1, VECTOR_BYTES // max(len(data), 1)))
        paths.append(path)
    read = []
    for path in paths:
        fmt = detect_format(path)
        size = os.path.getsize(path)
        for templates in (True, False):
            summarise_chunk(path, 0, size, fmt=fmt, templates=templates)
        read.append(fmt)
    return read


def _scanner_file() -> str | None:
    """The built scanner in the checkout (the editable install's), or None."""
    found = glob.glob(os.path.join(ROOT, "lograd", "_scanner.*.so"))
    return found[0] if len(found) == 1 else None


def _build(step: str) -> None:
    """``setup.py build_ext --inplace`` with LOGRAD_PROFILE=``step`` (raises CalledProcessError)."""
    subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "--force"], cwd=ROOT, check=True,
                   env=dict(os.environ, LOGRAD_PROFILE=step), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _train() -> None:
    """The workload, in a process of its own: the counting scanner writes its counts as it exits."""
    subprocess.run([sys.executable, "-m", "lograd.training", "run"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def build() -> int:
    """The profile-guided build, or the plain one put back with a line saying why; 0 either way.

    The plain scanner is moved aside, never rewritten: a process that has it loaded (a
    running job) keeps reading the file it mapped, and each build writes a new file."""
    compiler = (sysconfig.get_config_var("CC") or "").split()
    scanner = _scanner_file()
    if not compiler or "gcc" not in os.path.basename(compiler[0]) or scanner is None:
        print("lograd: the scanner stays as built (a profile-guided build needs gcc and the built scanner)")
        return 0
    plain = scanner + ".plain"
    os.replace(scanner, plain)
    shutil.rmtree(os.path.join(ROOT, "build", "profile"), ignore_errors=True)
    try:
        _build("generate")
        _train()
        _build("use")
    except (OSError, subprocess.CalledProcessError) as exc:
        os.replace(plain, scanner)
        said = (getattr(exc, "stderr", None) or b"").decode("utf-8", "replace").strip().splitlines()
        print(f"lograd: the scanner stays as built (the profile-guided build failed: "
              f"{said[-1] if said else exc})")
        return 0
    except BaseException:  # Ctrl-C: the plain build back, then stop
        os.replace(plain, scanner)
        raise
    os.remove(plain)
    print("lograd: the scanner is built for the lines it reads (profile-guided)")
    return 0


def main(argv: list[str]) -> int:
    """``build`` or ``run`` (the module's docstring); 2 for anything else."""
    if argv == ["build"]:
        return build()
    if argv == ["run"]:
        with tempfile.TemporaryDirectory(prefix="lograd-training-") as directory:
            workload(directory)
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
