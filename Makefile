# Thin wrappers over cmake/ctest. Every target installs what it needs first.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
ifeq ($(CI),true)
CMAKE_FLAGS += -DALBEMU_WERROR=ON
endif

DEB_PACKAGES := $(shell grep -v '^\#' scripts/build-packages.txt)
BENCH_PACKAGES := wrk nginx-light haproxy python3 openssl
LINT_PACKAGES := clang-format clang-tidy

.PHONY: deps deps-bench deps-lint configure build run test test-asan test-docker bench bench-e2e bench-smoke \
	format lint clean certs

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

run: build certs
	./$(BUILD_DIR)/albemu serve

test: build certs
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer (with LeakSanitizer) and UndefinedBehaviorSanitizer.
ASAN_BUILD_DIR ?= build-asan
test-asan: deps certs
	@cmake -S . -B $(ASAN_BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DALBEMU_SANITIZE=address,undefined $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	cd $(ASAN_BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 300

# docker/compose.yaml end to end: images, the guide's curl checks, hot reload. Starts a private
# Docker engine (and builds the base image) when none is available.
test-docker: deps
	tests/e2e/compose_test.sh

bench: deps-bench build
	./$(BUILD_DIR)/albemu_bench --benchmark_min_time=0.5
	bench/e2e/run.sh 10 50

# albemu vs nginx vs HAProxy end to end (bench/e2e/README.md): throughput, HTTPS, open-loop
# latency, idle connections, hot reload. About 15 minutes on 2 cores; results in bench/out/.
bench-e2e: deps-bench configure
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bench/e2e/run.sh

# Under a minute: fails if albemu's requests/s fall below 0.8x nginx's in the same run.
bench-smoke: deps-bench configure
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) bench/e2e/run.sh --smoke

format: deps-lint
	git ls-files '*.cc' '*.h' | xargs clang-format -i

lint: deps-lint configure
	git ls-files '*.cc' | xargs clang-tidy -p $(BUILD_DIR) --quiet

clean:
	rm -rf $(BUILD_DIR)
