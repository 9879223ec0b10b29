# s3cli and its dual-mode test framework. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

GO      ?= go
TARGET  ?= $(or $(S3CLI_TARGET),auto)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
BIN     := bin
# Specs the host runs; iam-role specs run inside the Lambda function, canaries only on demand.
HOST_LABELS ?= !iam-role && !canary-failure && !canary-timeout
SUITE_TIMEOUT ?= 60m
# Parallel Ginkgo processes for the suite; 1 runs the specs one at a time.
PROCS ?= 4
# More ginkgo CLI flags for the suite (-v for every spec's output, --focus=..., ...).
GINKGO_FLAGS ?=
SUITE_BUILD_FLAGS ?=
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT  := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/suite$$')

# One build cache for everything: Go reuses a compiled package only when CGO_ENABLED and
# -trimpath match, so the suite, the unit tests and bin/s3cli are built as lambda/pack builds
# the function (static, trimmed); then a warm run compiles the suite's packages once.
# Build tags (lambda.norpc, s3cli_function) change only the packages they select files in.
export CGO_ENABLED ?= 0
GOFLAGS_ENV := $(shell $(GO) env GOFLAGS)
export GOFLAGS := $(strip $(GOFLAGS_ENV) $(if $(findstring -trimpath,$(GOFLAGS_ENV)),,-trimpath))

.PHONY: help setup images pull build package test test-setup test-unit test-local test-aws aws-clean \
        bench lint gateway clean bench-suite
.PHONY: test-iam-policy test-ci-policy

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

setup: ## install Docker Engine, debootstrap, shellcheck, bats; start dockerd; fetch Go modules
	scripts/setup-machine.sh

images: ## build the moto container image offline from Debian packages (skipped when present)
	scripts/build-moto-image.sh

pull: ## pull LocalStack 4.14.0, moto and the Lambda runtime image (needs registry access)
	scripts/pull-images.sh

build: ## build bin/s3cli
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$(VERSION)" -o $(BIN)/s3cli ./s3cli

# SUITE_PKG: the Ginkgo test package compiled as integration.test (a contributor's own suite).
SUITE_PKG ?= ./suite

package: ## build the deterministic Lambda package bin/deployment.zip (SUITE_PKG=./path: another Ginkgo suite)
	$(GO) run ./lambda/cmd/package -o $(BIN)/deployment.zip -version $(VERSION) -suite '$(SUITE_PKG)'

test: test-setup test-unit test-local ## unit tests, then the suite against TARGET (default auto)

# What TARGET needs and is missing (Go modules; Docker Engine, dockerd and the moto image for
# the container targets), said and timed; where nothing can be installed, auto falls back.
test-setup:
	@GO='$(GO)' scripts/setup-machine.sh --for '$(TARGET)'

test-unit: ## unit and conformance tests of every package but the suite
	$(GO) test -count=1 $(UNIT_PKGS)

test-local: test-setup ## the Ginkgo suite against an emulator (TARGET=auto|localstack|moto|moto-process|endpoint; PROCS=4)
	S3CLI_TARGET=$(TARGET) GO='$(GO)' PROCS='$(PROCS)' LABELS='$(HOST_LABELS)' SUITE_TIMEOUT='$(SUITE_TIMEOUT)' \
	  GINKGO_FLAGS='$(GINKGO_FLAGS)' SUITE_BUILD_FLAGS='$(SUITE_BUILD_FLAGS)' scripts/supervise.sh scripts/run-suite.sh

# awsgate is built and exec'd, not `go run`: the go command dies on SIGTERM and SIGHUP and
# would leave the run without its teardown. GRACE: AWS teardown (a stack) takes minutes; past
# GitHub's 10 s only make aws-clean helps.
test-aws: ## the suite against real AWS; runs only with S3CLI_AWS_TESTS=1 (rehearsal when AWS_ENDPOINT_URL is set)
	@GO='$(GO)' PROCS='$(PROCS)' GINKGO_FLAGS='$(GINKGO_FLAGS)' GRACE=360 scripts/supervise.sh \
	  bash -c '$(GO) build -o "$$TMPDIR/awsgate" ./fixtures/cmd/awsgate && exec "$$TMPDIR/awsgate"'

# The execution role's least privilege: the iam-role specs inside the function, once per action
# of scripts/template.yaml's execution policy with that action removed (IAM enforced).
IAM_POLICY_TARGET ?= $(if $(filter auto,$(TARGET)),moto-process,$(TARGET))

test-iam-policy: ## prove the execution role's policy minimal: each action removed must fail an iam-role spec (table)
	S3CLI_TARGET=$(IAM_POLICY_TARGET) $(GO) test -v -count=1 -timeout 30m ./suite \
	  -ginkgo.label-filter='iam-policy' -ginkgo.no-color -ginkgo.v

# The CI role's policy, rehearsed: make test-aws as that role on IAM-enforcing moto, whole and
# with each statement removed (CI_POLICY_FLAGS: -only SID, -labels FILTER).
test-ci-policy: ## rehearse make test-aws as the CI role's policy: sufficient whole, each statement necessary (slow)
	$(GO) run ./fixtures/cmd/ci-policy $(CI_POLICY_FLAGS)

aws-clean: ## remove leftovers of interrupted aws runs, found by their tag only
	$(GO) run ./fixtures/cmd/aws-clean $(AWS_CLEAN_FLAGS)

bench: ## benchmarks: s3cli vs aws s3 cp and mc (256 MiB, in-process and versitygw), payload signing before/now (1 GiB), executor vs Runtime Interface Emulator
	$(GO) test -count=1 -timeout 90m -run '^$$' -bench . -benchtime 1x ./s3cli/bench
	$(GO) test -count=1 -run '^$$' -bench . ./lambda/bench

# Each tree's own Makefile sets its build environment: the script gets the caller's.
bench-suite: ## cold and warm make test-local and its stages, this tree vs BASE=REF side by side (a benchmark)
	env -u CGO_ENABLED GOFLAGS='$(GOFLAGS_ENV)' BASE='$(BASE)' TARGET='$(TARGET)' scripts/bench-suite.sh

lint: ## gofmt, go vet, staticcheck, shellcheck, actionlint, cfn-lint
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	shellcheck scripts/*.sh .ci/run
	$(GO) run $(ACTIONLINT) .github/workflows/*.yml
	@if command -v cfn-lint >/dev/null; then cfn-lint scripts/template.yaml; else echo "cfn-lint not installed: skipped"; fi

gateway: ## run the Lambda gateway in front of UPSTREAM (an emulator URL)
	$(GO) run ./lambda/cmd/lambda-gateway --upstream '$(UPSTREAM)'

clean: ## remove build outputs
	rm -rf $(BIN)
