# The two commands of the README: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PORT ?= 8080
# A fresh clone elsewhere still hits the compiler cache (paths are hashed relative to here).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 5G

.PHONY: all deps configure build run test unit integration differential fuzz bench format clean

all: build

deps:
	@scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > $(BUILD_DIR).configure.log 2>&1 \
	  || { cat $(BUILD_DIR).configure.log; exit 1; }

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# Server in memory with the sample pipeline; prints the URL, the login and client commands.
# JWT_SECRET / ADMIN_PASSWORD may be set by the caller.
run: build
	@scripts/run-server.sh $(BUILD_DIR) $(PORT)

# The whole suite: unit, integration, differential (against hashicorp/hcl) and fuzz.
test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure -j 2

unit: build
	@$(BUILD_DIR)/pikoci-tests

bench: deps
	@bench/run

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf $(BUILD_DIR) $(BUILD_DIR).configure.log
