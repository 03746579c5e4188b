# The two commands the README opens with: `make serve` and `make test`.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: serve test lint services setup browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,train]'
	rm -f $(VENV)/.installed-*; touch $(STAMP)

setup: $(STAMP)

## Set up and run the service on the embedded default (SQLite, embedded queue, local storage).
serve: $(STAMP)
	$(BIN)/deepres migrate
	$(BIN)/deepres serve

## Start the local services the scale-out tests use, when they are not answering.
services:
	bash scripts/services.sh

## Install Debian's chromium for the console test when it is missing.
browser:
	bash scripts/browser.sh

## Set up and run the whole test suite, lint and type checks included.
test: $(STAMP) services browser
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/mypy
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: $(STAMP)
	$(BIN)/ruff check src tests bench migrations
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
