# Two commands for a fresh machine: `make run` and `make test`.

CARGO      ?= cargo
# Where cargo puts its builds: CARGO_TARGET_DIR when set, as cargo itself reads it.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
VENV       := $(TARGET_DIR)/pyenv
PY         := $(VENV)/bin/python
DATA_DIR   ?= $(CURDIR)/tracehound-data

.PHONY: run build test test-deps browser-deps lint fmt crash-test bench fuzz-deps fuzz-smoke fuzz

## Build (release) and start the server with a data directory in the checkout.
## The first build compiles every dependency: about 10 minutes on 2 cores.
run:
	@echo "Building tracehound in release (the first build takes about 10 minutes on 2 cores)..."
	$(CARGO) build --release -p tracehound --bin tracehound
	TRACEHOUND_DATA_DIR=$(DATA_DIR) $(TARGET_DIR)/release/tracehound serve

build:
	$(CARGO) build -p tracehound --bin tracehound

## Install what the tests need (idempotent), then run every test.
test: test-deps browser-deps build fuzz-smoke
	TRACEHOUND_PYTHON=$(PY) $(CARGO) test --workspace

# The end-to-end tests export live traffic with the real OpenTelemetry Python SDK.
test-deps: $(VENV)/.installed

$(VENV)/.installed: tests/python/requirements.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
	touch $@

# The UI tests drive Debian's headless Chromium through chromedriver (CI runs as root).
browser-deps:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		(apt-get update && apt-get install -y chromium chromium-driver)

## The crash harness, long form: 20 SIGKILLs under concurrent exporters.
crash-test: build
	TRACEHOUND_CRASH_KILLS=20 $(CARGO) test -p tracehound-e2e --test crash -- --nocapture

## Release build, then the load generator against a real server on loopback; writes
## BENCHMARKS.md (generated section) and target/bench/results.json. BENCH_ARGS passes flags.
bench:
	$(CARGO) build --release --bin tracehound --bin tracehound-bench --bin tracehound-triage-bench --bin tracehound-monitor-bench
	$(TARGET_DIR)/release/tracehound-bench --server $(TARGET_DIR)/release/tracehound $(BENCH_ARGS)
	$(TARGET_DIR)/release/tracehound-triage-bench
	$(TARGET_DIR)/release/tracehound-monitor-bench

## Coverage-guided fuzzing with cargo fuzz (libFuzzer): OTLP protobuf and OTLP/JSON decode
## plus normalization, and the search query parser (targets in fuzz/fuzz_targets/).
# cargo fuzz is made for nightly; RUSTC_BOOTSTRAP=1 lets the stable toolchain, the only one
# there is here, accept any nightly-only flag it passes. No sanitizer (ASan needs
# -Zsanitizer): the targets reach no `unsafe` of ours (its only use is two libc scheduler
# calls of the indexer) and hunt panics, so ASan would only lengthen the build and slow
# every run. Debug assertions and overflow checks stay on, so arithmetic that would
# silently wrap in release is caught.
# The build instruments the whole dependency tree again, in fuzz/target.
FUZZ_TARGETS       := otlp_protobuf otlp_json search_query
FUZZ_SECONDS       ?= 600
FUZZ_SMOKE_SECONDS ?= 20
FUZZ               := RUSTC_BOOTSTRAP=1 $(CARGO) fuzz
FUZZ_BUILD_FLAGS   := --sanitizer none --debug-assertions
# New inputs go to a working corpus under fuzz/target (ignored); the seeds in fuzz/corpus stay
# as checked in. A crash stops the run and is saved under fuzz/artifacts/<target>/.
fuzz_run = mkdir -p fuzz/target/corpus/$(1) && $(FUZZ) run $(FUZZ_BUILD_FLAGS) $(1) \
	fuzz/target/corpus/$(1) fuzz/corpus/$(1) -- -max_total_time=$(2) -timeout=30

fuzz-deps:
	@$(CARGO) fuzz --version >/dev/null 2>&1 || $(CARGO) install cargo-fuzz --locked --version 0.13.2

## Each target for FUZZ_SMOKE_SECONDS (part of `make test`).
fuzz-smoke: fuzz-deps
	$(FUZZ) build $(FUZZ_BUILD_FLAGS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SMOKE_SECONDS)) &&) true

## The long run: each target for FUZZ_SECONDS (default 10 minutes).
fuzz: fuzz-deps
	$(FUZZ) build $(FUZZ_BUILD_FLAGS)
	$(foreach t,$(FUZZ_TARGETS),$(call fuzz_run,$(t),$(FUZZ_SECONDS)) &&) true

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
