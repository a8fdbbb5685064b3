# Every target builds the virtual environment first (Python 3.11+ and make are all it needs).
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1
# The project's code is imported from where it lives, never installed: include/ (the sync, the harness,
# the local servers) and plugins/ (the Okta provider). pytest.ini's `pythonpath` does the same for tests.
export PYTHONPATH := $(CURDIR)/include:$(CURDIR)/plugins$(if $(PYTHONPATH),:$(PYTHONPATH))

.PHONY: venv test demo scenario servers bench soak airflow freeze clean

# requirements-dev.txt (requirements.txt + Airflow + test tools) at the exact versions of constraints.txt.
# ./plugins is installed (editable, so plugins/ stays the code that runs) only for its entry point:
# Airflow's connection form for the `okta` type exists only through an installed provider distribution.
$(STAMP): requirements.txt requirements-dev.txt requirements-events.txt constraints.txt plugins/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements-dev.txt -c constraints.txt -e ./plugins
	touch $(STAMP)

venv: $(STAMP)

## The test suite: unit, adapter, DAG and scenario tests against the local servers.
## The 15 slowest tests are listed at the end, so a CI log shows where its time went.
PYTEST_ARGS ?= --durations=15
test: venv
	$(BIN)/python -m pytest $(PYTEST_ARGS)

## The sync end to end on local stand-ins for Okta and QuickSight: two runs, two reports.
demo: venv
	$(BIN)/python -m scenario_harness.demo

## One scenario file run through the real DAG: make scenario SCENARIO=x.json RESULT=y.json
scenario: venv
	@test -n "$(SCENARIO)" || { echo "usage: make scenario SCENARIO=path.json RESULT=path.json"; exit 2; }
	$(BIN)/python -m scenario_harness run "$(SCENARIO)" "$(or $(RESULT),result.json)"

## The local Okta and QuickSight servers seeded from a scenario, until interrupted.
servers: venv
	@test -n "$(SCENARIO)" || { echo "usage: make servers SCENARIO=path.json"; exit 2; }
	$(BIN)/python -m local_servers "$(SCENARIO)"

## Benchmarks against the local servers, with the reference design as baseline; writes docs/benchmarks.md.
bench: venv
	$(BIN)/python -m bench $(BENCH_ARGS)

## The long soak: random Okta changes and faults, invariants checked; writes docs/reliability.md.
soak: venv
	$(BIN)/python -m soak $(SOAK_ARGS)

## Airflow locally (scheduler, DAG processor, API server, triggerer) wired to the local servers.
airflow: venv
	$(BIN)/python -m scenario_harness.local_airflow

## Re-pin constraints.txt from the current virtual environment (after changing requirements*.txt).
freeze: venv
	{ grep '^#' constraints.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -viE '^(okta-quicksight-sync|airflow-provider-okta-sync)'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
