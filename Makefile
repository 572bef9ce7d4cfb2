# Entry points: `make demo` runs the main job on the embedded dev server, `make test` is what CI
# runs, `make check` is the lint/type gate, `make bench` prints the benchmark ratios.
# Every target installs what it needs (uv is bootstrapped with pip when missing).

PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo "$(PYTHON) -m uv")
export UV_PYTHON_DOWNLOADS ?= never
PACKAGES := waygrid_core/waygrid waygrid_django/waygrid_django waygrid_fastapi/waygrid_fastapi
RUN := $(UV) run --frozen --no-sync

.PHONY: install demo dev test check format bench clean

.venv/.synced: uv.lock pyproject.toml waygrid_core/pyproject.toml waygrid_django/pyproject.toml waygrid_fastapi/pyproject.toml
	@command -v uv >/dev/null 2>&1 || $(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv
	$(UV) sync --frozen --all-packages
	@touch $@

install: .venv/.synced

demo: install
	$(RUN) python -m examples.demo

dev: install
	$(RUN) waygrid dev

# pytest exits 5 when it collected nothing: a failure here, we always have tests.
# The second run repeats tests/django on PostgreSQL (WAYGRID_TEST_POSTGRES_URL; skipped without
# it, an error when WAYGRID_TEST_REQUIRE_POSTGRES=1). Both always run; either failing fails.
test: install
	@$(RUN) pytest; status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests" >&2; status=1; fi; \
	WAYGRID_TEST_DATABASE=postgresql $(RUN) pytest tests/django; pg=$$?; \
	if [ $$pg -eq 5 ]; then echo "pytest collected no Django tests" >&2; pg=1; fi; \
	if [ $$status -ne 0 ]; then exit $$status; fi; exit $$pg

check: install
	$(RUN) ruff format --check .
	$(RUN) ruff check .
	$(RUN) mypy --strict $(PACKAGES)

format: install
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: install
	$(RUN) python -m benchmarks

clean:
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache .hypothesis
