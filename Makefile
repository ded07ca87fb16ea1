# One entry point. `make lab` and `make test` each create the environment on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
# JupyterLab listens on this machine only unless told otherwise (`make lab IP=0.0.0.0`); it always
# keeps its token. A busy PORT (a second `make lab`) moves on to the next free port, even when a
# user's config or JUPYTER_PORT_RETRIES says not to. Jupyter refuses root without --allow-root (CI).
# No news feed (news_url=None), and no question about one: tools/lab_settings.py, run when .venv is
# built, sets JupyterLab's default to "never fetch news" (a learner can still turn it on).
IP     ?= 127.0.0.1
PORT_RETRIES ?= 50
LAB_ARGS ?=
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)
# glibc's malloc gives freed memory back to the OS as soon as ~128 KiB lie free at the top of its
# heap, so every explorer update faulted its tens of MB of arrays in again: GradientFlowExplorer at
# depth 50 computed in 52 ms, 35 ms with these (benchmarks/bench_widgets.py). Arrays under 4 MiB
# come from the heap, and up to 128 MiB of freed memory stays for the next update. Ignored where
# the C library is not glibc (macOS, Windows). binder/start sets the same for Binder.
MALLOC_ENV := MALLOC_MMAP_THRESHOLD_=4194304 MALLOC_TRIM_THRESHOLD_=134217728
# Tests run two pytest workers on two cores: one BLAS thread each avoids oversubscription
# (small matrix products were 10x slower with default threads on a busy 2-core machine).
TEST_ENV := $(MALLOC_ENV) OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: lab test test-lib test-notebooks lint bench env clean demo site

$(STAMP): pyproject.toml tools/lab_settings.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	$(BIN)/python -m tools.lab_settings
	@touch $(STAMP)

env: $(STAMP)

## Launch the course in JupyterLab at the first notebook
lab: $(STAMP)
	$(MALLOC_ENV) $(BIN)/jupyter lab --ip=$(IP) --port=$(PORT) --ServerApp.port_retries=$(PORT_RETRIES) $(ROOT_FLAG) \
		--LabApp.news_url=None \
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
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(MALLOC_ENV) $(BIN)/python $$b || exit 1; done

## Instructor mode: every explorer as a Voilà dashboard (no code, presentation theme) on 127.0.0.1
demo: $(STAMP)
	$(BIN)/python -m tools.build_dashboard --out build/demo/dashboard.ipynb
	$(MALLOC_ENV) $(BIN)/voila build/demo/dashboard.ipynb --Voila.ip=127.0.0.1 --port=$(PORT) --token --show_tracebacks=True

## Execute every notebook and write the course as static HTML in _site/ (open _site/index.html)
site: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m tools.build_site --out _site --workers 2

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
