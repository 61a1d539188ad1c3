# twinflow: the two commands of the README.
#   make demo   set up .venv (first time), then run the demo cases through the workflow
#   make test   set up .venv (first time), then the test suite (fast + slow; not 'heavy')
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.twinflow-installed
CORES ?= $(shell nproc 2>/dev/null || echo 2)
PYTEST_ARGS ?=

.PHONY: demo test test-fast test-heavy setup schema lint clean-results

demo: $(STAMP)
	$(VENV)/bin/twinflow run --cores $(CORES) --keep-going

test: $(STAMP)
	$(PY) -m pytest -m "not heavy" --durations=25 $(PYTEST_ARGS)

test-heavy: $(STAMP)
	$(PY) -m pytest -m heavy $(PYTEST_ARGS)

test-fast: $(STAMP)
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

setup: $(STAMP)

# Re-installs when pyproject.toml changes; otherwise the finished set-up is skipped.
$(STAMP): pyproject.toml
	@if [ ! -x $(PY) ]; then \
	  python=$$(scripts/find-python) || exit 1; \
	  echo "creating $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

schema: $(STAMP)
	$(VENV)/bin/twinflow schema

lint: $(STAMP)
	$(VENV)/bin/ruff check workflow tests

clean-results:
	rm -rf results .snakemake
