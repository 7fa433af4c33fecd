# kansoku: the two commands of the README (make demo, make test) and the developer targets.
# Every target first runs scripts/install-deps, which installs only what is missing.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
MESON_TEST_ARGS ?= --no-suite slow --print-errorlogs --num-processes 2

.PHONY: all deps build test asan fuzz bench demo clean

all: build

deps:
	scripts/install-deps

# A release build (optimised, assertions kept) used by demo, test and bench.
$(BUILD)/build.ninja:
	meson setup $(BUILD) --buildtype=release -Db_ndebug=false

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: build
	@rc=0; meson test -C $(BUILD) $(MESON_TEST_ARGS) || rc=$$?; \
	scripts/test-summary $(BUILD)/meson-logs/testlog.json && exit $$rc

$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false

asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	@rc=0; ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C $(ASAN_BUILD) $(MESON_TEST_ARGS) --timeout-multiplier 4 || rc=$$?; \
	scripts/test-summary $(ASAN_BUILD)/meson-logs/testlog.json && exit $$rc

$(FUZZ_BUILD)/build.ninja:
	CC=clang CXX=clang++ meson setup $(FUZZ_BUILD) --buildtype=debugoptimized -Dfuzzing=true \
	    -Db_sanitize=address,undefined -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/fuzz $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	scripts/bench $(BUILD)

demo: build
	scripts/demo $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) demo
