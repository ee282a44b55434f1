# The two commands of the README: `make run` and `make test`. Everything they need is
# installed here (Python packages into .venv, Debian packages via apt-get when missing).
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
EXTRAS := st,local,ui,dev,bench
STAMP := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
export ANONYMIZED_TELEMETRY := False
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install system-deps run ui test lint typecheck unit eval-gate bench clean

install: system-deps $(STAMP)

# system-deps first: llama-cpp-python is built from source (compiler and cmake).
$(STAMP): pyproject.toml | system-deps
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[$(EXTRAS)]'
	@rm -f $(VENV)/.installed-*
	@touch $@

# Chromium drives the browser tests; the CJK font makes Chinese readable in screenshots;
# a C++ compiler and cmake build llama-cpp-python (an sdist) on a machine without them.
system-deps:
	@if ! command -v chromium >/dev/null || ! fc-list 2>/dev/null | grep -qi 'wqy' \
		|| ! command -v g++ >/dev/null || ! command -v cmake >/dev/null; then \
		echo "installing Debian packages: chromium fonts-wqy-zenhei g++ cmake"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei g++ cmake >/dev/null; \
	fi

run: install
	$(BIN)/whitepaper ingest
	$(BIN)/whitepaper ui

ui: $(STAMP)
	$(BIN)/whitepaper ui

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/python -m pytest -q

# The regression gate: extractive over the whole dev set, local over a fixed 60-item calibration subset.
eval-gate: $(STAMP)
	$(BIN)/whitepaper ingest --no-progress
	$(BIN)/whitepaper eval --gate --fresh
	$(BIN)/whitepaper eval --mode local --gate --fresh

test: install lint typecheck unit eval-gate

bench: install
	$(BIN)/whitepaper bench

clean:
	rm -rf .whitepaper .pytest_cache .mypy_cache .ruff_cache
