# The developer loop; CI calls `make test` through .ci/run.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: run setup index test lint eval bench clean

# The stamp is rebuilt only when pyproject.toml changes, so a second `make run` is fast.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

setup: $(VENV)/.installed

index: setup
	$(BIN)/python -m index

run: index
	HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m service

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check index service tests
	$(BIN)/ruff format --check index service tests
	$(BIN)/mypy

eval: setup
	$(BIN)/python -m service.evaluate tests/data/seed_questions.jsonl

bench: setup
	$(BIN)/python -m service.bench

clean:
	rm -rf .data
