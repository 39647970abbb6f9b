# One-line targets; CI calls them verbatim. `make run` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run flask test lint lint-deploy security format migrate clean bench bench-micro bench-scale translations

run: $(VENV)/.runtime-installed
	$(BIN)/flask db upgrade && $(BIN)/python app.py

# The flask CLI of .venv without activating it: make flask ARGS="users create --email a@example.com --name A"
flask: $(VENV)/.runtime-installed
	$(BIN)/flask $(ARGS)

test: $(VENV)/.dev-installed
	BIN=$(BIN) bash scripts/test.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy .

lint-deploy: $(VENV)/.dev-installed
	BIN=$(BIN) bash scripts/lint_deploy.sh

security: $(VENV)/.dev-installed .venv-security/.installed
	BIN=$(BIN) SECURITY_BIN=.venv-security/bin bash scripts/security_checks.sh

.venv-security/.installed: security/requirements-security.txt
	$(PYTHON) -m venv .venv-security && .venv-security/bin/pip install -q -r security/requirements-security.txt && touch $@

format: $(VENV)/.dev-installed
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

migrate: $(VENV)/.runtime-installed
	$(BIN)/flask db upgrade

# Pages and mails in English and German (docs/i18n.md): extract every marked string, merge it into
# each language's catalog (translations/<lang>/LC_MESSAGES/messages.po), compile the .mo files.
translations: $(VENV)/.runtime-installed
	$(BIN)/pybabel -q extract -F babel.cfg -k _l -k lazy_gettext --no-location --omit-header \
	  --ignore-dirs ".* ._ tests migrations node_modules static" -o translations/messages.pot .
	$(BIN)/pybabel -q update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d translations --statistics

clean:
	rm -rf $(VENV) .venv-security .pytest_cache .mypy_cache .ruff_cache htmlcov .coverage .coverage.*

$(VENV)/bin/python:
	$(PYTHON) scripts/check_python.py && $(PYTHON) -m venv $(VENV) && $(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.runtime-installed: requirements.txt $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements.txt && touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/bin/python
	$(BIN)/pip install -q -r requirements-dev.txt && touch $@ $(VENV)/.runtime-installed

# Benchmarks (docs/performance.md): `make bench` (BENCH_QUICK=1 for a short run), `make bench-micro`,
# `make bench-scale` (1,000,000 users beside 10,000).
# Needs wrk and Node.js on the machine (the Express reference's packages come from `npm ci`).
bench: $(VENV)/.perf-installed tests/performance/reference/express/node_modules
	@command -v wrk >/dev/null || { echo "make bench needs wrk: apt-get install wrk (or brew install wrk)" >&2; exit 1; }
	$(BIN)/python tests/performance/bench.py

tests/performance/reference/express/node_modules: tests/performance/reference/express/package-lock.json
	@command -v npm >/dev/null || { echo "make bench needs Node.js and npm for the Express reference" >&2; exit 1; }
	cd tests/performance/reference/express && npm ci --no-audit --no-fund && touch node_modules

bench-scale: $(VENV)/.perf-installed
	@command -v wrk >/dev/null || { echo "make bench-scale needs wrk: apt-get install wrk (or brew install wrk)" >&2; exit 1; }
	$(BIN)/python tests/performance/bench_scale.py

bench-micro: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m performance tests/performance -n 0 --benchmark-only -q

$(VENV)/.perf-installed: requirements-perf.txt $(VENV)/.dev-installed
	$(BIN)/pip install -q -r requirements-perf.txt && touch $@
