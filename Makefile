# Shortcuts for people with make; the scripts work without it.
.PHONY: run test lint format diagram seed bench bench-1m mutate

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

# What the office does, at 10,000 and 100,000 cases, on PostgreSQL only: the dashboard, the
# lists, search, the overdue list as the dashboard links it, the case page, Django admin's
# changelist on the same filter and search (the peer), a bare view (the throughput yardstick),
# the CSV export in rows/s and the real scan task publishing to the real broker
# (BENCH_BROKER_URL, Redis); then the placement import at 1,000 and 5,000 rows (rolled back).
# `make bench-1m` adds a million cases (a long run: the seed alone takes a while).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/stagebureau_bench
BENCH_BROKER_URL ?= redis://127.0.0.1:6379/0
BENCH_ENV = DATABASE_URL=$(BENCH_DATABASE_URL) CELERY_BROKER_URL=$(BENCH_BROKER_URL) \
	DEBUG=false SECRET_KEY=bench-only-not-secret
bench:
	createdb -U postgres -h 127.0.0.1 stagebureau_bench 2>/dev/null || true
	$(BENCH_ENV) .venv/bin/python manage.py migrate --no-input -v0
	$(BENCH_ENV) .venv/bin/python manage.py bench --reset $(ARGS)
	$(BENCH_ENV) .venv/bin/python manage.py bench_import

bench-1m:
	createdb -U postgres -h 127.0.0.1 stagebureau_bench 2>/dev/null || true
	$(BENCH_ENV) .venv/bin/python manage.py migrate --no-input -v0
	$(BENCH_ENV) .venv/bin/python manage.py bench --reset --sizes 10000 100000 1000000 $(ARGS)

# Mutation testing of the core modules (README "Mutation testing"; about 30 minutes; not in
# CI). `make mutate ARGS="workdays validators"` runs some modules, ARGS=--report only reports.
mutate:
	.venv/bin/python scripts/mutate $(ARGS)
