# Quickstart: `make demo` and `make test`. Both make .venv when it is missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): setup.cfg setup.py pyproject.toml lograd/_scanner.pyx lograd/training.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# compat: the checkout on sys.path by a plain .pth, not an import hook that loads pathlib (12 ms per process)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test]' --config-settings editable_mode=compat
	# the scanner built again for the lines it reads (gcc's profile-guided optimisation; the plain build stays where that fails)
	$(PY) -m lograd.training build
	$(PY) -m compileall -q lograd  # bytecode now: each command starts faster, even where none is written
	touch $(STAMP)

demo: $(STAMP)
	$(PY) bin/lograd-coordinator --local 3 --workers 3 test_vectors/logs/

test: $(STAMP)
	$(PY) -m pytest -q

bench: $(STAMP)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[test,bench]' --config-settings editable_mode=compat
	$(PY) -m lograd.training build
	$(PY) benchmarks/throughput.py
	$(PY) benchmarks/connections.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache lograd/_scanner.c lograd/*.so
