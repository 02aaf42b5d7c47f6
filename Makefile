# Two entry points for a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-dev
EXAMPLES := examples/campaigns

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	@echo "The demo store is not built yet: showing 'gamify check' and 'gamify simulate' on $(EXAMPLES) instead."
	$(VENV)/bin/gamify check $(EXAMPLES)
	$(VENV)/bin/gamify simulate $(EXAMPLES)/black-friday-wheel.yaml --plays 2000 --seed demo --export $(VENV)/demo-bundle.jsonl
	$(VENV)/bin/gamify verify $(VENV)/demo-bundle.jsonl
	$(VENV)/bin/gamify simulate $(EXAMPLES)/welcome-back-scratch.yaml --plays 3000 --seed demo

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
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .hypothesis
