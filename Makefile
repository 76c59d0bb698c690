# Quick start: `make demo` runs the demo, `make test` runs every test tier.
# Each target creates .venv and installs the pinned stack (requirements.lock) first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

install: $(STAMP)

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hcp demo

test: $(STAMP)
	$(BIN)/pytest tests/unit tests/component tests/integration

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .hcp dbt/target dbt/logs
