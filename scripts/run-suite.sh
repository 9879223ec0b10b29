#!/usr/bin/env bash
# run-suite.sh: runs the Ginkgo suite (./suite) with the ginkgo CLI pinned in go.mod (the
# `tool` directive), in parallel unless PROCS=1. make test-local runs it under
# scripts/supervise.sh, which gives it a private TMPDIR and turns any SIGINT, SIGTERM or SIGHUP
# into one SIGINT to Ginkgo, so the suite's cleanup runs.
# The built ginkgo binary is exec'd directly: `go tool ginkgo` would put the go command in
# between, and the go command dies on SIGTERM before Ginkgo is done.
# Reads: GO (default go), PROCS (default 4; 1 is serial), LABELS (a Ginkgo label filter),
# SUITE_TIMEOUT (default 60m), GINKGO_FLAGS (more ginkgo flags, e.g. -v or --focus=...),
# SUITE_BUILD_FLAGS (go build flags for the suite, e.g. --tags=... --trimpath), TMPDIR.
set -euo pipefail
cd "$(dirname "$0")/.."

go=${GO:-go}
procs=${PROCS:-4}
if ! [[ $procs =~ ^[1-9][0-9]*$ ]]; then
  echo "run-suite: PROCS=$procs is not a positive number (PROCS=1 runs the specs one at a time)" >&2
  exit 2
fi
ginkgo=$("$go" tool -n ginkgo)

# Ginkgo compiles the suite to suite/suite.test (git-ignored) and removes it at the end, also
# when interrupted; its go build work files go to TMPDIR.
args=(run --timeout="${SUITE_TIMEOUT:-60m}" --grace-period=5s)
if ((procs > 1)); then
  args+=(-p --procs="$procs")
fi
if [[ -n ${LABELS:-} ]]; then
  args+=(--label-filter="$LABELS")
fi
if [[ ! -t 1 ]]; then
  args+=(--no-color)
fi
# Word splitting is wanted: both hold several flags.
# shellcheck disable=SC2206
args+=(${SUITE_BUILD_FLAGS:-} ${GINKGO_FLAGS:-})
printf '[run] ginkgo %s ./suite\n' "${args[*]}" >&2
exec "$ginkgo" "${args[@]}" ./suite
