#!/usr/bin/env bash
# run-suite.sh: runs the Ginkgo suite (./suite) with the ginkgo CLI pinned in go.mod (the
# `tool` directive), in parallel unless PROCS=1. make test-local runs it under
# scripts/supervise.sh, which gives it a private TMPDIR and turns any SIGINT, SIGTERM or SIGHUP
# into one SIGINT to Ginkgo, so the suite's cleanup runs.
# The built ginkgo binary is run directly: `go tool ginkgo` would put the go command in
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

# The suite and the ginkgo CLI compile at the same time (on a cold machine the CLI alone takes
# about 20 s); ginkgo then runs the precompiled suite/suite.test (git-ignored), which this
# script removes when ginkgo is done, however it ended. The suite runs in ./suite either way.
suite_bin=suite/suite.test
rm -f "$suite_bin"
trap 'rm -f "$suite_bin"' EXIT
# Word splitting is wanted: SUITE_BUILD_FLAGS and GINKGO_FLAGS hold several flags.
# shellcheck disable=SC2086
"$go" test -c -o "$suite_bin" ${SUITE_BUILD_FLAGS:-} ./suite &
build=$!
ginkgo=$("$go" tool -n ginkgo)
wait "$build"

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
# shellcheck disable=SC2206
args+=(${GINKGO_FLAGS:-})
printf '[run] ginkgo %s %s\n' "${args[*]}" "$suite_bin" >&2
# Not exec'd, so the binary can be removed after; the supervisor's SIGINT reaches ginkgo
# through the process group, and this shell only waits (a handler, unlike an ignored signal,
# is not inherited by ginkgo).
trap 'true' INT TERM HUP
rc=0
"$ginkgo" "${args[@]}" "$suite_bin" || rc=$?
exit "$rc"
