# settlewatch: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
DATA ?= data/sim

.DEFAULT_GOAL := help
.PHONY: help install run test lint typecheck contracts unit integration clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv with settlewatch and its tools (no-op when nothing changed)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

run: install ## Simulate a dataset, validate it, build its features, and say where all is
	$(BIN)/settlewatch simulate --out $(DATA) --merchants 200 --days 90 --start 2026-01-05 --seed 1
	$(BIN)/settlewatch validate $(DATA) --quarantine data/quarantine --out data/valid
	$(BIN)/settlewatch features data/valid --out data/features.parquet
	$(BIN)/settlewatch train data/valid --register --metrics-out data/metrics.json
	@echo
	@echo "simulated tables:   $(DATA)/"
	@echo "validated tables:   data/valid/   (quarantine: data/quarantine/)"
	@echo "features:           data/features.parquet"
	@echo "model and runs:     MLflow store sqlite:///mlflow.db (artifacts in mlruns/);"
	@echo "                    browse with: .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db"
	@echo "The scoring API and the analyst pages join 'make run' with issues 6 and 7."

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy (strict) on the packages
	$(BIN)/mypy

contracts: install ## import-linter: the dependency arrows between packages
	$(BIN)/lint-imports

unit: install ## Unit tests only
	$(BIN)/pytest -n 2 -m 'not integration'; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

integration: install ## Integration tests only (real services)
	$(BIN)/pytest -n 2 -m integration; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

test: lint typecheck contracts ## Install and run every check and every test tier
	$(BIN)/pytest -n 2; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

clean: ## Remove the virtualenv, caches and generated data
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache data var mlruns
