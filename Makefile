# RCC: the two commands are `make run` and `make test`; everything else is
# a step they call. Every target installs what it needs when it is missing.

SHELL := /usr/bin/env bash
GO ?= go
BIN := $(CURDIR)/bin
GAMES_OUT := $(CURDIR)/build/games
GAMES := $(notdir $(wildcard games/*))
MODULE := github.com/rcc-games/rcc
export PATH := $(BIN):$(PATH)
# Guest languages (docs/abi.md): Node.js 20 for AssemblyScript when the
# system's is older (scripts/setup-node.sh), and the offline Rust toolchain
# from Debian's packages (scripts/setup-rust.sh) with one cargo target
# directory, so the standard library is built from source once.
export PATH := $(CURDIR)/build/node/bin:$(PATH)
export RCC_RUST_ROOT ?= $(CURDIR)/build/rust/root
export RCC_CARGO_TARGET_DIR ?= $(CURDIR)/build/rust/target

APT_PACKAGES := wabt protobuf-compiler libprotobuf-dev tmux python3
# rcc-view: OpenGL and GLFW headers for the cgo build of go-gl, Mesa's
# software renderer, and Xvfb for the tests (and --screenshot) without a
# screen. Only pkg/render, pkg/render/window, pkg/render/gltest, pkg/view
# and cmd/rcc-view use cgo; every other package builds without a C compiler.
APT_PACKAGES += gcc libgl1-mesa-dev libegl-dev libgl1-mesa-dri libegl-mesa0 \
  libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev \
  xvfb xauth
# Deployment checks: Debian's docker-compose validates docker-compose.yml
# offline (no Docker engine needed); iproute2 makes the network namespaces
# of the multi-host test.
APT_PACKAGES += docker-compose iproute2
# C games: clang for wasm32-wasi with wasi-libc and its builtins.
APT_PACKAGES += clang lld wasi-libc libclang-rt-14-dev-wasm32
# rcc-load --executor-syscalls and the state-sync benchmarks: Linux perf
# counts the executor's system calls (perf stat on tracepoints); taskset
# (util-linux) pins it with --executor-cpus.
APT_PACKAGES += linux-perf util-linux
PROTOC_GEN_GO_VERSION := v1.36.12
PROTOC_GEN_GO_GRPC_VERSION := v1.6.2
GRPCURL_VERSION := v1.9.4

.PHONY: all setup build games test vet bench run stop clean proto completions man install

# What `rccctl version` and `rccd version` print: the release tag on this
# commit (else "dev"), the commit, and whether the work tree was modified.
VERSION ?= $(shell git describe --tags --exact-match 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
MODIFIED ?= $(shell test -n "$$(git status --porcelain 2>/dev/null)" && echo true)
BUILDINFO := $(MODULE)/pkg/buildinfo
LDFLAGS := -X $(BUILDINFO).version=$(VERSION) -X $(BUILDINFO).commit=$(COMMIT) -X $(BUILDINFO).modified=$(MODIFIED)
PREFIX ?= /usr/local
MAN_OUT := $(CURDIR)/build/man

all: build games

## setup: install the system packages and Go tools the build and tests use.
setup:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if ! command -v pg_ctl >/dev/null && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then missing="$$missing postgresql"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "setup: Go 1.26 is required (https://go.dev/doc/install)"; exit 1; }
	@# Upstream wazero, whose spec tests pkg/meter runs (the build uses third_party/wazero).
	@$(GO) mod download github.com/tetratelabs/wazero@$$($(GO) list -m -f '{{.Version}}' github.com/tetratelabs/wazero)
	@test -x $(BIN)/grpcurl || { echo "setup: installing grpcurl $(GRPCURL_VERSION) into bin/"; \
	  GOBIN=$(BIN) $(GO) install github.com/fullstorydev/grpcurl/cmd/grpcurl@$(GRPCURL_VERSION); }
	@scripts/setup-node.sh
	@scripts/setup-rust.sh
	@$(MAKE) --no-print-directory $(BIN)/k8scheck

# k8scheck: kustomize build and validation against the Kubernetes API
# types, offline (tools/k8scheck, its own module: out of the main go.mod).
$(BIN)/k8scheck: tools/k8scheck/main.go tools/k8scheck/go.mod tools/k8scheck/go.sum
	@echo "setup: building tools/k8scheck into bin/"
	@mkdir -p $(BIN)
	cd tools/k8scheck && $(GO) build -o $(BIN)/k8scheck .

## proto: regenerate the gRPC Go code in proto/ (committed: tests never need protoc).
proto: setup
	@$(BIN)/protoc-gen-go --version 2>/dev/null | grep -qx 'protoc-gen-go $(PROTOC_GEN_GO_VERSION)' || \
	  GOBIN=$(BIN) $(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@$(PROTOC_GEN_GO_VERSION)
	@$(BIN)/protoc-gen-go-grpc --version 2>/dev/null | grep -qx 'protoc-gen-go-grpc $(PROTOC_GEN_GO_GRPC_VERSION:v%=%)' || \
	  GOBIN=$(BIN) $(GO) install google.golang.org/grpc/cmd/protoc-gen-go-grpc@$(PROTOC_GEN_GO_GRPC_VERSION)
	protoc -I proto -I /usr/include \
	  --plugin=protoc-gen-go=$(BIN)/protoc-gen-go --plugin=protoc-gen-go-grpc=$(BIN)/protoc-gen-go-grpc \
	  --go_out=proto --go_opt=paths=source_relative \
	  --go-grpc_out=proto --go-grpc_opt=paths=source_relative \
	  proto/rcc/v1/rcc.proto

## build: rccctl, rccd, rcc-load and rcc-view into ./bin.
build:
	@mkdir -p $(BIN)
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/rccctl ./cmd/rccd ./cmd/rcc-load ./cmd/rcc-view

## games: every example game under games/ as a WASI reactor in build/games,
## whatever its language (Go, Rust, C, AssemblyScript: rccctl game build).
games:
	@mkdir -p $(GAMES_OUT) $(BIN)
	@$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN)/rccctl ./cmd/rccctl
	@for g in $(GAMES); do \
	  echo "building games/$$g -> build/games/$$g.wasm"; \
	  $(BIN)/rccctl game build games/$$g --out $(GAMES_OUT)/$$g.wasm >/dev/null || exit 1; \
	done

vet:
	$(GO) vet ./...

## test: vet and every test, PostgreSQL ones included, in one go test run.
## No test measures a rate in wall time: a hostile neighbour's cost is
## counted in frames against a control arena on an executor of its own
## (pkg/executor), so the packages need not run alone on a loaded machine.
test: setup games vet
	$(GO) test -race -timeout 20m ./...

## probe: the hostile battery (pkg/probe) against real rccd coordinator and
## executor processes, each case's figures printed (make test runs it too).
.PHONY: probe
probe:
	$(GO) test ./cmd/rccd -run '^TestProbe$$' -count=1 -v

## completions: regenerate completions/ from rccctl (a test keeps them in sync).
completions:
	$(GO) test ./cmd/rccctl -run TestCompletionsInSync -update

## man: the man pages of rccctl and rccd (section 1) into build/man.
man: build
	@rm -rf $(MAN_OUT) && mkdir -p $(MAN_OUT)
	$(BIN)/rccctl gen-man $(MAN_OUT)
	$(BIN)/rccd gen-man $(MAN_OUT)

## install: rccctl, rccd and rcc-view into PREFIX/bin, their man pages into
## PREFIX/share/man/man1 (PREFIX defaults to /usr/local; DESTDIR is honoured).
install: build man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BIN)/rccctl $(BIN)/rccd $(BIN)/rcc-view $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MAN_OUT)/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/

## bench: the Go benchmarks quoted in docs/BENCHMARKS.md.
bench: games
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./pkg/...

## run: build everything, start rccd dev in the background (log and pid in
## build/run), deploy and spawn the arena game, and open rcc-view joined to it
## when there is a display (else print how to join). `make stop` stops both.
RUN_DIR := $(CURDIR)/build/run
# rccctl as make run uses it: with the credentials rccd dev wrote, whatever
# the environment says.
RUN_CTL := env -u RCC_ADDR -u RCC_TOKEN $(BIN)/rccctl
run: setup build games
	@$(MAKE) --no-print-directory stop
	@mkdir -p $(RUN_DIR)
	@nohup $(BIN)/rccd dev --log-format text >$(RUN_DIR)/rccd-dev.log 2>&1 </dev/null & echo $$! >$(RUN_DIR)/rccd-dev.pid
	@pid=$$(cat $(RUN_DIR)/rccd-dev.pid); for i in $$(seq 300); do \
	  kill -0 $$pid 2>/dev/null || { echo "run: rccd dev exited; its log:"; tail -n 20 $(RUN_DIR)/rccd-dev.log; exit 1; }; \
	  $(RUN_CTL) executor ls 2>/dev/null | grep -q ' active ' && break; \
	  [ $$i = 300 ] && { echo "run: rccd dev not ready after 30 s; see $(RUN_DIR)/rccd-dev.log"; exit 1; }; \
	  sleep 0.1; \
	done
	@sed -n '1,/^try:/p' $(RUN_DIR)/rccd-dev.log | grep -v '^time=' | grep -v '^try:'
	@echo; echo "rccctl game deploy build/games/arena.wasm --name arena"; $(RUN_CTL) game deploy $(GAMES_OUT)/arena.wasm --name arena
	@echo "rccctl instance spawn arena --lease 24h"; $(RUN_CTL) instance spawn arena --lease 24h >/dev/null
	@for i in $$(seq 100); do $(RUN_CTL) instance ls --game arena --state running 2>/dev/null | grep -q running && break; sleep 0.1; done
	@echo; echo "Running (rccctl instance ls):"; $(RUN_CTL) instance ls
	@if [ -n "$$DISPLAY$$WAYLAND_DISPLAY" ]; then \
	  echo; echo "rcc-view arena (a window; its log: build/run/rcc-view.log)"; \
	  env -u RCC_ADDR -u RCC_TOKEN -u RCC_CONTEXT nohup $(BIN)/rcc-view arena -v >$(RUN_DIR)/rcc-view.log 2>&1 </dev/null & echo $$! >$(RUN_DIR)/rcc-view.pid; \
	  pid=$$(cat $(RUN_DIR)/rcc-view.pid); for i in $$(seq 100); do \
	    grep -q 'first state' $(RUN_DIR)/rcc-view.log && break; \
	    kill -0 $$pid 2>/dev/null || { echo "run: rcc-view exited; its log:"; tail -n 20 $(RUN_DIR)/rcc-view.log; break; }; \
	    sleep 0.1; \
	  done; \
	  grep -q 'first state' $(RUN_DIR)/rcc-view.log && echo "rcc-view joined arena (pid $$pid): WASD to move, mouse to look (click to capture, Esc releases), q quits."; \
	else \
	  echo; echo "No display (DISPLAY is not set), so no rcc-view window. To play, run 'make run' (or"; \
	  echo "bin/rcc-view arena) on a desktop; for a picture without a screen:"; \
	  echo "  xvfb-run -a bin/rcc-view arena --screenshot arena.png --frames 60"; \
	  echo; echo "Join as a player: 'rccctl join arena --player you' prints the WebSocket URL and a"; \
	  echo "single-use ticket (valid 60 s); rcc-view --url URL or any WebSocket client connects to its play url:"; \
	  $(RUN_CTL) join arena --player you | sed 's/^/  /'; \
	fi
	@echo; echo "rccd dev keeps running (pid $$(cat $(RUN_DIR)/rccd-dev.pid), log build/run/rccd-dev.log), also when"; \
	  echo "rcc-view is closed; rccctl and rcc-view (in bin/) find it by themselves: rccctl instance ls,"; \
	  echo "rcc-view arena --player NAME. Stop it with: make stop"

## stop: stop the rccd dev that `make run` started.
stop:
	@pidf=$(RUN_DIR)/rcc-view.pid; if [ -f $$pidf ]; then pid=$$(cat $$pidf); \
	  if kill -0 $$pid 2>/dev/null && [ "$$(cat /proc/$$pid/comm 2>/dev/null)" = rcc-view ]; then \
	    kill $$pid; echo "stopped rcc-view (pid $$pid)"; \
	  fi; rm -f $$pidf; fi
	@pidf=$(RUN_DIR)/rccd-dev.pid; if [ -f $$pidf ]; then pid=$$(cat $$pidf); \
	  if kill -0 $$pid 2>/dev/null && [ "$$(cat /proc/$$pid/comm 2>/dev/null)" = rccd ]; then \
	    kill $$pid; for i in $$(seq 100); do kill -0 $$pid 2>/dev/null || break; sleep 0.1; done; \
	    kill -0 $$pid 2>/dev/null && kill -9 $$pid; echo "stopped rccd dev (pid $$pid)"; \
	  fi; rm -f $$pidf; fi

clean:
	rm -rf $(BIN) build
