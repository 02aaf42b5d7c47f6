# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gamify demo

lint: $(STAMP)
	$(PY) -m ruff check gamify tests bench
	$(PY) -m ruff format --check gamify tests bench
	$(PY) -m mypy

test: lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) bench/draws.py
	$(PY) bench/verify.py
	$(PY) bench/plays.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis instance/gamify-demo
