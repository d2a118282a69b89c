# Two commands set everything up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KG_HOST ?= 127.0.0.1
KG_PORT ?= 8000

.PHONY: run test build lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

build: $(STAMP)
	$(BIN)/kg build

run: build
	$(BIN)/kg serve --host $(KG_HOST) --port $(KG_PORT)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench

test: $(STAMP) lint
	$(BIN)/pytest

clean:
	rm -rf var/store var/store.builds var/store.lock
