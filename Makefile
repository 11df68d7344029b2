# The two commands: `make demo` serves the embedded default with a demo city;
# `make test` runs the whole suite. Both set up what they need and are safe to repeat.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.gridops-installed
DEMO_DIR := instance/demo-city
DEMO_SEED ?= 7
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: demo test lint install system-deps bench clean messages

demo: install
	$(BIN)/gridops db upgrade
	@# made once; again when the files are of a format this gridops no longer reads
	@$(BIN)/python -c "import json, sys; from gridops.demo.loader import SUPPORTED_FORMAT; \
		sys.exit(json.load(open('$(DEMO_DIR)/city.json')).get('format') != SUPPORTED_FORMAT)" 2>/dev/null \
		|| $(BIN)/gridops demo-city --seed $(DEMO_SEED) --out $(DEMO_DIR) --end "$$(TZ=Asia/Shanghai date +%Y-%m-%dT%H:%M)"
	$(BIN)/gridops load $(DEMO_DIR) --if-empty
	$(BIN)/gridops demo-users --out instance/demo-users.txt
	$(BIN)/gridops serve --host $(HOST) --port $(PORT)

test: install lint
	@bash scripts/install-system-deps --browser
	$(BIN)/python -m pytest

# the house rules: lint, the import contracts between the rooms, types
lint: install
	$(BIN)/ruff check gridops tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

# the pages' catalogues: new strings extracted into messages.pot and the zh_Hans_CN catalogue, then compiled
# (the .mo files are committed; tests/web/test_i18n.py fails on a page string with no translation)
CATALOGUES := gridops/web/translations
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k Say -k GeoError -k CoordinateError -k UnknownCRS -k EditRefused:2 --no-location --sort-output -o $(CATALOGUES)/messages.pot gridops
	$(BIN)/pybabel update -i $(CATALOGUES)/messages.pot -d $(CATALOGUES) -l zh_Hans_CN --no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d $(CATALOGUES) --statistics

install: system-deps $(STAMP)

system-deps:
	@bash scripts/install-system-deps

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "gridops needs Python 3.11 or newer: install python3.11 or set PYTHON=/path/to/python"; exit 1; }
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "gridops needs Python 3.11 or newer; $(PYTHON) is older (set PYTHON=...)"; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	@touch $@

clean:
	rm -rf $(VENV) instance .pytest_cache test-artifacts
