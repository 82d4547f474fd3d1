# Two commands for a fresh machine: `make run` and `make test`.

CARGO      ?= cargo
VENV       := $(CURDIR)/target/pyenv
PY         := $(VENV)/bin/python
DATA_DIR   ?= $(CURDIR)/tracehound-data

.PHONY: run build test test-deps lint fmt

## Build (release) and start the server with a data directory in the checkout.
run:
	$(CARGO) build --release -p tracehound-collector --bin tracehound
	TRACEHOUND_DATA_DIR=$(DATA_DIR) ./target/release/tracehound serve

build:
	$(CARGO) build -p tracehound-collector --bin tracehound

## Install what the tests need (idempotent), then run every test.
test: test-deps build
	TRACEHOUND_PYTHON=$(PY) $(CARGO) test --workspace

# The end-to-end tests export live traffic with the real OpenTelemetry Python SDK.
test-deps: $(VENV)/.installed

$(VENV)/.installed: tests/python/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
