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
GINKGO_FLAGS ?= -ginkgo.v -ginkgo.no-color
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
ACTIONLINT  := github.com/rhysd/actionlint/cmd/actionlint@v1.7.12

UNIT_PKGS = $(shell $(GO) list ./... | grep -v '/suite$$')

.PHONY: test-iam-policy test-ci-policy
.PHONY: help setup images pull build package test test-unit test-local test-aws aws-clean \
        bench lint gateway clean

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

test: test-unit test-local ## unit tests, then the suite against TARGET (default auto)

test-unit: ## unit and conformance tests of every package but the suite
	$(GO) test -count=1 $(UNIT_PKGS)

test-local: ## the Ginkgo suite against an emulator (TARGET=auto|localstack|moto|moto-process|endpoint)
	S3CLI_TARGET=$(TARGET) $(GO) test -v -count=1 -timeout $(SUITE_TIMEOUT) ./suite \
	  -ginkgo.label-filter='$(HOST_LABELS)' $(GINKGO_FLAGS)

test-aws: ## the suite against real AWS; runs only with S3CLI_AWS_TESTS=1 (rehearsal when AWS_ENDPOINT_URL is set)
	$(GO) run ./fixtures/cmd/awsgate

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

bench: ## benchmarks: s3cli vs aws s3 cp (256 MiB), executor vs Runtime Interface Emulator
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./s3cli/bench
	$(GO) test -count=1 -run '^$$' -bench . ./lambda/bench

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
