#!/usr/bin/env bash
# test-signals.sh [TARGET...]: interrupts `make test-local` for real and checks that nothing of
# the run outlives it. For each target (default: moto-process moto) it runs make test-local in
# its own process group and sends that group a signal at a moment it reads from the run's
# output: while the emulator starts, while the Lambda package builds, during the s3cli specs,
# during a Lambda invoke. Signals rotate over the moments so that SIGINT, SIGTERM, SIGHUP and
# GitHub Actions' cancel (SIGINT, SIGTERM 7.5 s later, SIGKILL 2.5 s after that) each reach
# every target, and a second signal lands during the cleanup of a first ("twice"). A case fails when the run takes more than LIMIT seconds to end after the first
# signal, exits 0, or leaves a process (found by the run id in its environment or its working
# directory in the run's TMPDIR), a container (by the run's label), anything in its TMPDIR, or
# a resource on the emulator (the suite's own leftover check, read from its output).
# Reads: LIMIT (default 20), MOMENT_TIMEOUT (seconds to wait for a moment, default 600),
# KEEP_LOGS=1 (keep each case's output), PLAN (instead of the rotation, e.g. "invoke:TERM").
set -euo pipefail
cd "$(dirname "$0")/.."

limit=${LIMIT:-20}
moment_timeout=${MOMENT_TIMEOUT:-600}
if (($# == 0)); then set -- moto-process moto; fi

# moment -> extended regexp of the output line that marks it
declare -A marks=(
  # process 1 starts the package build in the background at the very start of the suite
  [package]='\[suite\] building the Lambda deployment package in the background'
  [s3cli]='\[suite\] built s3cli '
  [invoke]='runtimeapi: started an environment of'
)
emulator_mark() {
  case $1 in
  moto-process) echo '\[targets\] starting moto-process on .*\.\.\.$' ;;
  *) echo '\[testcontainers\] .*Container created' ;;
  esac
}
# The rotation: every target gets every moment, and SIGINT, SIGTERM, SIGHUP and GitHub's
# sequence each at least once per target (github sends SIGINT and SIGTERM itself).
plan_for() {
  if [[ -n ${PLAN:-} ]]; then
    echo "$PLAN"
    return
  fi
  case $1 in
  0) echo "emulator:INT package:TERM s3cli:HUP invoke:github package:twice" ;;
  *) echo "emulator:TERM package:HUP s3cli:github invoke:INT invoke:twice" ;;
  esac
}

failures=0 cases=0 counted=0 total_start=$SECONDS
fail() {
  printf '  FAIL: %s\n' "$*" >&2
  case_failed=1
}

