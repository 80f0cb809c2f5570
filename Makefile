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
# The gateway image (image/): strip (binutils) and patchelf finish the bundle's shared
# objects, lintian checks the .deb (dpkg-deb packs it: part of dpkg).
IMAGE_DEBS := binutils patchelf lintian
# forwardd's outage tests start their own mosquitto (and CI's broker is Debian's).
TEST_DEBS := $(DEMO_DEBS) mbpoll systemd mosquitto $(IMAGE_DEBS)
# webd's pages: npm installs uPlot (web/package-lock.json; Debian's npm package only when
# no npm is on the PATH, as a NodeSource nodejs brings its own); the browser tests drive
# Debian's chromium with Playwright.
TEST_DEBS += chromium
UPLOT_DIST := web/node_modules/uplot/dist
VENDOR := daemons/webd/static/vendor
# webd's HTTPS test makes its certificate with the openssl CLI and checks it with curl.
TEST_DEBS += openssl curl
# hostd's tests use a real PostgreSQL (running on 127.0.0.1:5432, trust for postgres).
TEST_DEBS += postgresql

# opcuad's interop test runs node-opcua-client (hil-tests/opcua-node) with Node.js; npm
# comes with some nodejs builds and is Debian's separate `npm` package otherwise.
TEST_DEBS += nodejs
OPCUA_NODE := hil-tests/opcua-node

# Test workers (pytest-xdist): most tests wait on daemons and sockets, not the CPU.
PYTEST_WORKERS ?= 3

.PHONY: demo test lint bench clean system-deps-demo system-deps-test web image system-deps-image npm-deps

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

# uPlot for webd's trends, from web/package-lock.json, copied where webd serves it.
web: $(VENDOR)/uPlot.iife.min.js $(VENDOR)/uPlot.min.css

$(UPLOT_DIST)/uPlot.iife.min.js $(UPLOT_DIST)/uPlot.min.css: web/package-lock.json
	@command -v npm >/dev/null || scripts/ensure-system-packages.sh npm
	cd web && npm ci --no-audit --no-fund
	@touch $(UPLOT_DIST)/uPlot.iife.min.js $(UPLOT_DIST)/uPlot.min.css

$(VENDOR)/%: $(UPLOT_DIST)/%
	@mkdir -p $(VENDOR)
	cp $< $@

demo: system-deps-demo $(BIN)/.installed web
	$(BIN)/wellgate demo $(DEMO_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check .

test: system-deps-test $(BIN)/.installed web npm-deps lint
	@scripts/ensure-postgres.sh
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

system-deps-image:
	@scripts/ensure-system-packages.sh $(IMAGE_DEBS)

# The frozen bundle and wellgate_<version>_<arch>.deb in build/image/ (docs/image.md).
image: system-deps-image $(BIN)/.installed web
	$(BIN)/python image/build.py all

# npm ci installs exactly package-lock.json's versions; node_modules is never committed.
$(OPCUA_NODE)/node_modules/.installed: $(OPCUA_NODE)/package-lock.json
	@command -v npm >/dev/null || scripts/ensure-system-packages.sh npm
	cd $(OPCUA_NODE) && npm ci --no-audit --no-fund
	@touch $@

npm-deps: system-deps-test $(OPCUA_NODE)/node_modules/.installed

bench: $(BIN)/.installed
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info web/node_modules $(VENDOR) $(OPCUA_NODE)/node_modules
