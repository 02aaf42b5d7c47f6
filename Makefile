# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench clean chromium soak

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gamify demo

# ESLint (eslint.config.js) checks the widget's JavaScript and the demo's, from a local
# node_modules installed by `npm ci` (package-lock.json); node and npm come from apt when missing.
lint: $(STAMP)
	$(PY) -m ruff check gamify tests bench
	$(PY) -m ruff format --check gamify tests bench
	$(PY) -m mypy
	@command -v npm >/dev/null 2>&1 || ( \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm )
	@[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --silent --no-audit --no-fund
	npx --no-install eslint --max-warnings 0 .

# The browser tests (tests/e2e/test_browser.py) drive Debian's chromium; Playwright's own browser
# download (`playwright install`) is never used.
chromium:
	@[ -x /usr/bin/chromium ] || ( \
	  SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium )

test: lint chromium
	$(PY) -m pytest

# The PostgreSQL and race tests, 10 times in a row: a test that fails sometimes is a failing test.
SOAK_RUNS ?= 10
SOAK_TESTS ?= -m "postgres or races"
soak: $(STAMP)
	@failed=0; for i in $$(seq $(SOAK_RUNS)); do \
	  if $(PY) -m pytest $(SOAK_TESTS) > .soak-$$i.log 2>&1; \
	  then echo "soak run $$i/$(SOAK_RUNS): $$(tail -n 1 .soak-$$i.log)"; rm -f .soak-$$i.log; \
	  else echo "soak run $$i/$(SOAK_RUNS) FAILED: $$(tail -n 1 .soak-$$i.log) (see .soak-$$i.log)"; \
	       failed=$$((failed + 1)); fi; \
	done; echo "soak: $$(( $(SOAK_RUNS) - failed )) of $(SOAK_RUNS) runs passed"; [ $$failed -eq 0 ]

bench: $(STAMP)
	$(PY) bench/draws.py
	$(PY) bench/verify.py
	$(PY) bench/plays.py
	$(PY) bench/events.py
	$(PY) bench/proofs.py

clean:
	rm -rf $(VENV) node_modules build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis instance/gamify-demo
