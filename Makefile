# Quick start: `make demo` runs the demo, `make test` runs every test tier.
# Each target creates .venv and installs the pinned stack (requirements.lock) first.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install system-packages clean bench

# Debian packages the tests use: headless Chromium (Prefect UI test, screenshots), Prometheus and promtool
# (metrics test), tmux (terminal capture). Installed with apt-get only when missing (needs root, as in CI).
SYSTEM_COMMANDS := chromium promtool prometheus tmux
SYSTEM_PACKAGES := chromium chromium-driver prometheus tmux

install: $(STAMP)

system-packages:
	@missing=""; for c in $(SYSTEM_COMMANDS); do command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages for:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "run as root or install: $(SYSTEM_PACKAGES)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/hcp demo

test: $(STAMP) system-packages
	$(BIN)/pytest --durations=25 tests/unit tests/component tests/integration

# The benchmark suite (docs/benchmarks.md): about 20 minutes; results in bench/results/.
bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .hcp dbt/target dbt/logs
