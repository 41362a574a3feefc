# The two commands: `make run` (set up on first use, start everything, open a
# terminal chat) and `make test` (the whole suite). See README.md.
PY := .venv/bin/python
export RASA_TELEMETRY_ENABLED := false

.PHONY: run serve test setup train bench analytics nlu-data validate clean

run: setup
	$(PY) -m bot run

serve: setup
	$(PY) -m bot serve

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

bench: setup
	$(PY) -m benchmarks

analytics: setup
	$(PY) -m bot analytics

clean:
	rm -rf data nlu/models nlu/.rasa benchmarks/.cache
