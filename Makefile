# Hookdesk — two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed
# Message catalogues (X2): web/translations/<locale>/LC_MESSAGES/messages.po -> .mo
I18N   := web/translations
# Every catalogue is compiled here, the plugins' own too: .mo files are build output,
# not tracked, so parallel branches never conflict on a binary.
PO     := $(wildcard $(I18N)/*/LC_MESSAGES/messages.po plugins/*/translations/*/LC_MESSAGES/messages.po \
            docs/examples/*/*/translations/*/LC_MESSAGES/messages.po)
MO     := $(patsubst %.po,%.mo,$(PO))

.PHONY: run test lint bench load clean install translations messages

$(STAMP): pyproject.toml docs/examples/hookdesk-example/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip install --quiet -e docs/examples/hookdesk-example
	$(BIN)/pybabel compile -d $(I18N)
	touch $(STAMP)

install: $(STAMP)

# Compile the catalogues whose .po changed.
translations: $(MO)

%/LC_MESSAGES/messages.mo: %/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel compile -i $< -o $@ -l $(notdir $*)

# After adding or changing words: extract them and merge into every catalogue,
# then translate the new entries in web/translations/ru/LC_MESSAGES/messages.po
# (tests/web/test_i18n.py fails while one is missing) and run `make translations`.
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project=Hookdesk --msgid-bugs-address= -o $(I18N)/messages.pot .
	$(BIN)/pybabel update -i $(I18N)/messages.pot -d $(I18N) --no-fuzzy-matching \
		--ignore-obsolete

# Served by gunicorn (several worker processes), with the job worker beside it.
# Letters link to where it listens unless HOOKDESK_BASE_URL says otherwise — the
# demo, the web processes and the worker all get the same address. The demo's
# people (example.com) get no letters (kernel/demo.py).
run: $(STAMP) translations
	@export HOOKDESK_BASE_URL="$${HOOKDESK_BASE_URL:-http://$(HOST):$(PORT)}"; \
	  $(BIN)/hookdesk db upgrade && $(BIN)/hookdesk demo || exit 1; \
	  echo "Serving Hookdesk on http://$(HOST):$(PORT)/ (gunicorn, and a job worker beside it);" \
	    "letters link to $$HOOKDESK_BASE_URL"; \
	  $(BIN)/hookdesk worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/hookdesk serve --host $(HOST) --port $(PORT)

# Tests run in parallel processes (pytest-xdist), one per core; a file's tests stay
# together so module fixtures are built once. TEST_JOBS=0 runs them in one process.
TEST_JOBS ?= auto
test: $(STAMP) translations
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadfile $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

# `make bench BENCH_ARGS="--only list --scale 1000000"`: one benchmark, at 10^6 rows
# (ARGS is read too, for older notes).
bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS) $(ARGS)

# The API mix of 5 agents and many customers against `make run`'s setup (SQLite,
# 50 users) and PostgreSQL + Redis (200 users), on loopback, 60 s each; then the
# books are checked in the database. Figures: docs/performance.md.
LOAD_TIME ?= 60
load: $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[load]"
	$(BIN)/python -m benchmarks.load --setup embedded --users 50 --time $(LOAD_TIME)
	$(BIN)/python -m benchmarks.load --setup scale --users 200 --time $(LOAD_TIME)

clean:
	rm -rf $(VENV) instance .pytest_cache
