# lifeseeker: `make demo` (install, ingest the bundled sample photos, serve) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install demo ingest-samples serve test bench clean

# One virtualenv with the package (editable) and its test extras; re-installed when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Ingest the sample photos into the default embedded store (see `lifeseeker info`), then serve on HOST:PORT.
demo: ingest-samples serve

ingest-samples: $(STAMP)
	$(BIN)/lifeseeker ingest folder samples/photos --collection photos

serve: $(STAMP)
	$(BIN)/lifeseeker serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis
