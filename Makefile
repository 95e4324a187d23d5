# One obvious command per chore. `make run` serves, `make test` tests; both do all set-up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup run test check lint format-check types imports pad-tests bench soak docker image static browser dist clean cluster cluster-down cluster-test cluster-packages

setup: $(VENV)/.installed docker image static

run: setup
	HOST=$(HOST) PORT=$(PORT) $(PY) -m padbox

test: setup browser cluster-packages
	$(PY) -m pytest $(PYTEST_ARGS)

# The static checks; none needs Docker. `make -k check` runs them all even when one fails (CI does).
check: lint format-check types imports pad-tests

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check server tests bench runner-image padbox_dev

format-check: $(VENV)/.installed
	$(VENV)/bin/ruff format --check server tests bench runner-image padbox_dev

types: $(VENV)/.installed
	$(VENV)/bin/mypy

# The contracts in pyproject.toml's [tool.importlinter]: what each layer may import.
imports: $(VENV)/.installed
	$(VENV)/bin/lint-imports

# The pad's JavaScript unit tests (node's test runner); they import npm packages, not the bundle.
pad-tests: static/node_modules/.package-lock.json
	cd static && NODE_OPTIONS=--test-reporter=dot npm test --silent

bench: setup
	$(PY) -m bench

# 30 minutes of mixed load against one server, then bench/soak.md and soak.png; SOAK_ARGS='--minutes 2' for a trial.
soak: setup
	$(PY) -m bench.soak $(SOAK_ARGS)

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "padbox needs Python 3.11 or newer as $(PYTHON)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

# A Docker engine that answers: installed and started when missing (root on Debian/Ubuntu), else a clear stop.
docker:
	bash runner-image/ensure-docker.sh

# padbox-runner:latest, rebuilt only when runner-image/ (or the agent it ships) changed; padbox-lsp:latest (the pads'
# language servers), rebuilt only when runner-image/lsp/ changed.
image: docker
	bash runner-image/build.sh
	bash runner-image/lsp/build.sh

# The web pad's bundle, made with esbuild into server/padbox/web/pad/ (package data: the server and a wheel built
# after this carry it).
static: static/node_modules/.package-lock.json
	cd static && npm run --silent build

# npm packages from the committed lockfile, installed again only when it changed (npm ci rewrites this file).
static/node_modules/.package-lock.json: static/package-lock.json
	@command -v npm >/dev/null || { echo "the web pad needs node and npm (apt-get install nodejs npm)"; exit 1; }
	cd static && npm ci --no-audit --no-fund --loglevel=error

# A wheel in dist/ that runs on its own: `pip install dist/padbox-*.whl`, then `padbox serve`. The language manifest
# and the pad ride along as package data. build/ goes first: setuptools would put stale files left there in the wheel.
dist: static $(VENV)/.installed
	rm -rf build dist
	$(PY) -m pip wheel --no-deps -q -w dist .

# Debian's Chromium for the browser tests; Playwright never downloads a browser of its own.
browser:
	@test -x /usr/bin/chromium || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || { echo "browser tests need /usr/bin/chromium (apt-get install chromium)"; exit 1; }; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }

clean:
	rm -rf $(VENV) static/node_modules server/padbox/web/pad build dist

# The local cluster (docs/cluster.md): Redis, PostgreSQL, HAProxy and three nodes on this machine, from Debian's
# packages (installed when missing) and this checkout; prints the front URL. `make cluster-down` stops it all.
CLUSTER_DIR ?= .cluster
cluster: setup cluster-packages
	PADBOX_CLUSTER_DIR=$(CLUSTER_DIR) $(PY) -m padbox_dev.local_cluster up

cluster-down: $(VENV)/.installed
	PADBOX_CLUSTER_DIR=$(CLUSTER_DIR) $(PY) -m padbox_dev.local_cluster down

# Debian's redis-server, postgresql and haproxy, installed when missing (root on Debian), else a clear stop.
cluster-packages:
	bash deploy/cluster/ensure-packages.sh

# The cluster's tests (tests/cluster): they start a cluster of their own on other ports, and stop it.
cluster-test: setup cluster-packages
	$(PY) -m pytest tests/cluster $(PYTEST_ARGS)
