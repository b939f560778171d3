# `make run` serves the dashboard; `make test` runs the whole suite. Both set everything up first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/sla.duckdb
SAMPLE_TICKETS ?= 20000

.PHONY: run test lint install sample bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

$(DB): | $(BIN)/.installed
	$(BIN)/sla sample --tickets $(SAMPLE_TICKETS) --db $(DB)

sample: $(DB)

run: install $(DB)
	SLA_DB=$(DB) $(BIN)/streamlit run dashboard.py --server.port 8501 --server.address localhost --server.headless true --browser.gatherUsageStats false

lint: install
	$(BIN)/ruff check .

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
