# One entry point. `make lab` and `make test` each create the environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
# JupyterLab listens on this machine only unless told otherwise (`make lab IP=0.0.0.0`); it always
# keeps its token. A busy PORT (a second `make lab`) moves on to the next free port, even when a
# user's config or JUPYTER_PORT_RETRIES says not to. Jupyter refuses root without --allow-root (CI).
IP     ?= 127.0.0.1
PORT_RETRIES ?= 50
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# Tests run two pytest workers on two cores: one BLAS thread each avoids oversubscription
# (small matrix products were 10x slower with default threads on a busy 2-core machine).
TEST_ENV := OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: lab test test-lib test-notebooks lint bench env clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	@touch $(STAMP)

env: $(STAMP)

## Launch the course in JupyterLab at the first notebook
lab: $(STAMP)
	$(BIN)/jupyter lab --ip=$(IP) --port=$(PORT) --ServerApp.port_retries=$(PORT_RETRIES) $(ROOT_FLAG) \
		$(LAB_ARGS) notebooks/00_start_here.ipynb

## Lint, then every test: library, notebooks (nbval), browser
test: $(STAMP)
	$(BIN)/ruff check .
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax tests notebooks

test-lib: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadfile tests

test-notebooks: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -n 2 --dist loadfile --nbval-lax notebooks

## Build an environment from binder/ as Binder does and run every notebook in it (≤ 1.5 GB each)
.PHONY: test-binder
test-binder: $(STAMP)
	BP_BINDER_BUILD=1 $(TEST_ENV) $(BIN)/python -m pytest -p no:cacheprovider -s -ra tests/binder

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
