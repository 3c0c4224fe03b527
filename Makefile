# CodexEngine: `make run` sets everything up and runs the platform; `make test` sets
# everything up and runs the whole suite. Both are idempotent and work on a fresh
# Debian/Ubuntu machine (as root, or with passwordless sudo, for the apt packages).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: system install services migrate bootstrap run test lint bench stop doctor fuzz

system:
	./scripts/ensure-system.sh

$(STAMP): requirements.txt
	./scripts/ensure-system.sh
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# The CPU build of torch lies on this disk; asking for it first keeps pip from fetching a CUDA one.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

services: system
	./scripts/ensure-services.sh

migrate: install services
	$(PY) manage.py migrate --noinput

bootstrap: migrate
	$(PY) manage.py bootstrap
	$(PY) manage.py load_system_skills
	$(PY) manage.py load_toolkits

run: bootstrap
	$(PY) manage.py collectstatic --noinput -v 0
	./scripts/run.sh $(HOST) $(PORT)

test: install services
	# The browser tests drive Debian's chromium (/usr/bin/chromium) through Playwright.
	./scripts/ensure-system.sh --browser
	$(VENV)/bin/ruff check .
	$(VENV)/bin/pytest

lint: install
	$(VENV)/bin/ruff check .

doctor: install services
	$(PY) manage.py doctor

stop: install
	$(PY) manage.py embedded_postgres stop

# Fuzzing (not part of `make test`): schemathesis over /api/schema/ against a live platform as a
# normal user for FUZZ_SECONDS (default 600); prints and keeps the 5xx counts (docs/fuzzing.md).
FUZZ_VENV := var/fuzz-venv
$(FUZZ_VENV)/.installed: requirements-fuzz.txt
	test -x $(FUZZ_VENV)/bin/python || $(PYTHON) -m venv $(FUZZ_VENV)
	$(FUZZ_VENV)/bin/pip install -q -r requirements-fuzz.txt
	touch $@

fuzz: bootstrap $(FUZZ_VENV)/.installed
	$(PY) manage.py collectstatic --noinput -v 0
	$(PY) scripts/fuzz.py
