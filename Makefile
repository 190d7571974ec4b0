# Two commands on a fresh Linux machine:  make run   (install + open the app)
#                                          make test  (install + run the whole test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt

.PHONY: run test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The core, with the embedder and the light LLM (what the tests use).
$(VENV)/.core-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

# The app adds the quality LLM (1.1 GB) and llama.cpp, built portable from source (about 11 min on 2 cores, once).
$(VENV)/.app-installed: $(VENV)/.core-installed
	CMAKE_ARGS="-DGGML_NATIVE=OFF" $(PIP) -e ".[quality,llama]"
	touch $@

$(VENV)/.dev-installed: $(VENV)/.core-installed
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
	$(BIN)/python bench/answer_bench.py --limit 20
