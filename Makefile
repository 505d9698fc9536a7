# Quick start: `make demo` (the main job) and `make test` (the test suite).
# Both create .venv with a Python >= 3.12 (found by scripts/find-python) when missing.
VENV := .venv
BIN := $(VENV)/bin
SHARED_UCMERCED := ../shared/data/ucmerced/materialize.py
UCMERCED_ROOT ?= data/ucmerced
# PyTorch's CPU allocator then backs large tensors with transparent huge pages
# instead of fresh 4 KiB pages on every call: the multi-scale forward runs ~1.5x
# faster on 2 CPU cores (docs/performance.md). Read once, when torch starts.
export THP_MEM_ALLOC_ENABLE ?= 1
# glibc then keeps freed memory for the next tensor instead of unmapping every
# tensor above 32 MB and page-faulting it back in on the next call: forward
# 1.2-1.4x and training step ~1.1x faster on 2 CPU cores (docs/performance.md).
export GLIBC_TUNABLES ?= glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736

.PHONY: demo test lint data clean

$(BIN)/zelpha: pyproject.toml
	@PY=$$(scripts/find-python) || exit 1; \
	echo "using $$PY"; \
	[ -x $(BIN)/python ] || $$PY -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[tests]'
	@touch $@

# Real UC Merced where this machine has it (never committed); else the demo
# falls back to the embedded synthetic scenes.
data: $(BIN)/zelpha
	@if [ -f $(SHARED_UCMERCED) ]; then $(BIN)/python $(SHARED_UCMERCED) $(UCMERCED_ROOT); \
	else echo "no local UC Merced copy: the demo will use the embedded synthetic scenes"; fi

demo: $(BIN)/zelpha data
	$(BIN)/zelpha demo --root $(UCMERCED_ROOT) --out output/demo

test: $(BIN)/zelpha
	$(BIN)/python -m pytest -m "not slow" -n 2 -q

lint: $(BIN)/zelpha
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

clean:
	rm -rf output .pytest_cache
