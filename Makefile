# The two commands of the README, and their parts.
#   make demo   boot the demo zone (busybox template) and show its console
#   make test   install dependencies, build, run all tests
# and: make test-asan (the suite under ASan + UBSan), make fuzz, make bench
BUILD ?= build
export VCON_BUILD := $(abspath $(BUILD))

.PHONY: all deps build demo test unit e2e bench clean test-asan fuzz install

all: build

deps:
	@bash scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD)

demo: build
	@bash scripts/demo.sh

unit: build
	@cd $(BUILD) && ctest --output-on-failure

e2e: build
	@/usr/bin/python3 -m pytest -q tests/e2e

test: unit e2e

# The whole suite on an ASan + UBSan build (clang), as CI runs it.
ASAN_BUILD ?= build-asan
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_CXX_COMPILER=clang++ -DVCON_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD)
	@bash tests/run_sanitized.sh $(ASAN_BUILD)

# libFuzzer targets for every decoder of untrusted input, FUZZ_SECONDS each.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 20
fuzz: deps
	@cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
	    -DCMAKE_CXX_COMPILER=clang++ -DVCON_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD)
	@bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

bench: build
	@bash bench/boot/run.sh
	@bash bench/fanout/run.sh
	@bash bench/consolefs/run.sh
	@bash bench/serial/run.sh
	@bash bench/monitor/run.sh
	@bash bench/guests/run.sh
	@bash bench/fleet/run.sh
	@bash bench/peers/run.sh

# Installs vcon and hands every running zone's console over to a monitor
# running the new binary (vcon upgrade --all): no zone restarts.
PREFIX ?= /usr/local
install: build
	@install -D -m 0755 $(BUILD)/vcon $(DESTDIR)$(PREFIX)/bin/vcon
	@install -D -m 0755 $(BUILD)/vcon-keeper $(DESTDIR)$(PREFIX)/libexec/vcon/vcon-keeper
	@if [ -z "$(DESTDIR)" ]; then $(PREFIX)/bin/vcon upgrade --all --binary $(PREFIX)/bin/vcon; fi

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
