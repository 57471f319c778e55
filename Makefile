# settlewatch: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8000
DATA ?= data/sim
# what pip cannot install: Debian's Chromium (the browser tests drive it through Playwright;
# nothing is downloaded at run time) and a CJK font for the Chinese pages' screenshots
SYSTEM_PACKAGES := chromium fonts-wqy-microhei
# Great Expectations would otherwise send usage analytics from every test run
export GX_ANALYTICS_ENABLED ?= False

.DEFAULT_GOAL := help
.PHONY: help install system-packages run test lint typecheck contracts unit integration clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-16s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

install: $(STAMP) ## Create .venv with settlewatch and its tools (no-op when nothing changed)

$(STAMP): pyproject.toml requirements.lock
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

system-packages: ## Install the Debian packages the browser tests need (as root; else says how)
	@missing=""; \
	for pkg in $(SYSTEM_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$pkg 2>/dev/null | grep -q 'install ok installed' \
			|| missing="$$missing $$pkg"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "make test needs Debian packages that pip cannot install:$$missing; run:" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y$$missing" >&2; \
		exit 1; \
	fi; \
	echo "installing$$missing (apt-get)"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -qq && apt-get install -y -qq$$missing >/dev/null

run: install ## Simulate the 90 days to today, validate, train, load and score, then serve the API and analyst pages on $(PORT)
	@# the history ends today (Beijing time), or on the last day the holiday calendar allows
	$(BIN)/settlewatch simulate --out $(DATA) --merchants 200 --days 90 --end today --fit-calendar \
		--seed 1
	$(BIN)/settlewatch validate $(DATA) --quarantine data/quarantine --out data/valid
	@# the first version becomes champion; a later one only if it beats the champion
	$(BIN)/settlewatch train data/valid --register --promote --metrics-out data/metrics.json
	rm -f data/settlewatch.db data/settlewatch.db-*
	SETTLEWATCH_DATABASE_URL=sqlite:///data/settlewatch.db $(BIN)/settlewatch ingest data/valid
	SETTLEWATCH_DATABASE_URL=sqlite:///data/settlewatch.db $(BIN)/settlewatch score data/valid \
		--out data/scores.parquet --record --record-days 2
	@key=sw_demo_$$($(BIN)/python -c 'import secrets; print(secrets.token_hex(24))'); \
	pw=$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(12))'); \
	printf '%s\n' "$$pw" | SETTLEWATCH_DATABASE_URL=sqlite:///data/settlewatch.db \
		$(BIN)/settlewatch analyst create --username lead --role lead --password-stdin >/dev/null; \
	echo; \
	echo "simulated tables:   $(DATA)/   validated: data/valid/   quarantine: data/quarantine/"; \
	echo "model and runs:     MLflow store sqlite:///mlflow.db (browse: .venv/bin/mlflow ui --backend-store-uri sqlite:///mlflow.db)"; \
	echo "API database:       data/settlewatch.db"; \
	echo "scoring API:        http://127.0.0.1:$(PORT)/docs"; \
	echo "demo API key:       $$key  (all scopes; this run only)"; \
	echo "analyst pages:      http://127.0.0.1:$(PORT)/review/  (user: lead  password: $$pw)"; \
	echo; \
	SETTLEWATCH_DATABASE_URL=sqlite:///data/settlewatch.db SETTLEWATCH_API_KEYS="demo:admin:$$key" \
		SETTLEWATCH_LOG_JSON=0 SETTLEWATCH_ENV=development $(BIN)/settlewatch serve --host 127.0.0.1 --port $(PORT)

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install ## mypy (strict) on the packages
	$(BIN)/mypy

contracts: install ## import-linter: the dependency arrows between packages
	$(BIN)/lint-imports

unit: install ## Unit tests only
	$(BIN)/pytest -n 2 -m 'not integration'; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

integration: system-packages install ## Integration tests only (real services)
	$(BIN)/pytest -n 2 -m integration; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

test: system-packages lint typecheck contracts ## Install and run every check and every test tier
	$(BIN)/pytest -n 2; rc=$$?; [ $$rc -eq 5 ] && rc=0; exit $$rc

clean: ## Remove the virtualenv, caches and generated data
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache data var mlruns mlflow.db
