# Quick start: `make run` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-long install lint-processes clean

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/approvals db upgrade
	$(BIN)/approvals deploy
	$(BIN)/approvals users demo
	$(BIN)/approvals serve

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow"

test-long: $(STAMP)
	$(BIN)/python -m pytest -q

lint-processes: $(STAMP)
	$(BIN)/approvals lint --strict

clean:
	rm -rf var/ .pytest_cache test-output
