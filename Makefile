# Two commands: `make run` and `make test`. Everything else here serves them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
SEED   ?= 1
SCALE  ?= county

.PHONY: run test lint venv dev-venv system-deps demo clean-db bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

dev-venv: $(VENV)/.dev-installed

## make run: create .venv, install, create/upgrade the database under evaluations/, load the sample index and a
## demo city when it is empty, print the demo logins, and serve the app on http://localhost:$(PORT)
run: venv
	$(BIN)/python -m civeval init
	$(BIN)/python -m civeval demo --seed $(SEED) --scale $(SCALE) --if-empty
	@echo "打开 http://localhost:$(PORT)"
	$(BIN)/streamlit run app.py --server.port $(PORT)

## make test: install the dev requirements and the Debian packages the tests need (when root), then run everything
test: dev-venv system-deps
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -n 2 --dist loadfile

system-deps:
	@bash scripts/install-test-deps

## make bench: the benchmarks of issue 7 on the generated city (built once, cached in benchmarks/cache/), on SQLite and
## a throwaway PostgreSQL 15; prints one table and writes it to benchmarks/RESULTS.md (see benchmarks/README.md)
bench: dev-venv system-deps
	$(BIN)/python -m benchmarks.run

lint: dev-venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .
