# RenewDay: `make run` serves the store (an empty one opens on the first-run page); `make demo` serves a
# separate demo store (data/demo.db); `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test bench migrate demo clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.installed requirements-dev.txt
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

migrate: $(VENV)/.installed
	$(PY) -m core migrate

run: migrate
	$(VENV)/bin/streamlit run app.py --server.address 0.0.0.0 --server.port $(PORT)

# The demo lives in its own file: it is never loaded into the store of a real event.
DEMO_URL ?= sqlite:///data/demo.db
demo: $(VENV)/.installed
	DATABASE_URL=$(DEMO_URL) $(PY) -m core migrate
	DATABASE_URL=$(DEMO_URL) $(PY) -m core demo --if-empty
	DATABASE_URL=$(DEMO_URL) $(VENV)/bin/streamlit run app.py --server.address 0.0.0.0 --server.port $(PORT)

test: $(VENV)/.dev-installed
	$(PY) -m pytest

bench: $(VENV)/.dev-installed
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache
