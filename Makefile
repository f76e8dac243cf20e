# blinasim developer tasks. Every target creates .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
R_PKGS := r-base-core r-cran-survival r-cran-cmprsk r-cran-rpact r-cran-jsonlite

.PHONY: help venv demo test test-all bench lint golden r-deps browser-deps clean

help:
	@echo "make demo      run the main job (AALL1731 in-silico replication) and write its report"
	@echo "make test      run the fast test suite"
	@echo "make test-all  run every test, slow ones included"
	@echo "make bench     time the hot paths against R survival / lifelines"
	@echo "make lint      ruff + mypy --strict + lint-imports (the layers)"
	@echo "make golden    regenerate tests/golden/*.json from R (installs R when missing)"
	@echo "make browser-deps  install Chromium for the report tests (root; done by make test on CI)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

# DEMO_REPLICATES: fewer simulated trials for a quick check (.ci/run uses 2)
DEMO_REPLICATES ?= 20

demo: $(STAMP)
	$(BIN)/blinasim run aall1731 --replicates $(DEMO_REPLICATES)

# the local web app (decision aid, scenario explorer, run reports) on http://127.0.0.1:8000/
serve: $(STAMP)
	$(BIN)/blinasim serve

# On CI (CI set) the browser tests must run, so Chromium is installed first; elsewhere they
# skip when Chromium is missing.
test: $(STAMP) $(if $(filter-out 0 false no,$(CI)),browser-deps)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

# R is needed only to regenerate golden files and for the side-by-side benchmarks.
r-deps:
	@command -v Rscript >/dev/null 2>&1 && Rscript -e 'invisible(lapply(c("survival","cmprsk","rpact","jsonlite"), function(p) stopifnot(requireNamespace(p, quietly=TRUE))))' 2>/dev/null \
	  || { echo "installing R ($(R_PKGS)) with apt-get"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(R_PKGS); }

# Headless Chromium (Debian's build) for tests/report/test_browser.py; needs root to install.
browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium (chromium chromium-driver) with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	  else \
	    echo "Chromium is missing: run 'make browser-deps' as root (apt-get install chromium chromium-driver)" >&2; \
	    exit 1; \
	  fi; }

golden: r-deps
	@for f in scripts/golden/*.R; do echo "Rscript $$f"; Rscript $$f || exit 1; done

bench: $(STAMP)
	@$(MAKE) --no-print-directory r-deps || echo "R unavailable: R columns will be skipped"
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
