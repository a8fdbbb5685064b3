# Every target builds the virtual environment first (Python 3.11+ and make are all it needs).
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: venv test demo scenario servers bench soak airflow freeze clean

$(STAMP): requirements.txt include/pyproject.toml plugins/pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $(STAMP)

venv: $(STAMP)

## The test suite: unit, adapter, DAG and scenario tests against the local servers.
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

## Re-pin requirements.txt from the current virtual environment.
freeze: venv
	{ sed -n '1,5p' requirements.txt; $(BIN)/python -m pip freeze --exclude-editable | grep -viE '^(okta-quicksight-sync|airflow-provider-okta-sync)'; } > requirements.txt.new
	mv requirements.txt.new requirements.txt

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
