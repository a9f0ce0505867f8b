# The README's two commands: `make run` and `make test`.  Everything else supports them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: run test install chromium catalogs messages bench load lint format clean

run: install catalogs
	$(BIN)/crm run

test: install chromium catalogs
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	@rm -f $(VENV)/.installed-* && touch $@

# The words of the app: crm_core/locale/<lang>/LC_MESSAGES/leadradar.po, compiled to .mo (never
# committed).  After changing texts in the code, `make messages` extracts them and adds new ones
# to both catalogs (German needs its translation; English ids are the English text).
LOCALES := crm_core/locale
catalogs: install
	$(BIN)/pybabel --quiet compile -d $(LOCALES) -D leadradar

messages: install
	$(BIN)/pybabel --quiet extract --no-location --sort-output -w 100 -o $(LOCALES)/leadradar.pot \
		crm_core pages jobs app.py
	$(BIN)/pybabel --quiet update --no-fuzzy-matching --ignore-obsolete -w 100 \
		-i $(LOCALES)/leadradar.pot -d $(LOCALES) -D leadradar
	rm -f $(LOCALES)/leadradar.pot
	@# fixed dates (they would change on every run) and no placeholder lines: branches merge cleanly
	sed -i -E -e 's/^"(POT-Creation-Date|PO-Revision-Date): .*"$$/"\1: 2026-12-04 00:00+0000\\n"/' \
		-e '/^"(Report-Msgid-Bugs-To|Last-Translator|Language-Team):/d' $(LOCALES)/*/LC_MESSAGES/leadradar.po

# Browser tests drive Debian's Chromium; Playwright cannot download its own browser here.
chromium:
	@if [ -x /usr/bin/chromium ]; then exit 0; fi; \
	if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else \
		echo "Browser tests need Chromium at /usr/bin/chromium: run 'sudo apt-get install -y chromium'." >&2; \
		exit 1; \
	fi

# `make bench SCALE=1000000`: the server-side keys at a million contacts (bench/results_1m.json).
SCALE ?=
bench: install catalogs
	$(BIN)/python -m bench.run $(if $(SCALE),--contacts $(SCALE))

# `make load`: ten signed-in users in one Chromium for three minutes, then a ramp without pauses
# (bench/load.py; not part of `make test`).  The load_* keys go into bench/results.json.
load: install chromium catalogs
	$(BIN)/python -m bench.load

lint: install
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
