# Two commands set everything up: `make demo` and `make test`.
# Both install the exact versions in requirements.lock (regenerate it with `make lock`);
# `make test-latest` runs the tests against the newest releases instead, in .venv-latest.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCK := requirements.lock
# the installer is pinned too, so that the lock is read the same way on every machine
UV_VERSION := 0.13.9
UV := $(BIN)/uv
LATEST := .venv-latest
LINT_PATHS := soleus_analysis tests benchmarks docs data

.PHONY: demo examples test test-latest lint lock bench data clean fuzz

$(BIN)/python:
	@echo "[1/4] creating the virtual environment $(VENV)"
	@$(PY) -m venv $(VENV)

$(UV): $(BIN)/python
	@echo "[2/4] installing the installer (uv $(UV_VERSION)) into $(VENV)"
	@$(BIN)/python -m pip install -qq "uv==$(UV_VERSION)"

# changing the lock or pyproject.toml reinstalls
$(STAMP): $(UV) $(LOCK) pyproject.toml
	@echo "[3/4] installing the locked versions from $(LOCK) (a minute or two on a new machine)"
	@$(UV) pip sync --quiet --python $(BIN)/python $(LOCK)
	@echo "[4/4] installing soleus_analysis (editable) and the notebook kernel"
	@$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	@$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	@touch $(STAMP)

demo: $(STAMP)
	@$(BIN)/python -m soleus_analysis.app.demo

# the example PDFs committed under docs/examples/ and linked from the README; dated (PDF
# CreationDate) by the last commit of the code and data they come from, so that regenerating
# them without such a change gives the same bytes
examples: $(STAMP)
	@t=$$(git log -1 --format=%ct -- soleus_analysis data 2>/dev/null); \
		SOURCE_DATE_EPOCH=$${t:-$$(date +%s)} $(BIN)/python -m soleus_analysis.app.demo --out docs/examples
	@$(BIN)/python docs/make_page_images.py

test: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

# newest releases of every dependency, ignoring the lock; a fresh venv each time
test-latest:
	@echo "[1/4] creating the virtual environment $(LATEST) (the lock is not used here)"
	@rm -rf $(LATEST)
	@$(PY) -m venv $(LATEST)
	@echo "[2/4] installing the installer (uv $(UV_VERSION)) into $(LATEST)"
	@$(LATEST)/bin/python -m pip install -qq "uv==$(UV_VERSION)"
	@echo "[3/4] installing the newest releases of soleus_analysis[test,dask]'s dependencies"
	@$(LATEST)/bin/uv pip install --quiet --python $(LATEST)/bin/python --upgrade -e ".[test,dask]"
	@$(LATEST)/bin/python -m ipykernel install --prefix $(LATEST) --name python3 > /dev/null
	@echo "[4/4] running the tests with $$($(LATEST)/bin/python -c 'from importlib.metadata import version as v; print(", ".join(f"{p} {v(p)}" for p in ("numpy", "pandas", "scipy", "matplotlib", "statsmodels")))')"
	@$(LATEST)/bin/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)

# re-resolve every dependency (all extras, any platform, Python >= 3.11) to its newest release
LOCK_CMD := uv pip compile pyproject.toml --extra test --extra dask --universal --python-version 3.11 --upgrade -o $(LOCK)
lock: $(UV)
	@$(BIN)/$(LOCK_CMD) --quiet --custom-compile-command "make lock  # = $(LOCK_CMD)"
	@echo "wrote $(LOCK); the next make demo / make test installs it"

# mutation fuzzing of every reader on every fixture (tests/fuzz.py): FUZZ_SECONDS long (ten
# minutes unless told), FUZZ_WORKERS processes, reproducible by FUZZ_SEED; prints the counts
# per reader and per outcome, and fails on any crash, hang, unbalanced account or silent loss
FUZZ_SECONDS ?= 600
FUZZ_WORKERS ?= 2
FUZZ_SEED ?= 1
fuzz: $(STAMP)
	$(BIN)/python tests/fuzz.py --seconds $(FUZZ_SECONDS) --workers $(FUZZ_WORKERS) --seed $(FUZZ_SEED)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py --update-readme

data: $(STAMP)
	$(BIN)/python data/make_data.py

clean:
	rm -rf $(VENV) $(LATEST) .pytest_cache .hypothesis build *.egg-info
