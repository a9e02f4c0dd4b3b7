# modelplug — the commands the README names. `make demo` runs the main job on embedded
# defaults; `make test` runs every test suite in the repo. Both install what they need.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# One target triple for cargo, maturin and napi (napi always passes --target), so the whole
# dependency graph is built once. See ../shared/BUILD-NOTES.md.
export CARGO_BUILD_TARGET ?= x86_64-unknown-linux-gnu
export CARGO_TERM_COLOR ?= never
# pyo3: let cargo and maturin agree (no needless rebuilds); see BUILD-NOTES.md gotcha 2.
export PYO3_BUILD_EXTENSION_MODULE ?= 1
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
DEBUG_DIR := $(TARGET_DIR)/$(CARGO_BUILD_TARGET)/debug
MOCK_UPSTREAM := $(DEBUG_DIR)/modelplug-mock-upstream
COLLECTOR := $(DEBUG_DIR)/modelplug-collector

VENV := .venv
PY := $(VENV)/bin/python
PYTHON ?= python3

UNIFFI_BINDGEN := $(DEBUG_DIR)/uniffi-bindgen
KOTLIN_LIB := $(DEBUG_DIR)/libmodelplug_kotlin.so
MVN := mvn -B -q -Dstyle.color=never

.PHONY: help demo test schema test-rust test-oracle test-python python-dev test-node node-dev test-kotlin kotlin-dev lint bench-core bench-python bench-node bench-kotlin bench-upstream bench-collector bench-policy bench-dashboard build mock-upstream collector postgres fuzz test-dashboard chromium

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

demo: ## the main job on embedded defaults: the demo scenarios through the core against the mock upstream, reported to a local collector
	cargo run -q -p modelplug-examples --bin demo

test: test-rust test-oracle test-python test-node test-kotlin test-dashboard ## every test suite in the repo

build: ## build the workspace (debug)
	cargo build

test-rust: postgres ## core and collector tests (the collector's on SQLite and a throwaway PostgreSQL), vectors, recordings, examples; the usage-event JSON Schema is current
	cargo test
	cargo test -q -p modelplug-schema --features json-schema --test json_schema

schema: ## regenerate schema/usage-event.schema.json from the schema crate's types
	UPDATE_SCHEMA=1 cargo test -q -p modelplug-schema --features json-schema --test json_schema

test-oracle: tests/oracle/node_modules/.bin/prism ## the adapter's requests against Prism serving the OpenAI spec
	cargo test -p modelplug-core --test prism_oracle -- --ignored

tests/oracle/node_modules/.bin/prism: tests/oracle/package.json tests/oracle/package-lock.json
	npm ci --prefix tests/oracle --no-audit --no-fund --loglevel=error
	@touch $@

postgres: ## PostgreSQL's server programs for the collector's tests (Debian's package, when missing; the tests run their own server)
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql)

mock-upstream: ## build the mock upstream server the language runners start
	cargo build -q -p modelplug-mock-upstream

collector: ## build the collector binary (debug) the Python Collector tests and the bindings' policy tests start
	cargo build -q -p modelplug-collector

$(VENV)/.ready: bindings-python/requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -r bindings-python/requirements-dev.txt
	@touch $@

python-dev: $(VENV)/.ready ## build the native module into .venv (editable install)
	VIRTUAL_ENV=$(abspath $(VENV)) $(VENV)/bin/maturin develop -q

test-python: python-dev mock-upstream collector ## pytest (vectors, boundaries, API, examples, notebook, Collector), mypy --strict, stubtest
	MODELPLUG_MOCK_UPSTREAM=$(abspath $(MOCK_UPSTREAM)) MODELPLUG_COLLECTOR=$(abspath $(COLLECTOR)) $(PY) -m pytest
	$(PY) -m mypy --strict examples/python bindings-python/python/modelplug
	$(PY) -m mypy.stubtest modelplug._native

bindings-node/node_modules/.ready: bindings-node/package.json bindings-node/package-lock.json
	npm ci --prefix bindings-node --no-audit --no-fund --loglevel=error
	@touch $@

examples/node/node_modules/.ready: examples/node/package.json examples/node/package-lock.json
	npm ci --prefix examples/node --no-audit --no-fund --loglevel=error
	@touch $@

node-dev: bindings-node/node_modules/.ready ## build the Node addon (debug) and the TypeScript layer
	cd bindings-node && npm run -s build:debug

test-node: node-dev mock-upstream collector examples/node/node_modules/.ready ## node --test (vectors, boundaries, central policy), tsc on the examples, the Express example
	cd bindings-node && MODELPLUG_MOCK_UPSTREAM=$(abspath $(MOCK_UPSTREAM)) MODELPLUG_COLLECTOR=$(abspath $(COLLECTOR)) node --test --test-concurrency=1 test/
	cd examples/node && node_modules/.bin/tsc -p . && MODELPLUG_MOCK_UPSTREAM=$(abspath $(MOCK_UPSTREAM)) node --test test/

