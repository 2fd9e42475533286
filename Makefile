# Two entry points for a fresh machine (Debian, Python >= 3.11, make):
#   make demo   set up .venv and run the demo of every module on data/
#   make test   set up .venv (with the test extra) and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
OUT ?= demo-out

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed-base: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[plot]'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,plot,workflows,dask,docs]'
	touch $@ $(VENV)/.installed-base

.PHONY: demo test bench clean
demo: $(VENV)/.installed-base
	$(BIN)/emapps demo --outdir $(OUT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q -p no:cacheprovider

bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[bench]'
	$(BIN)/python benchmarks/bench_mixture.py
	$(BIN)/python benchmarks/bench_segment.py
	Rscript -e 'library(haplo.stats)' 2>/dev/null || apt-get install -y r-cran-haplo.stats
	$(BIN)/python benchmarks/bench_haplo.py
	$(BIN)/python benchmarks/bench_recsys.py
	$(BIN)/python benchmarks/bench_lca.py
	command -v beagle >/dev/null || apt-get install -y beagle
	$(BIN)/python benchmarks/bench_impute.py
	$(BIN)/python benchmarks/bench_dask.py

clean:
	rm -rf $(VENV) $(OUT)
