# Two commands do everything on a fresh machine: `make demo` and `make test`.
# Both create .venv and install the project (with the pins in constraints.txt) on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.installed

# The oldest dependencies pyproject.toml admits (constraints-oldest.txt), in a venv of their own;
# numba's cache goes to a folder of that venv so the two numba versions do not evict each other.
OLD_VENV := .venv-oldest
OLD_PY := $(OLD_VENV)/bin/python
OLD_STAMP := $(OLD_VENV)/.installed
# The env-only install (`pip install -e .`: gymnasium, numpy, numba) on the oldest Python the
# package admits (requires-python), with the newest releases of those three.
ENV_VENV := .venv-env-only
ENV_PY := $(ENV_VENV)/bin/python
ENV_STAMP := $(ENV_VENV)/.installed
# RLlib (the rllib extra) pins gymnasium below the main venv's, so it gets a venv of its own,
# with a numba cache of its own (its other pins may differ from the main venv's).
RLLIB_VENV := .venv-rllib
RLLIB_PY := $(RLLIB_VENV)/bin/python
RLLIB_STAMP := $(RLLIB_VENV)/.installed
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $(HOME)/.pyenv)
PYTHON_OLDEST ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.10*/bin/python3.10 \
	/usr/local/bin/python3.10 /usr/bin/python3.10))

.PHONY: install demo test test-slow test-oldest test-env-only test-xcheck test-rllib bench lint clean

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -c constraints.txt -e '.[train,dev,lint,tune]'
	$(PY) -m mm_env.warmup
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m train demo

test: $(STAMP)
	$(PY) -m pytest -q

test-slow: $(STAMP)
	$(PY) -m pytest -q -m slow

$(OLD_STAMP): pyproject.toml constraints-oldest.txt
	test -x $(OLD_PY) || $(PYTHON) -m venv $(OLD_VENV)
	$(OLD_PY) -m pip install --quiet --upgrade pip
	$(OLD_PY) -m pip install --quiet -c constraints-oldest.txt -e '.[train,dev,tune]'
	touch $(OLD_STAMP)

# The fast suite under the floors of every dependency range in pyproject.toml.
test-oldest: $(OLD_STAMP)
	$(OLD_PY) -m pip freeze --exclude-editable | grep -iE '^(numpy|numba|gymnasium|pandas|pyarrow|stable.baselines3|scipy|ray|optuna)=='
	NUMBA_CACHE_DIR=$(CURDIR)/$(OLD_VENV)/numba-cache $(OLD_PY) -m pytest -q -p no:cacheprovider

$(ENV_STAMP): pyproject.toml
	@test -n "$(PYTHON_OLDEST)" || { echo "no Python 3.10 found (requires-python's floor); set PYTHON_OLDEST=/path/to/python3.10"; exit 1; }
	test -x $(ENV_PY) || $(PYTHON_OLDEST) -m venv $(ENV_VENV)
	$(ENV_PY) -m pip install --quiet --upgrade pip
	$(ENV_PY) -m pip install --quiet -e . pytest hypothesis
	touch $(ENV_STAMP)

# The fast suite with only the core dependencies: tests that need pandas, stable-baselines3 or
# torch skip, saying which package is missing; everything else must pass.
test-env-only: $(ENV_STAMP)
	$(ENV_PY) --version
	NUMBA_CACHE_DIR=$(CURDIR)/$(ENV_VENV)/numba-cache $(ENV_PY) -m pytest -q -p no:cacheprovider

# The fill-for-fill check against hftbacktest, in a venv of its own (hftbacktest 2.4.4 needs
# numpy < 2.3; the main venv tests the newest numpy).
XC_VENV := .venv-xcheck
XC_PY := $(XC_VENV)/bin/python
XC_STAMP := $(XC_VENV)/.installed

$(XC_STAMP): pyproject.toml constraints.txt
	test -x $(XC_PY) || $(PYTHON) -m venv $(XC_VENV)
	$(XC_PY) -m pip install --quiet --upgrade pip
	$(XC_PY) -m pip install --quiet -c constraints.txt -e '.[dev,xcheck]'
	touch $(XC_STAMP)

# numba's cache of its own: its numpy differs from the main venv's.
test-xcheck: $(XC_STAMP)
	NUMBA_CACHE_DIR=$(CURDIR)/$(XC_VENV)/numba-cache $(XC_PY) -m pytest -q -p no:cacheprovider \
		-m 'slow or not slow' tests/test_xcheck_hftbacktest.py

$(RLLIB_STAMP): pyproject.toml constraints.txt
	test -x $(RLLIB_PY) || $(PYTHON) -m venv $(RLLIB_VENV)
	$(RLLIB_PY) -m pip install --quiet --upgrade pip
	$(RLLIB_PY) -m pip install --quiet -c constraints.txt -e '.[rllib,dev]'
	touch $(RLLIB_STAMP)

# RLlib's PPO on the registered envs (tests/test_rllib.py, slow-marked smoke tests).
test-rllib: $(RLLIB_STAMP)
	$(RLLIB_PY) -m pip freeze --exclude-editable | grep -iE '^(gymnasium|numpy|ray|torch)=='
	NUMBA_CACHE_DIR=$(CURDIR)/$(RLLIB_VENV)/numba-cache $(RLLIB_PY) -m pytest -q \
		-p no:cacheprovider -m slow tests/test_rllib.py

bench: $(STAMP)
	$(PY) benchmarks/bench_env.py
	$(PY) benchmarks/bench_vector.py
	$(PY) benchmarks/bench_replay.py
	$(PY) benchmarks/bench_ppo.py
	$(PY) benchmarks/bench_sensitivity.py
	$(PY) benchmarks/bench_omp_wait.py --rounds 1
	$(PY) benchmarks/bench_omp_wake.py

lint: $(STAMP)
	$(PY) -m ruff check mm_env baselines train tests benchmarks
	$(PY) -m ruff format --check mm_env baselines train tests benchmarks
	$(PY) -m mypy mm_env baselines train benchmarks

clean:
	rm -rf $(VENV) $(OLD_VENV) $(ENV_VENV) $(XC_VENV) $(RLLIB_VENV) reports .pytest_cache