chromium: ## Debian's Chromium for the dashboard's browser tests (installed when missing)
	@test -x /usr/bin/chromium || (apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium)

tests/dashboard/node_modules/.ready: tests/dashboard/package.json tests/dashboard/package-lock.json
	npm ci --prefix tests/dashboard --no-audit --no-fund --loglevel=error
	@touch $@

test-dashboard: collector node-dev chromium tests/dashboard/node_modules/.ready ## the dashboard in headless Chromium: numbers = report API, charts, filters, policy edit → running client, login/CSRF, XSS; screenshots in target/dashboard-screenshots/
	cd tests/dashboard && MODELPLUG_COLLECTOR=$(abspath $(COLLECTOR)) CHROMIUM=/usr/bin/chromium node --test --test-concurrency=1 test/

kotlin-dev: ## build the Kotlin native library and generate its bindings (JVM and Android flavours)
	cargo build -q -p modelplug-kotlin
	# Built on its own: in one invocation uniffi's `cli` feature would leak into the library.
	cargo build -q -p uniffi-bindgen
	rm -rf bindings-kotlin/jvm/generated bindings-kotlin/android/generated
	$(UNIFFI_BINDGEN) generate --no-format --library $(KOTLIN_LIB) --language kotlin --out-dir bindings-kotlin/jvm/generated
	$(UNIFFI_BINDGEN) generate --no-format --library $(KOTLIN_LIB) --language kotlin \
		--config bindings-kotlin/uniffi-android.toml --out-dir bindings-kotlin/android/generated
	grep -q 'import android.os.Build' bindings-kotlin/android/generated/dev/modelplug/ffi/modelplug_kotlin.kt
	$(PYTHON) bindings-kotlin/reuse-call-status.py bindings-kotlin/jvm/generated/dev/modelplug/ffi/modelplug_kotlin.kt \
		bindings-kotlin/android/generated/dev/modelplug/ffi/modelplug_kotlin.kt

test-kotlin: kotlin-dev mock-upstream collector ## JUnit via Maven (vectors, boundaries, central policy), then the example program and its test
	cd bindings-kotlin/jvm && MODELPLUG_MOCK_UPSTREAM=$(abspath $(MOCK_UPSTREAM)) MODELPLUG_COLLECTOR=$(abspath $(COLLECTOR)) $(MVN) install -Dnative.dir=$(abspath $(DEBUG_DIR))
	cd examples/kotlin && MODELPLUG_MOCK_UPSTREAM=$(abspath $(MOCK_UPSTREAM)) ../../tests/with-mock-upstream.sh $(MVN) test exec:java

lint: ## formatting and clippy, warnings are errors
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

