# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv first.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test test-slow test-postgres bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "needs $(PYTHON)"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/edgebatch +recipe=resnet18_nhwc_drq

# One pytest worker per core (at most 4: each holds torch and TensorFlow, ~1.5 GB).
test: $(STAMP)
	$(VENV)/bin/python -m pytest -q --numprocesses=auto --maxprocesses=4

test-slow: $(STAMP)
	$(VENV)/bin/python -m pytest -q -m slow

# Every test marked postgres (slow ones included) against a throwaway PostgreSQL server.
test-postgres: $(STAMP)
	scripts/with_postgres.sh $(VENV)/bin/python -m pytest -q -m postgres

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/run.py

clean:
	rm -rf $(VENV) outputs multirun
