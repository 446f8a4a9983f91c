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

.PHONY: run test lint bench clean install translations messages

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

run: $(STAMP) translations
	$(BIN)/hookdesk db upgrade
	$(BIN)/hookdesk demo
	@echo "Serving Hookdesk on http://$(HOST):$(PORT)/ (and a job worker beside it)"
	@$(BIN)/hookdesk worker & worker=$$!; \
	  trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	  $(BIN)/hookdesk run --host $(HOST) --port $(PORT)

test: $(STAMP) translations
	$(BIN)/ruff check .
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) instance .pytest_cache
