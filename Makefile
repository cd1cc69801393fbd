# Thin wrappers; the work is in db/setup.sh and the `mango` command.
.PHONY: setup run test lint bench clean-db

setup:
	@bash db/setup.sh

run: setup
	@.venv/bin/mango demo --once --customers $${DEMO_CUSTOMERS:-2000}
	@.venv/bin/mango run

test: setup
	@.venv/bin/python -m pytest -q $${PYTEST_ARGS:-}

lint: setup
	@.venv/bin/ruff check db mango agents webclient tests bench migrations
	@.venv/bin/ruff format --check db mango agents webclient tests bench migrations
	@.venv/bin/mypy
	@.venv/bin/sqlfluff lint --dialect postgres migrations/sql procedures
	@.venv/bin/mango lint-sql

# Every benchmark in turn (each builds or reuses its own database); one of them: make bench BENCH=ipam
BENCH ?= bus customers customers_web pages ipam flows rating billing
bench: setup
	@for b in $(BENCH); do echo "== bench.$$b"; .venv/bin/python -m bench.$$b || exit 1; done
