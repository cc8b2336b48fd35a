# Quick start: `make run` (sets up, ingests when needed, starts the assistant) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run ingest test bench clean

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

test: $(STAMP)
	$(BIN)/python -m pytest -ra

bench: $(STAMP)
	$(BIN)/python bench/ingest.py

clean:
	rm -rf var/index
