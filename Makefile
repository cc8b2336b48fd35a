# Quick start: `make run` (sets up, ingests when needed, starts the assistant) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run ingest check test test-fast bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	# CPU build of torch first: a bare torch requirement would pull a multi-GB CUDA build.
	$(BIN)/pip install torch==2.13.0
	$(BIN)/pip install -e ".[dev,bots,baselines]"
	touch $(STAMP)

install: $(STAMP)

ingest: $(STAMP)
	$(BIN)/regqa ingest

run: $(STAMP)
	$(BIN)/regqa ingest
	$(BIN)/regqa serve

# Lint, format and type checks (configured in pyproject.toml); `make test` (and so .ci/run) runs them first.
check: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: check
	$(BIN)/python -m pytest -ra

# The fast stage tests only (three-document fixture corpus, fake embedder; no shared corpus needed): seconds.
test-fast: $(STAMP)
	$(BIN)/python -m pytest -q tests/stages tests/test_missing_corpus.py

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf var/index
