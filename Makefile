# One obvious command per chore. `make run` serves, `make test` tests; both do all set-up first.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: setup run test check bench soak docker image static browser clean

setup: $(VENV)/.installed docker image static

run: setup
	HOST=$(HOST) PORT=$(PORT) $(PY) -m padbox

test: setup browser
	$(PY) -m pytest $(PYTEST_ARGS)

check: $(VENV)/.installed
	$(VENV)/bin/ruff check server tests bench runner-image
	$(VENV)/bin/mypy

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

# padbox-runner:latest, rebuilt only when runner-image/ (or the agent it ships) changed.
image: docker
	bash runner-image/build.sh

# The web pad's bundle: npm packages from the committed lockfile, bundled with esbuild into static/dist/.
static:
	@if [ -f static/package.json ]; then \
	  command -v npm >/dev/null || { echo "the web pad needs node and npm (apt-get install nodejs npm)"; exit 1; }; \
	  cd static && { [ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build; \
	fi

# Debian's Chromium for the browser tests; Playwright never downloads a browser of its own.
browser:
	@test -x /usr/bin/chromium || { \
	  [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null || { echo "browser tests need /usr/bin/chromium (apt-get install chromium)"; exit 1; }; \
	  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null; }

clean:
	rm -rf $(VENV) static/node_modules static/dist
