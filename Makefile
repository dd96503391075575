# Two commands set everything up: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench data clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 > /dev/null
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m soleus_analysis.demo

test: $(STAMP)
	$(BIN)/ruff check soleus_analysis tests benchmarks docs data
	$(BIN)/ruff format --check soleus_analysis tests benchmarks docs data
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

lint: $(STAMP)
	$(BIN)/ruff check soleus_analysis tests benchmarks docs data
	$(BIN)/ruff format --check soleus_analysis tests benchmarks docs data

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

data: $(STAMP)
	$(BIN)/python data/make_data.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis build *.egg-info