# Fuzzing (fuzz/, its own workspace and target dir; needs the nightly toolchain and cargo-fuzz).
# Not part of `make test`: a separate optimised build plus FUZZ_SECONDS per target is minutes
# of both cores, and a fixed budget finds nothing new on most runs; run it when a decoder changes.
# Sanitizer `none`: core denies unsafe code and the targets look for panics (debug assertions
# and overflow checks are on), so the executions go further without ASan's cost.
FUZZ_SECONDS ?= 60
FUZZ_SANITIZER ?= none
FUZZ_TARGETS ?= anthropic_stream anthropic_response anthropic_error gemini_stream gemini_json_array gemini_response gemini_error bedrock_stream bedrock_response bedrock_error sagemaker_stream
REC := tests/provider-specs/recorded
FUZZ_SEEDS_anthropic_stream = $(wildcard $(REC)/anthropic/*.sse)
FUZZ_SEEDS_anthropic_response = $(wildcard $(REC)/anthropic/messages_nonstream_*.response.json)
FUZZ_SEEDS_anthropic_error = $(wildcard $(REC)/anthropic/error_*.response.json $(REC)/observed-errors/anthropic_*.json)
FUZZ_SEEDS_gemini_stream = $(wildcard $(REC)/gemini/*.sse $(REC)/vertex/*.sse)
FUZZ_SEEDS_gemini_json_array = $(REC)/gemini/stream_function_call.response.json $(REC)/gemini/stream_json_array_no_alt_sse.response.json
FUZZ_SEEDS_gemini_response = $(wildcard $(REC)/gemini/generate_nonstream_*.response.json $(REC)/vertex/vertex_generate_nonstream.response.json)
FUZZ_SEEDS_bedrock_stream = $(wildcard $(REC)/bedrock/*.eventstream)
FUZZ_SEEDS_bedrock_response = $(wildcard $(REC)/bedrock/converse_nonstream_*.response.json)
FUZZ_SEEDS_bedrock_error = $(wildcard $(REC)/bedrock/error_*.response.json)
FUZZ_SEEDS_gemini_error = $(wildcard $(REC)/gemini/error_*.response.json $(REC)/vertex/vertex_error_*.response.json $(REC)/observed-errors/gemini_*.json $(REC)/observed-errors/vertex_*.json)

fuzz: $(addprefix fuzz-,$(FUZZ_TARGETS)) ## run every cargo-fuzz target for FUZZ_SECONDS (default 60) each, seeded from the recordings; fails on a crash (not part of `make test`)

fuzz-%:
	@command -v cargo-fuzz >/dev/null || cargo install --locked cargo-fuzz
	mkdir -p fuzz/corpus/$* fuzz/target
	$(if $(FUZZ_SEEDS_$*),cp $(FUZZ_SEEDS_$*) fuzz/corpus/$*/)
	cd fuzz && CARGO_TARGET_DIR=$(abspath fuzz/target) cargo +nightly fuzz run -s $(FUZZ_SANITIZER) $* $(abspath fuzz/corpus/$*) -- \
		-max_total_time=$(FUZZ_SECONDS) -dict=$(abspath fuzz/dict/sse_json.dict) -print_final_stats=1 \
		> $(abspath fuzz/target/$*.log) 2>&1 || (tail -40 $(abspath fuzz/target/$*.log); exit 1)
	@echo "$*: $$(grep -oE 'stat::number_of_executed_units: [0-9]+' fuzz/target/$*.log | grep -oE '[0-9]+$$') execs in $(FUZZ_SECONDS) s, no crash; at the end $$(grep -E '^#[0-9]+[[:space:]]+DONE' fuzz/target/$*.log | grep -oE '(cov|corp): [0-9/]+[a-zA-Z]*' | tr '\n' ' ')(log: fuzz/target/$*.log)"

bench-core: ## criterion benchmarks of the core hot path (each provider family against OpenAI's figures of the same run; SigV4 and eventstream against botocore)
	cargo bench -p modelplug-bench
	$(PYTHON) bench/core/families.py $(TARGET_DIR)/criterion --jsonl bench/results/core-families.jsonl
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q botocore
	$(VENV)/bin/python bench/core/aws_peer.py $(TARGET_DIR)/criterion --jsonl bench/results/core-aws.jsonl

BENCH_COLLECTOR := $(TARGET_DIR)/$(CARGO_BUILD_TARGET)/release/collector-bench
BENCH_EVENTS ?= 200000
REPORT_EVENTS ?= 10000000

bench-policy: ## central policy: PUT → enforcement in 100 clients across 4 processes, and the collector's memory and CPU per watcher
	cargo build --release -q -p modelplug-collector -p modelplug-bench-collector
	$(TARGET_DIR)/$(CARGO_BUILD_TARGET)/release/policy-push-bench apply-cost
	$(TARGET_DIR)/$(CARGO_BUILD_TARGET)/release/policy-push-bench --collector $(TARGET_DIR)/$(CARGO_BUILD_TARGET)/release/modelplug-collector --clients 100 --processes 4 --rounds 20 | tee -a bench/results/policy.jsonl

bench-collector: postgres ## collector ingest (SQLite, PostgreSQL) and 30-day report latency over REPORT_EVENTS events
	cargo build --release -q -p modelplug-bench-collector
	rm -f /tmp/collector-bench-ingest.db*
	$(BENCH_COLLECTOR) ingest --db sqlite:///tmp/collector-bench-ingest.db --events $(BENCH_EVENTS) --senders 4 | tee -a bench/results/collector.jsonl
	bench/collector/with-postgres.sh $(BENCH_COLLECTOR) ingest --events $(BENCH_EVENTS) --senders 4 | tee -a bench/results/collector.jsonl
	$(BENCH_COLLECTOR) report --db sqlite:///tmp/collector-bench-report.db --events $(REPORT_EVENTS) | tee -a bench/results/collector.jsonl

DASHBOARD_DB ?= /tmp/dashboard-10m.db
DASHBOARD_EVENTS ?= 10000000

bench-dashboard: chromium tests/dashboard/node_modules/.ready ## dashboard page load to first chart in headless Chromium over DASHBOARD_EVENTS events (seeded once into DASHBOARD_DB), and asset sizes
	cargo build --release -q -p modelplug-bench-collector -p modelplug-collector
	$(BENCH_COLLECTOR) seed --db sqlite://$(DASHBOARD_DB) --events $(DASHBOARD_EVENTS) | tee -a bench/results/dashboard.jsonl
	MODELPLUG_COLLECTOR=$(abspath $(TARGET_DIR)/$(CARGO_BUILD_TARGET)/release/modelplug-collector) node bench/dashboard/page_load.mjs --db $(abspath $(DASHBOARD_DB))

