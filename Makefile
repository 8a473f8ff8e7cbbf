# The two commands (README): `make run` serves the API on http://127.0.0.1:3000 with an embedded
# default for everything; `make test` builds and passes every test. Both install what is missing.

BUILD       ?= build
ASAN_BUILD  ?= build-asan
BUILD_TYPE  ?= RelWithDebInfo
WERROR      ?= $(if $(CI),ON,OFF)
JOBS        ?= $(shell nproc)

# ccache: paths relative to the checkout, so any clone (CI's included) reuses the cache.
export CCACHE_BASEDIR := $(CURDIR)

CMAKE_FLAGS = -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DFLASHBILL_WERROR=$(WERROR)

.PHONY: run test test-asan build deps bench format clean

deps:
	@scripts/install-deps

build: deps
	@cmake -S backend -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@ninja -C $(BUILD) -j$(JOBS)

run: build
	@scripts/run $(BUILD)/flashbill

test: build
	@scripts/test $(BUILD)

# Unit, integration and API suites under AddressSanitizer + UndefinedBehaviorSanitizer (not the
# deploy label: it tests shell scripts and system tools, which a sanitizer build changes nothing for).
test-asan: deps
	@cmake -S backend -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DFLASHBILL_SANITIZE=ON \
		-DFLASHBILL_BENCH=OFF -DFB_TEST_PG_PORT=55434 >/dev/null
	@ninja -C $(ASAN_BUILD) -j$(JOBS)
	@scripts/test $(ASAN_BUILD) -LE deploy

bench:
	@bench/run-foundation

format:
	@find backend -name '*.cpp' -o -name '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-release
