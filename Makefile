# Two commands matter: `make demo` and `make test`. Everything else is a helper.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The demo needs the runtime only (no test and lint toolchain): its own stamp, satisfied by the dev one too.
RUNTIME := $(VENV)/.runtime
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: demo demo-ha test venv lint typecheck bench clean

$(STAMP): pyproject.toml
	@test -n "$(PY)" || { echo "need Python 3.11 (python3.11 or python3)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

$(RUNTIME): pyproject.toml
	@test -n "$(PY)" || { echo "need Python 3.11 (python3.11 or python3)"; exit 1; }
	test -d $(VENV) || $(PY) -m venv $(VENV)
	test -f $(STAMP) -a $(STAMP) -nt pyproject.toml || $(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

venv: $(STAMP)

# demo mode: the public demo secrets and a database of its own (var/sscard.db) marked as the demo's
demo: $(RUNTIME)
	SSCARD_MODE=demo $(BIN)/sscard demo --serve --host $(HOST) --port $(PORT)

# the demo city on a local two-site cluster: etcd + three Patroni-managed PostgreSQL nodes + pgBackRest on
# loopback (docs/dr.md; needs .ci/install-dr.sh's packages); Ctrl-C stops every process, `rm -rf var/ha` resets
demo-ha: $(STAMP)
	$(BIN)/sscard dr local --root var/ha --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

bench: $(STAMP)
	$(BIN)/python bench/lifecycle.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
