# The two commands of the README: `make run` and `make test`. Everything else is under them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test install install-test browser postgres ingest serve ask eval bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

## Headless Chromium + chromedriver (Debian packages) for the widget's browser test.
browser:
	@command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }

## PostgreSQL (Debian package) for the shared-state tests; each test starts its own throwaway cluster.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## make run: set up, ingest corpus/, then serve the API and widget on http://$(HOST):$(PORT)
run: install ingest serve

ingest: install
	$(BIN)/python -m ingest

serve: install
	$(BIN)/uvicorn assistant.api:create_app --factory --host $(HOST) --port $(PORT) --no-proxy-headers

## make test: set up with test extras and run the whole suite (includes the eval gate)
test: install-test browser postgres
	$(BIN)/python -m pytest

ask: install
	$(BIN)/python -m assistant ask "$(Q)"

eval: install
	$(BIN)/python -m evals run --baselines

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py

clean:
	rm -rf data $(VENV) evals/out bench/out
