# Set up a virtual environment and run the workflow or the tests.
#   make figures   # venv + install, then `snakemake --cores all figures` (mini scale, offline, CPU)
#   make test      # venv + install, then the test suite (unit tests, workflow tests, smoke run)
# PyTorch is installed first, pinned, so nothing pulls an unpinned CUDA build; for a CPU-only
# machine point TORCH_INDEX at PyTorch's CPU wheel index (pip --index-url).

PYTHON ?= python3
VENV ?= .venv
TORCH ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin
SCALE ?= mini
CORES ?= all

.PHONY: install figures test smoke benchmark clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH)"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[workflow,test]"
	touch $@

install: $(BIN)/.installed

figures: install
	$(BIN)/snakemake --cores $(CORES) figures --config scale=$(SCALE)

smoke: install
	$(BIN)/snakemake --cores $(CORES) figures --config scale=smoke

# two workers; tests sharing a fixture run on one (xdist groups), the longest first (tests/conftest.py)
test: install
	$(BIN)/python -m pytest -ra -n 2 --dist loadgroup --no-loadscope-reorder --durations=20

benchmark: install
	$(BIN)/python benchmarks/bench_workflow.py

clean:
	rm -rf results .snakemake
