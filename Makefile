# Two commands do all set-up on a fresh machine with python3 and make: `make demo`, `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
# test-min: the declared minimum versions (.ci/minimums.py) on the oldest supported Python,
# found on PATH or under pyenv; otherwise $(PYTHON) (the run says which).
PYTHON_MIN ?= $(firstword $(shell for p in python3.10 $(wildcard $(HOME)/.pyenv/versions/3.10*/bin/python3.10); do $$p -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null && echo $$p; done) $(PYTHON))
MIN_VENV  := .venv-min
MIN_STAMP := $(MIN_VENV)/.installed-min

.PHONY: test test-min docs demo bench lint typecheck codegen fake clean

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

# The suite's core (everything but the benchmarks) against the oldest versions we declare.
$(MIN_STAMP): pyproject.toml .ci/minimums.py | $(STAMP)
	rm -rf $(MIN_VENV)
	$(PYTHON_MIN) -m venv $(MIN_VENV)
	$(MIN_VENV)/bin/python -m pip install -q --upgrade pip
	$(BIN)/python .ci/minimums.py > $(MIN_VENV)/minimums.txt
	@# The extras' packages come pinned in minimums.txt, so `-e .` needs no [extras] list.
	$(MIN_VENV)/bin/python -m pip install -q -r $(MIN_VENV)/minimums.txt -e .
	touch $(MIN_STAMP)

test-min: $(MIN_STAMP)
	@$(MIN_VENV)/bin/python -c 'import sys; print("test-min on Python", sys.version.split()[0])'
	@$(MIN_VENV)/bin/python -m pip freeze --exclude-editable | grep -iE '^(aiohttp|msgspec|aiolimiter|backoff|cryptography|tomli|phonenumbers|redis|pytest|pytest-asyncio)=='
	$(MIN_VENV)/bin/python -m pip check
	@# The suite's core. Left out (`make test` runs them): the benchmark smoke run and the
	@# scale-out run (benchmark harnesses), the heavy-fault soaks (long behaviour runs that no
	@# dependency version changes), and the generator test that type-checks generated code with
	@# mypy (a dev tool, not pinned to a minimum).
	$(MIN_VENV)/bin/python -m pytest -q --ignore=tests/test_benchmarks_smoke.py \
		--ignore=tests/test_redis_scale.py --ignore=tests/test_heavy_profile.py \
		--ignore=tests/test_codegen_generic.py

# The API reference from the docstrings (pdoc); fails on warnings and broken references.
docs: $(STAMP)
	rm -rf build/docs
	$(BIN)/python -m ghl_async._apidoc --out build/docs

demo: $(STAMP)
	$(BIN)/ghl-async demo

fake: $(STAMP)
	$(BIN)/python -m ghl_async.testing --port 8080

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) $(MIN_VENV) .coverage .mypy_cache .ruff_cache build dist *.egg-info
