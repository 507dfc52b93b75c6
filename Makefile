# The two commands of README.md: `make run` and `make test`. Both set up a fresh machine first.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-requirements

.PHONY: setup run test lint reliability

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# The CPU build of torch first (see requirements.txt), then everything else.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

setup: $(STAMP)

run: setup
	OPENBLAS_NUM_THREADS=1 $(PY) manage.py runapp

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy .

test: setup
	bash .ci/ensure-services.sh
	$(MAKE) --no-print-directory lint
	bash .ci/test-suite.sh

# The heavy fault drills (issue #9): 1,000 reviews per drill instead of the suite's 40.
reliability: setup
	bash .ci/ensure-services.sh
	FAULT_DRILL_REVIEWS=1000 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest tests/test_worker_faults.py -s
	TASK_PROPERTY_EXAMPLES=25 OPENBLAS_NUM_THREADS=1 $(PY) -m pytest tests/test_task_properties.py
