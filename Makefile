# Two commands matter: `make run` and `make test`. Everything installs into .venv,
# and installing is skipped while pyproject.toml is older than the stamp in .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

# Tests and benchmarks run on PostgreSQL and Redis; `make run` uses whatever the
# environment says (SQLite in var/ and the filesystem broker when nothing is set).
TEST_DATABASE_URL = $${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/inventory_portal}
TEST_BROKER_URL = $${CELERY_BROKER_URL:-redis://127.0.0.1:6379/0}
TEST_ENV = DATABASE_URL="$(TEST_DATABASE_URL)" CELERY_BROKER_URL="$(TEST_BROKER_URL)"

.PHONY: install run test pytest pytest-sqlite lint fmt bench clean

install: $(STAMP)

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet -r $(VENV)/requirements.txt
	touch $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py seed_demo
	exec $(PY) bin/run

# Two legs: the whole suite on PostgreSQL + Redis, then everything but the browser and worker tests on
# SQLite with the filesystem broker (the `make run` default), where `postgresql` tests skip with the reason.
test: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(TEST_ENV) $(PY) bin/ensure_database
	$(TEST_ENV) $(PY) manage.py makemigrations --check --dry-run
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)
	$(MAKE) --no-print-directory pytest-sqlite

SQLITE_VAR = $(CURDIR)/var/test-sqlite

pytest-sqlite: install
	rm -rf "$(SQLITE_VAR)" && mkdir -p "$(SQLITE_VAR)"
	env -u DATABASE_URL -u CELERY_BROKER_URL PORTAL_VAR_DIR="$(SQLITE_VAR)" \
		$(PY) -m pytest -p no:cacheprovider -m "not browser and not worker" $(PYTEST_ARGS)

pytest: install
	$(TEST_ENV) $(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Every bench/*.py and every fault drill bench/drills/*.py in turn (not the shared _*.py helpers), on a migrated
# PostgreSQL database; each prints its figures and exits non-zero when a target is missed (a drill: on a loss or
# a duplicate). All run; the scripts that missed are
# listed at the end and make fails.
# Then the 10x catalogue (issue 13): each prints how its figures grew from the run above (var/bench/*.json);
# the databases they build are kept and reused while their size matches.
BENCH_10X = bench/inventory_page.py:--parts:500000 bench/export.py:--rows:1000000 bench/allocadence_pull.py:--skus:100000 \
	bench/channel_sync.py:--parts:250000:--quantities-only

bench: install
	$(TEST_ENV) $(PY) bin/ensure_database
	$(TEST_ENV) $(PY) manage.py migrate --noinput --verbosity 0
	@missed=""; for script in bench/[!_]*.py bench/drills/[!_]*.py; do \
		[ -e "$$script" ] || continue; \
		echo "== $$script"; \
		$(TEST_ENV) DJANGO_SETTINGS_MODULE=inventory_portal.settings PYTHONPATH=. $(PY) "$$script" || missed="$$missed $$script"; \
	done; \
	for run in $(BENCH_10X); do \
		echo "== $$run (10x)"; \
		$(TEST_ENV) DJANGO_SETTINGS_MODULE=inventory_portal.settings PYTHONPATH=. $(PY) $$(echo "$$run" | tr : ' ') \
			|| missed="$$missed $$run"; \
	done; \
	if [ -n "$$missed" ]; then echo "== targets missed in:$$missed"; exit 1; fi; echo "== every target met"

clean:
	rm -rf var/staticfiles var/broker .pytest_cache
