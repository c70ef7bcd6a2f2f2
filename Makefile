# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the project (with the pins in constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

.PHONY: install demo test test-slow bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[train,dev]'
	$(PY) -m mm_env.warmup
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m train demo

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

bench: $(STAMP)
	$(PY) benchmarks/bench_env.py
	$(PY) benchmarks/bench_vector.py
	$(PY) benchmarks/bench_replay.py
	$(PY) benchmarks/bench_ppo.py

lint: $(STAMP)
	$(PY) -m ruff check mm_env baselines train tests benchmarks
	$(PY) -m ruff format --check mm_env baselines train tests benchmarks

clean:
	rm -rf $(VENV) reports .pytest_cache
