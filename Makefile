# Entry points: `make demo` runs the main job on the embedded dev server, `make test` is what CI
# runs, `make check` is the lint/type gate, `make bench` prints the benchmark ratios.
# Every target installs what it needs into .venv: `make demo` the runtime only, the others the
# developer tools too.
#
# The interpreter: `make demo PYTHON=python3.12` (a name on PATH or a path) builds .venv on it;
# naming another one later rebuilds .venv. Without PYTHON, the one .venv was built on, else the
# first supported one of python3, python3.13, ..., python3.10 on PATH. Supported: CPython 3.10
# to 3.13.
#
# uv: the one on PATH, else `$(PYTHON) -m uv`, else a private copy bootstrapped into .tools/uv
# with `python -m venv` and pip (works where the system Python refuses `pip install`, PEP 668).
# uv never downloads an interpreter: it uses the one chosen here.

SUPPORTED := 3.10 3.11 3.12 3.13
_supported = import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 13))
ifeq ($(origin PYTHON),undefined)
# The one .venv was built on (so `make demo PYTHON=...` then `make dev` keeps it), else a search.
_VENV_PY := $(firstword $(shell cat .venv/.python-id 2>/dev/null))
PYTHON := $(or $(and $(_VENV_PY),$(shell $(_VENV_PY) -c '$(_supported)' 2>/dev/null && echo $(_VENV_PY))),\
	$(shell for p in python3 python3.13 python3.12 python3.11 python3.10; do \
	command -v $$p >/dev/null 2>&1 && $$p -c '$(_supported)' 2>/dev/null && { echo $$p; break; }; done),python3)
endif
# "<executable> <version>" of the chosen interpreter; .venv is rebuilt when it changes.
PY_ID := $(shell $(PYTHON) -c 'import sys, platform; print(sys.executable, platform.python_version())' 2>/dev/null)
PY := $(firstword $(PY_ID))

export UV_PYTHON_DOWNLOADS ?= never
# Trust the certificates the system trusts (as pip does), e.g. a company's TLS proxy; uv's own
# bundle would refuse them. UV_NATIVE_TLS is the name older uv releases read.
export UV_SYSTEM_CERTS ?= 1
export UV_NATIVE_TLS ?= 1
TOOLS := $(CURDIR)/.tools
UV ?= $(or $(shell command -v uv 2>/dev/null),\
	$(shell $(PYTHON) -m uv --version >/dev/null 2>&1 && echo "$(PYTHON) -m uv"),\
	$(TOOLS)/uv/bin/uv)
export UV
BIN := .venv/bin
PACKAGES := waygrid_core/waygrid waygrid_django/waygrid_django waygrid_fastapi/waygrid_fastapi
PROJECT_FILES := uv.lock pyproject.toml waygrid_core/pyproject.toml waygrid_django/pyproject.toml \
	waygrid_fastapi/pyproject.toml
# The runtime sync is inexact so that it never removes the developer tools `make test` installed.
SYNC_RUNTIME := sync --frozen --all-packages --no-dev --inexact
SYNC_DEV := sync --frozen --all-packages

.PHONY: install runtime demo dev test test-pythons check format bench clean python FORCE

python:
	@if [ -z "$(PY)" ]; then \
		echo "No Python found for PYTHON=$(PYTHON). Install CPython $(SUPPORTED) or name one:" \
			"make demo PYTHON=/path/to/python3.12" >&2; exit 1; fi
	@$(PY) -c '$(_supported)' || { echo "$(PY_ID) is not supported; this project needs" \
		"CPython $(SUPPORTED). Name another: make demo PYTHON=python3.12" >&2; exit 1; }

$(TOOLS)/uv/bin/uv:
	@echo "uv not found: installing it into $(TOOLS)/uv (a private virtual environment)"
	$(PYTHON) -m venv $(TOOLS)/uv
	$(TOOLS)/uv/bin/python -m pip install --quiet --disable-pip-version-check uv

# .venv records the interpreter it was built on; naming another one makes the stamps stale, and
# the sync starts over from an empty .venv.
ifneq ($(shell cat .venv/.python-id 2>/dev/null),$(PY_ID))
STALE := FORCE
endif
define sync
	@if [ -d .venv ] && { [ ! -x $(BIN)/python ] || \
		[ "$$(cat .venv/.python-id 2>/dev/null)" != "$(PY_ID)" ]; }; then \
		echo "rebuilding .venv on Python $(lastword $(PY_ID)) ($(PY))"; rm -rf .venv; fi
	$(UV) $(1) --python $(PY)
	@echo "$(PY_ID)" > .venv/.python-id
endef

.venv/.runtime: $(PROJECT_FILES) $(STALE) | python $(filter $(TOOLS)/%,$(UV))
	$(call sync,$(SYNC_RUNTIME))
	@touch $@

.venv/.dev: $(PROJECT_FILES) $(STALE) | python $(filter $(TOOLS)/%,$(UV))
	$(call sync,$(SYNC_DEV))
	@touch $@ .venv/.runtime

FORCE:

runtime: .venv/.runtime
install: .venv/.dev

demo: runtime
	$(BIN)/python -m examples.demo $(ARGS)

dev: runtime
	$(BIN)/waygrid dev $(ARGS)

# pytest exits 5 when it collected nothing: a failure here, we always have tests.
# The second run repeats tests/django on PostgreSQL (WAYGRID_TEST_POSTGRES_URL; skipped without
# it, an error when WAYGRID_TEST_REQUIRE_POSTGRES=1). Both always run; either failing fails.
# The main run measures branch coverage of the packages and fails under COVERAGE_FLOOR percent
# (94.95 % measured on 2026-12-02: the floor sits two points under; tool.coverage in pyproject.toml).
COVERAGE_FLOOR := 93
test: install
	@$(BIN)/pytest --cov --cov-report=term:skip-covered --cov-fail-under=$(COVERAGE_FLOOR); status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; status=1; fi; \
	WAYGRID_TEST_DATABASE=postgresql $(BIN)/pytest tests/django; pg=$$?; \
	if [ $$pg -eq 5 ]; then echo "pytest collected no Django tests" >&2; pg=1; fi; \
	if [ $$status -ne 0 ]; then exit $$status; fi; exit $$pg

# The suites that need no Django, database or browser setup, on other interpreters, each in its
# own environment (.venvs/<version>): `make test-pythons PYTHONS="/path/to/python3.10 /path/to/python3.13"`.
# CI runs it for the oldest and the newest supported Python.
PYTHONS ?= python3.10 python3.13
PORTABLE_TESTS := tests/core tests/cli tests/fastapi tests/devserver
test-pythons: | $(filter $(TOOLS)/%,$(UV))
	@set -e; for p in $(PYTHONS); do \
		exe=$$($$p -c 'import sys; print(sys.executable)'); \
		version=$$($$exe -c 'import platform; print(platform.python_version())'); \
		echo "== Python $$version ($$exe)"; \
		UV_PROJECT_ENVIRONMENT=.venvs/$$version $(UV) $(SYNC_DEV) --python $$exe -q; \
		.venvs/$$version/bin/pytest -q -p no:cacheprovider $(PORTABLE_TESTS); \
	done

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy --strict $(PACKAGES)

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(BIN)/python -m benchmarks

clean:
	rm -rf .venv .venvs .tools .mypy_cache .ruff_cache .pytest_cache .hypothesis waygrid-demo