# The shared yardstick (../shared/bench): peers and modelplug against the same canned nginx.
BENCH_DIR ?= ../shared/bench
BENCH_VENV ?= /tmp/benchvenv
BENCH_REPS ?= 3

bench-upstream: ## start the yardstick's canned nginx upstream (installs nginx from Debian if missing)
	command -v nginx >/dev/null || (apt-get update -q && apt-get install -y -q nginx)
	$(BENCH_DIR)/upstream.sh start

$(BENCH_VENV)/.ready:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q openai litellm aiohttp httpx
	@touch $@

# The official Anthropic SDK, the peer of modelplug's `provider: anthropic` rows.
$(BENCH_VENV)/.anthropic: $(BENCH_VENV)/.ready
	$(BENCH_VENV)/bin/pip install -q anthropic
	@touch $@

# Clients in one run (alternated per mode and rep): modelplug on an OpenAI deployment against
# aiohttp, openai and litellm; on an Anthropic deployment against the official SDKs.
BENCH_PY_CLIENTS ?= modelplug aiohttp openai litellm modelplug_anthropic anthropic
BENCH_NODE_CLIENTS ?= modelplug undici openai modelplug_anthropic anthropic

bench-python: $(BENCH_VENV)/.anthropic $(VENV)/.ready ## release wheel vs aiohttp, openai, litellm (provider openai) and the anthropic SDK (provider anthropic) on the yardstick
	rm -f $(TARGET_DIR)/wheels/modelplug-*.whl
	$(VENV)/bin/maturin build --release -q -o $(TARGET_DIR)/wheels
	$(BENCH_VENV)/bin/pip install -q --force-reinstall --no-deps $(TARGET_DIR)/wheels/modelplug-*-cp39-abi3-*.whl
	$(MAKE) -s bench-upstream
	BENCH_PLUGINS=$(abspath bench/python/modelplug_plugin.py):$(abspath bench/python/anthropic_plugin.py) PY=$(BENCH_VENV)/bin/python OUT=$(abspath bench/results/python.jsonl) \
		$(BENCH_DIR)/run_python.sh -r $(BENCH_REPS) $(BENCH_PY_CLIENTS)
	$(PYTHON) $(BENCH_DIR)/summarize.py bench/results/python.jsonl --ref python:aiohttp
	$(PYTHON) $(BENCH_DIR)/summarize.py bench/results/python.jsonl --ref python:anthropic

BENCH_NODE_DIR ?= /tmp/benchnode

bench-node: bindings-node/node_modules/.ready ## release addon vs undici and openai (provider openai) and @anthropic-ai/sdk (provider anthropic) on the yardstick
	cd bindings-node && npm run -s build
	mkdir -p $(BENCH_NODE_DIR) && cd $(BENCH_NODE_DIR) && ([ -f package.json ] || npm init -y >/dev/null) && \
		npm install --no-audit --no-fund --loglevel=error openai undici @anthropic-ai/sdk $(abspath bindings-node)
	$(MAKE) -s bench-upstream
	BENCH_PLUGINS_MJS=$(abspath bench/node/modelplug_plugin.mjs):$(abspath bench/node/anthropic_plugin.mjs) NODE_DIR=$(BENCH_NODE_DIR) OUT=$(abspath bench/results/node.jsonl) \
		$(BENCH_DIR)/run_node.sh -r $(BENCH_REPS) $(BENCH_NODE_CLIENTS)
	$(PYTHON) $(BENCH_DIR)/summarize.py bench/results/node.jsonl --ref node:undici
	$(PYTHON) $(BENCH_DIR)/summarize.py bench/results/node.jsonl --ref node:anthropic

bench-kotlin: kotlin-dev ## release library vs OkHttp and java.net.http on the yardstick (needs nginx)
	cargo build --release -q -p modelplug-kotlin
	cd bindings-kotlin/jvm && $(MVN) install -DskipTests -Dnative.dir=$(abspath $(TARGET_DIR))/$(CARGO_BUILD_TARGET)/release
	cd bench/kotlin && $(MVN) package
	$(MAKE) -s bench-upstream
	OUT=$(abspath bench/results/kotlin.jsonl) bench/kotlin/run.sh -r $(BENCH_REPS) modelplug okhttp jdk-http
	$(PYTHON) $(BENCH_DIR)/summarize.py bench/results/kotlin.jsonl --ref jvm:okhttp
