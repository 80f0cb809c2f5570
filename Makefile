# wellgate: two commands do all the set-up on a fresh Debian machine with Python >= 3.11.
#   make demo   the whole stack on a simulated well site (SQLite, local files)
#   make test   install what the tests need, start the services, lint and run the tests
# Both are idempotent.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Debian packages: the demo needs socat (RS-485 over pseudo-terminal pairs); the tests
# also need mbpoll (an independent Modbus master), systemd-analyze (unit checks) and
# mosquitto (forwardd's tests start their own broker to stop it mid-test).
DEMO_DEBS := socat python3-venv
TEST_DEBS := $(DEMO_DEBS) mbpoll systemd mosquitto
# hostd's tests use a real PostgreSQL (running on 127.0.0.1:5432, trust for postgres).
TEST_DEBS += postgresql

.PHONY: demo test lint bench clean system-deps-demo system-deps-test

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "wellgate needs Python >= 3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	@touch $@

system-deps-demo:
	@scripts/ensure-system-packages.sh $(DEMO_DEBS)

system-deps-test:
	@scripts/ensure-system-packages.sh $(TEST_DEBS)

demo: system-deps-demo $(BIN)/.installed
	$(BIN)/wellgate demo $(DEMO_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: system-deps-test $(BIN)/.installed lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(BIN)/.installed
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info
