# The quick start: `make demo` runs the scripted demo on the offline default, `make test` the tests.
# Both create the virtual environment .venv from the project's own files on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install demo test lint

$(BIN)/nova: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# CPU build of torch first: an unpinned torch would pull gigabytes of CUDA packages.
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	# The one-time work (ONNX export, router calibration), with a progress bar, so that
	# `make demo` and the first `nova ask` start straight away.
	$(BIN)/nova warmup
	touch $(BIN)/nova

install: $(BIN)/nova

demo: install
	$(BIN)/nova demo

test: install
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: install
	$(BIN)/lint-imports
	$(BIN)/ruff check nova_graph nova_app tests evals benchmarks examples
	$(BIN)/ruff format --check nova_graph nova_app tests evals benchmarks examples
	$(BIN)/mypy
