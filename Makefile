# The two commands of the README: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
PORT ?= 8080
# A fresh clone elsewhere still hits the compiler cache (paths are hashed relative to here).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := 1
export CCACHE_MAXSIZE ?= 5G

# CPU minutes that compiling pikoci-node takes without the compiler cache (measured on the
# 2-core development machine): the estimate the first `make run` prints.
NODE_CPU_MINUTES ?= 12

.PHONY: all deps run-deps configure build node run test unit integration differential fuzz bench format clean

all: build

# What running needs (`make run`) and what testing needs on top (`make test`, `make build`).
run-deps:
	@scripts/install-deps.sh --run

deps:
	@scripts/install-deps.sh --test

CONFIGURE = cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) > $(BUILD_DIR).configure.log 2>&1 \
	  || { cat $(BUILD_DIR).configure.log; exit 1; }

configure: deps
	@$(CONFIGURE)

build: configure
	@cmake --build $(BUILD_DIR) -j $(JOBS)

# The node alone; before its first build, how long that takes. Ninja shows [done/total].
node: run-deps
	@$(CONFIGURE)
	@test -x $(BUILD_DIR)/pikoci-node || echo "make: first build of pikoci-node: about" \
	  "$$(( ($(NODE_CPU_MINUTES) + $(JOBS) - 1) / $(JOBS) )) minutes on $(JOBS) cores" \
	  "(less when the compiler cache has it; later builds take seconds)"
	@cmake --build $(BUILD_DIR) -j $(JOBS) --target pikoci-node

# Server in memory with the sample pipeline; once it listens, prints the URL, the login and
# client commands. JWT_SECRET / ADMIN_PASSWORD may be set by the caller.
run: node
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
