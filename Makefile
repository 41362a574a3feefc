# The two commands: `make run` (set up on first use, start everything, open a
# terminal chat) and `make test` (the whole suite). See README.md.
PY := .venv/bin/python
export RASA_TELEMETRY_ENABLED := false

# `make check`: the quick gate before a commit (lint, format, types, the tests that need no Rasa).
.PHONY: run serve rasa test check setup train bench analytics nlu-data validate clean backup restore

run: setup
	$(PY) -m bot run

serve: setup
	$(PY) -m bot serve

# Rasa servers alone, for app processes on other machines (their RASA_URL lists
# these): `RASA_TOKEN=… make rasa HOST=0.0.0.0`; RASA_PORT and RASA_WORKERS apply.
HOST ?= 127.0.0.1
rasa: setup
	$(PY) -m nlu.service serve --host $(HOST)

setup:
	@scripts/setup_app.sh
	@scripts/setup_voice.sh
	@scripts/setup_rasa.sh

nlu-data: setup
	$(PY) -m nlu.build

train: setup
	$(PY) -m nlu.service

validate: setup
	cd nlu && ../.venv-rasa/bin/rasa data validate --domain domain.yml --data data --config config.yml

test: setup
	@scripts/setup_test_tools.sh
	$(PY) -m pytest -q -ra

check:
	@scripts/setup_app.sh
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy
	$(PY) -m pytest -q -m "not rasa and not e2e and not slow"

bench: setup
	$(PY) -m benchmarks

analytics: setup
	$(PY) -m bot analytics

# The store (REDIS_URL or the embedded Redis) to a private file, and back (README «Backup and restore»).
BACKUP ?= backups/store-$(shell date -u +%Y-%m-%dT%H%M%SZ).backup
backup:
	@mkdir -p -m 700 $(dir $(BACKUP))
	$(PY) -m bot.store.backup dump $(BACKUP)

restore:
	@test -n "$(FILE)" || { echo "Укажите файл: make restore FILE=backups/store-….backup"; exit 2; }
	$(PY) -m bot.store.backup restore $(FILE)

clean:
	rm -rf data nlu/models nlu/.rasa benchmarks/.cache
