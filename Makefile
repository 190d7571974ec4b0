# Two commands on a fresh Linux machine:  make run   (install + open the app)
#                                          make test  (install + run the whole test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: run test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed
	$(PIP) -e ".[dev]"
	touch $@

run: $(VENV)/.app-installed
	$(BIN)/footnotes

test: $(VENV)/.dev-installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check .

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.app-installed
	$(BIN)/python bench/index_bench.py ../shared/eval/debian-faq/debian-faq.en.pdf
