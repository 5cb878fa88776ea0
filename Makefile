# wsgi-app: build, test and try the charm. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BUILD := build
CHARM := $(BUILD)/wsgi-app
export CHARM_INTERFACES_DIR := $(CURDIR)/interfaces

.PHONY: help deps dev lint format unit charm e2e soak test demo bench config clean
help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/'

deps:  ## install the Debian packages everything needs (root)
	./tools/install-deps

$(BIN)/pytest: requirements-dev.txt wheelhouse-constraints.txt localjuju/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -r requirements-dev.txt
	$(BIN)/pip install -q -e ./localjuju
	touch $@

dev: deps $(BIN)/pytest  ## a virtualenv with the build and test tools

lint: dev  ## ruff and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: dev  ## reformat with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

unit: dev  ## fast tests of the pure parts, no machine needed
	$(BIN)/pytest tests/unit

charm: dev  ## build the charm into build/wsgi-app and pack wsgi-app.charm (pure wheels cached in ~/.cache/wsgi-app-wheels)
	$(BIN)/python tools/build_charm.py --output $(BUILD)

e2e: charm  ## end-to-end tests: the built charm on booted machines, two lanes at once (root)
	$(BIN)/python tools/run_e2e.py

soak: charm  ## the e2e suite with longer repeats: ten rounds of every change under load, twice the fuzz (root)
	E2E_SOAK=1 $(BIN)/python tools/run_e2e.py

test: lint unit e2e  ## everything CI runs

demo: charm  ## deploy the demo app on a local machine and print its URL (root)
	$(BIN)/localjuju -m demo destroy
	$(BIN)/localjuju -m demo deploy $(CHARM)
	@echo "Try: curl http://127.0.0.1:8080/   Remove it: $(BIN)/localjuju -m demo destroy"

bench: charm  ## run the benchmarks under bench/ (root, about 15 minutes; summary in build/bench/)
	$(BIN)/python -m bench.run_all

config: dev  ## regenerate config.yaml and the README config reference
	$(BIN)/python tools/gen_config.py

clean:  ## remove build output (machines: localjuju destroy)
	rm -rf $(BUILD) wsgi-app.charm
