# The two commands of the README, and their parts.
#   make demo   boot the demo zone (busybox template) and show its console
#   make test   install dependencies, build, run all tests
BUILD ?= build
export VCON_BUILD := $(abspath $(BUILD))

.PHONY: all deps build demo test unit e2e bench clean

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

bench: build
	@bash bench/boot/run.sh
	@bash bench/fanout/run.sh
	@bash bench/consolefs/run.sh
	@bash bench/serial/run.sh

clean:
	rm -rf $(BUILD)
