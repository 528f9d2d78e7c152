# lifeseeker: `make demo` (install, ingest the bundled sample photos, serve) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
# A CPU-only machine: `make demo TORCH_INDEX=https://download.pytorch.org/whl/cpu` installs torch and torchvision
# from the PyTorch CPU wheel index first (no CUDA libraries: a venv of about 2 GB instead of 7 GB, see README).
TORCH_INDEX ?=
PIP    := $(BIN)/python -m pip install -q --disable-pip-version-check

.PHONY: install demo ingest-samples serve test bench clean

# One virtualenv with the package (editable) and its test extras; re-installed when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) --upgrade pip
	$(if $(TORCH_INDEX),$(PIP) --index-url $(TORCH_INDEX) torch torchvision)
	$(PIP) -e '.[test]'
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
