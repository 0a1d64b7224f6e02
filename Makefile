# The two commands of the README: `make demo` and `make test`. Everything they need is
# installed on the way (a virtualenv in .venv, the upstream binaries in _output/bin).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup binaries demo test lint unit e2e bench down clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

binaries:
	hack/build.sh

demo: setup binaries
	hack/demo.sh

lint: setup
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: setup
	$(BIN)/pytest tests/unit

e2e: setup binaries
	$(BIN)/pytest tests/e2e

test: lint binaries
	$(BIN)/pytest tests

bench: setup binaries
	$(BIN)/python bench/fleet_startup.py

down:
	$(BIN)/flotilla dev down

clean: down
	rm -rf _output $(VENV)
