# Two commands do all set-up on a fresh machine with python3 and make: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev

.PHONY: test demo bench lint typecheck codegen fake clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,bench]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check ghl_async tests benchmarks examples

typecheck: $(STAMP)
	$(BIN)/mypy ghl_async tests/typing_check.py

codegen: $(STAMP)
	$(BIN)/python -m ghl_async._codegen

test: $(STAMP) lint typecheck
	$(BIN)/python -m ghl_async._codegen --check
	@# coverage run, not pytest --cov: our pytest11 plugin (the fake_highlevel fixture) imports
	@# ghl_async before pytest-cov would start measuring, hiding every module's top level.
	$(BIN)/python -m coverage run -m pytest -q
	$(BIN)/python -m coverage report --fail-under=90

demo: $(STAMP)
	$(BIN)/ghl-async demo

fake: $(STAMP)
	$(BIN)/python -m ghl_async.testing --port 8080

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .coverage .mypy_cache .ruff_cache build *.egg-info
