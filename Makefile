# Thin wrappers over cmake/ctest. Every target installs what it needs first.
SHELL := /bin/bash
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DALBEMU_WERROR=ON
endif

DEB_PACKAGES := $(shell grep -v '^\#' scripts/build-packages.txt)
BENCH_PACKAGES := wrk nghttp2-client nginx-light haproxy openssl rt-tests \
	python3 python3-httpx python3-h2 python3-grpcio
LINT_PACKAGES := clang clang-format clang-tidy

.PHONY: deps deps-bench deps-lint deps-test configure build run test test-asan test-tsan test-docker bench bench-e2e bench-smoke \
	format format-check lint clean certs fuzz soak

deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)

deps-bench: deps
	@./scripts/install-deps.sh $(BENCH_PACKAGES)

deps-lint:
	@./scripts/install-deps.sh $(LINT_PACKAGES)

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

certs: deps
	@./certs/generate.sh

# Builds only what it runs: the albemu binary, not the tests.
run: configure certs
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target albemu
	./$(BUILD_DIR)/albemu serve

# What the browser, compute-client and HTTP/2 client tests run (before cmake looks for node
# and npm).
deps-test:
	@./scripts/install-deps.sh chromium python3-requests python3-httpx python3-h2 python3-grpcio \
		nghttp2-client
	@command -v npm >/dev/null || ./scripts/install-deps.sh nodejs npm

test: deps-test build certs
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The real binary for SOAK_SECONDS under mixed HTTP/HTTPS keepalive load while the config is
# rewritten every few seconds (valid and broken configs); fails on any failed request, RSS or fd
# growth, or an unclean SIGTERM drain (tests/soak/soak.py).
SOAK_SECONDS ?= 300
soak: build certs
	python3 tests/soak/soak.py --albemu $(BUILD_DIR)/albemu --certs certs/out --seconds $(SOAK_SECONDS)

# Sanitizer builds: -O1, as the sanitizers' authors advise, and line tables only (what their
# reports print): a third less build time than -O2 -g.
SANITIZER_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG"

# The whole suite under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer.
ASAN_BUILD_DIR ?= build-asan
test-asan: deps deps-test certs
	@cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja $(SANITIZER_FLAGS) \
		-DALBEMU_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# The whole suite under ThreadSanitizer: the workers, the reload path and the shared metrics.
# Built with drained reads off, so the suite also runs on the portable read path (Asio's own
# reads) that builds with another Boost or reactor use; the other builds run it with them on.
TSAN_BUILD_DIR ?= build-tsan
test-tsan: deps deps-test certs
	@cmake -S . -B $(TSAN_BUILD_DIR) -G Ninja $(SANITIZER_FLAGS) \
		-DALBEMU_SANITIZE=thread -DALBEMU_DRAINED_READS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS)
	cd $(TSAN_BUILD_DIR) && \
		TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
		ctest --output-on-failure -j $(JOBS) --timeout 300

# libFuzzer targets of tests/fuzz (clang, ASan + UBSan), FUZZ_SECONDS each, on a copy of the
# seed corpus in $(FUZZ_BUILD_DIR)/corpus. Fails if any target crashes, leaks or hangs.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_PACKAGES := clang libclang-rt-14-dev
fuzz: deps
	@./scripts/install-deps.sh $(FUZZ_PACKAGES)
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD_DIR) -G Ninja -DALBEMU_FUZZ=ON \
		-DALBEMU_BUILD_TESTS=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target albemu_fuzz_targets
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run.sh $(FUZZ_BUILD_DIR)

# docker/compose.yaml end to end: images, the guide's curl checks, hot reload. Starts a private
# Docker engine (and builds the base image) when none is available.
test-docker: deps
	tests/e2e/compose_test.sh

bench: deps-bench build
	./$(BUILD_DIR)/albemu_bench --benchmark_min_time=0.5
	bench/e2e/run.sh 10 50

# albemu vs nginx vs HAProxy end to end (bench/e2e/README.md): throughput, HTTPS, HTTP/2, gRPC,
# open-loop latency, idle connections, hot reload. About 20 minutes on 2 cores; results in
# bench/out/. Only some sections: bench/e2e/run.sh --sections h2,grpc
bench-e2e: deps-bench configure
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bench/e2e/run.sh

# About a minute: fails if albemu's requests/s fall below 0.8x nginx's in the same run over
# HTTP/1.1, or below 0.7x over HTTP/2 (h2load, TLS).
bench-smoke: deps-bench configure
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bench/e2e/run.sh --smoke

format: deps-lint
	git ls-files '*.cc' '*.h' | xargs clang-format -i

# Fails on any file clang-format would change.
format-check: deps-lint
	git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror

# clang-tidy (.clang-tidy's checks) over the product code, every warning an error, one file per
# job. Its compile commands come from a clang configuration of its own, file by file (a unity
# build's commands name batches, and clang-tidy does not know all of GCC's flags).
LINT_BUILD_DIR ?= build-lint
LINT_SOURCES = $(shell git ls-files 'config/*.cc' 'proxy/*.cc')
lint: deps deps-lint
	@CC=clang CXX=clang++ cmake -S . -B $(LINT_BUILD_DIR) -G Ninja -DCMAKE_UNITY_BUILD=OFF \
		-DALBEMU_BUILD_TESTS=OFF >/dev/null
	@echo "clang-tidy: $(words $(LINT_SOURCES)) files"
	@printf '%s\n' $(LINT_SOURCES) | xargs -P $(JOBS) -n 1 clang-tidy -p $(LINT_BUILD_DIR) --quiet \
		--warnings-as-errors='*' 2>&1 | grep -v '^[0-9]* warnings generated\.$$' ; \
		exit $${PIPESTATUS[1]}

clean:
	rm -rf $(BUILD_DIR)
