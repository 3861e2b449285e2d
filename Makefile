# Shortcuts for people with make; the scripts work without it.
.PHONY: run test lint format diagram seed bench mutate

run:
	./scripts/run

test:
	./scripts/test $(ARGS)

lint:
	./scripts/lint

format:
	.venv/bin/ruff format .

diagram:
	.venv/bin/python manage.py state_diagram --write-readme

seed:
	.venv/bin/python manage.py seed_demo

# The office's pages and the reminder scan at 10,000 and 100,000 cases, on PostgreSQL only;
# then the placement import at 1,000 and 5,000 rows (rolled back: the database is left as it was).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/stagebureau_bench
bench:
	createdb -U postgres -h 127.0.0.1 stagebureau_bench 2>/dev/null || true
	DATABASE_URL=$(BENCH_DATABASE_URL) DEBUG=false SECRET_KEY=bench-only-not-secret \
		.venv/bin/python manage.py migrate --no-input -v0
	DATABASE_URL=$(BENCH_DATABASE_URL) DEBUG=false SECRET_KEY=bench-only-not-secret \
		.venv/bin/python manage.py bench --reset $(ARGS)
	DATABASE_URL=$(BENCH_DATABASE_URL) DEBUG=false SECRET_KEY=bench-only-not-secret \
		.venv/bin/python manage.py bench_import

# Mutation testing of the core modules (README "Mutation testing"; about 30 minutes; not in
# CI). `make mutate ARGS="workdays validators"` runs some modules, ARGS=--report only reports.
mutate:
	.venv/bin/python scripts/mutate $(ARGS)
