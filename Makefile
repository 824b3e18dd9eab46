# Realtime Voting: every target works on a fresh clone (it installs what is missing).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: help install services stop status run demo test lint format bench

help:
	@echo "make run       set up, start PostgreSQL + Kafka, Dagster and the dashboard"
	@echo "make demo      as make run, then a short election end to end through Dagster (DEMO_MINUTES)"
	@echo "make test      set up, lint, run the whole test suite on its own services (.stack/test)"
	@echo "make services  start the local PostgreSQL and Kafka (make stop stops them)"
	@echo "make bench     run every benchmark on its own services; figures in .stack/bench/results.jsonl"

$(STAMP): pyproject.toml
	@bash stack/prereqs.sh python
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

services: $(STAMP)
	@bash stack/prereqs.sh services
	@$(BIN)/python stack/localstack.py start

stop:
	@if [ -x $(BIN)/python ]; then $(BIN)/python stack/localstack.py stop; else $(PYTHON) stack/localstack.py stop; fi

status: $(STAMP)
	@$(BIN)/python stack/localstack.py status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# the suite starts and stops its own PostgreSQL and Kafka (tests/conftest.py), so a running
# election (make run) is never touched
test: lint
	@bash stack/prereqs.sh services
	@bash stack/prereqs.sh browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

run: services
	@$(BIN)/python stack/run.py

# make run, plus a short election driven through Dagster (DEMO_MINUTES, DEMO_VOTERS); the stack
# keeps running afterwards
demo: services
	@$(BIN)/python scripts/demo.py

# every benchmark on its own PostgreSQL and Kafka (BENCH_POSTGRES_PORT, BENCH_KAFKA_PORT, data in
# .stack/bench), so a running election (make run) is never touched; figures in .stack/bench
bench: $(STAMP)
	@bash stack/prereqs.sh services
	$(BIN)/python -m benchmarks $(BENCH)