# leftover_processes RUN_ID DIR: pids of processes that carry the run id in their environment
# or run in DIR (the executor's bootstrap gets a clean environment, but its cwd is in DIR).
leftover_processes() {
  local id=$1 dir=$2 p cwd
  for p in /proc/[0-9]*; do
    [[ ${p#/proc/} == "$$" || ${p#/proc/} == "$BASHPID" ]] && continue
    if grep -qz "^S3CLI_RUN_ID=$id\$" "$p/environ" 2>/dev/null; then
      echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"
      continue
    fi
    cwd=$(readlink "$p/cwd" 2>/dev/null || true)
    if [[ -n $cwd && $cwd == "$dir"* ]]; then
      echo "${p#/proc/} $(tr '\0' ' ' <"$p/cmdline" 2>/dev/null | cut -c1-120)"
    fi
  done
}

run_case() {
  local target=$1 moment=$2 sig=$3 n=$4
  local id tmp log mark pid start_wait signalled_at elapsed rc left
  id="sig$(date +%s | tail -c 6)$n"
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/s3cli-sigtest.XXXXXX")
  log=$tmp.log
  if [[ $moment == emulator ]]; then mark=$(emulator_mark "$target"); else mark=${marks[$moment]}; fi
  case_failed=0
  cases=$((cases + 1))
  printf '\n--- %s: %s during %s (run %s)\n' "$target" "$(case $sig in github) echo "GitHub's cancel" ;; twice) echo "SIGTERM then SIGHUP" ;; *) echo "SIG$sig" ;; esac)" "$moment" "$id"

  set -m
  env TMPDIR="$tmp" S3CLI_RUN_ID="$id" make --no-print-directory test-local TARGET="$target" >"$log" 2>&1 &
  pid=$!
  set +m
  start_wait=$SECONDS
  until grep -qE "$mark" "$log"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      fail "the run ended before the moment ($mark) came; its output: $log"
      KEEP_LOGS=1
      wait "$pid" || true
      return
    fi
    if ((SECONDS - start_wait > moment_timeout)); then
      fail "the moment ($mark) did not come within ${moment_timeout}s"
      kill -KILL -- "-$pid" 2>/dev/null || true
      KEEP_LOGS=1
      wait "$pid" || true
      return
    fi
    sleep 0.1
  done
  local what="SIG$sig"
  if [[ $sig == github ]]; then what="SIGINT (SIGTERM 7.5 s later, SIGKILL at 10 s, as GitHub does)"; fi
  if [[ $sig == twice ]]; then what="SIGTERM, and SIGHUP 0.3 s later (a second signal during the cleanup)"; fi
  printf '  moment reached after %ss; sending %s to process group %s\n' "$((SECONDS - start_wait))" "$what" "$pid"
  signalled_at=$(date +%s.%N)
  local needed_kill=0
  if [[ $sig == github ]]; then
    kill -INT -- "-$pid" 2>/dev/null || true
    local t=0
    while kill -0 "$pid" 2>/dev/null && ((t < 100)); do
      sleep 0.1
      t=$((t + 1))
      if ((t == 75)); then kill -TERM -- "-$pid" 2>/dev/null || true; fi
    done
    if kill -0 "$pid" 2>/dev/null; then
      needed_kill=1
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  else
    if [[ $sig == twice ]]; then
      kill -TERM -- "-$pid" 2>/dev/null || true
      sleep 0.3
      sig=HUP
    fi
    kill -"$sig" -- "-$pid" 2>/dev/null || true
    local t=0
    while kill -0 "$pid" 2>/dev/null && ((t < limit * 10 + 50)); do
      sleep 0.1
      t=$((t + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
      needed_kill=1
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  fi
  rc=0
  wait "$pid" || rc=$?
  elapsed=$(awk -v a="$signalled_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
  printf '  make ended %ss after the first signal, exit status %s\n' "$elapsed" "$rc"

  if ((needed_kill)); then
    fail "the run was still going and had to be SIGKILLed (GitHub sends SIGKILL 10 s after its SIGINT)"
  fi
  if awk -v e="$elapsed" -v l="$limit" 'BEGIN { exit !(e > l) }'; then
    fail "the run took ${elapsed}s to end, more than ${limit}s"
  fi
  if ((rc == 0)); then
    fail "an interrupted run exited 0"
  fi
  # The suite's own last step checks the emulator for what the run created (buckets, roles,
  # functions, log groups); the emulator is gone afterwards, so its verdict is read here.
  if grep -qE 'left resources on target|whose removal failed|died before the suite stopped it' "$log"; then
    fail "the suite reports resources it could not remove: $(grep -E -m1 'left resources on target|whose removal failed|died before' "$log")"
  fi
  if ! grep -q '^\[run\] stopped after SIG' "$log"; then
    fail "the run did not say it was stopped by the signal"
  fi
  # Give the kernel a moment to reap what was SIGKILLed, then look for what is left.
  sleep 0.5
  left=$(leftover_processes "$id" "$tmp")
  if [[ -n $left ]]; then
    fail "processes of the run are left:"$'\n'"$left"
    while read -r p _; do kill -KILL "$p" 2>/dev/null || true; done <<<"$left"
  fi
  if docker info >/dev/null 2>&1; then
    left=$(docker ps -aq --filter "label=dev.s3cli.run=$id")
    if [[ -n $left ]]; then
      fail "containers of the run are left: $(tr '\n' ' ' <<<"$left")"
      xargs -r docker rm -f <<<"$left" >/dev/null 2>&1 || true
    fi
  fi
  left=$(find "$tmp" -mindepth 1 -maxdepth 1 2>/dev/null)
  if [[ -n $left ]]; then
    fail "the run left in its TMPDIR: $(tr '\n' ' ' <<<"$left")"
  fi
  if [[ -e suite/suite.test ]]; then
    fail "the compiled suite suite/suite.test is left"
    rm -f suite/suite.test
  fi
  rm -rf "$tmp"
  if ((case_failed)); then
    failures=$((failures + 1)) counted=$n
    echo "  its output (last 40 lines of $log):"
    tail -n 40 "$log" | sed 's/^/    /'
  else
    echo "  ok: nothing of the run is left"
    [[ ${KEEP_LOGS:-0} == 1 ]] || rm -f "$log"
  fi
}

n=0 ti=0
for target in "$@"; do
  for step in $(plan_for "$ti"); do
    n=$((n + 1))
    run_case "$target" "${step%%:*}" "${step#*:}" "$n"
    # A case that returned early (its moment never came) failed as well.
    if ((case_failed && counted != n)); then failures=$((failures + 1)); fi
  done
  ti=$((ti + 1))
done

printf '\n%d of %d signal cases failed (%ss)\n' "$failures" "$cases" "$((SECONDS - total_start))"
((failures == 0))
