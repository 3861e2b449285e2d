# Shortcuts for people with make; the scripts work without it.
.PHONY: run test lint format diagram seed

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
