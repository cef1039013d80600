# Two entry points for a fresh machine (see README): `make experiment` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs/$(PRESET)
PRESET ?= quick
PYTEST_ARGS ?=

.PHONY: install experiment test test-fast clean

$(BIN)/rarft: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: the CPU build of the embedded default. pyproject.toml only asks for a range
	# (torch>=2.6,<3, so vLLM's own pin can resolve on a GPU box), which this build satisfies: pip keeps it
	# instead of pulling a multi-GB CUDA build. GPUs: pip install -e '.[gpu]' (README, "Qwen3 on GPUs").
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	@touch $(BIN)/rarft

install: $(BIN)/rarft

experiment: install
	HF_HUB_OFFLINE=1 $(BIN)/rarft experiment --preset $(PRESET) --out $(OUT)

test: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow and not docker" $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) runs .pytest_cache
