#!/usr/bin/env bash
# bench-suite.sh: a benchmark, not a test. Prints the wall time of `make test-local` and of its
# stages (suite compile, emulator start, package, deploy, invoke, specs), cold (an empty Go
# build cache; the module cache is kept) and warm (the same cache again), on this tree and,
# with BASE=REF, on that git ref side by side, so a change can be held against the one before
# it in one run. BASE is checked out with `git worktree` into a temporary directory that is
# removed at the end, like the temporary build caches; the logs and reports stay in
# bin/bench-suite/.
# Runs, in this order: BASE cold, this tree cold, BASE warm, this tree warm (interleaved, so
# the load of a shared machine falls on both alike). A run that fails is reported, not hidden.
#   make bench-suite [BASE=5b8cb84] [TARGET=moto-process]
# Reads: BASE, TARGET (default auto), and whatever make test-local reads (S3CLI_LAMBDA_SHARDS).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_PREFIX="[bench-suite]"
need git go jq make

target=${TARGET:-auto}
base=${BASE:-}
work=$(mktemp -d "${TMPDIR:-/tmp}/s3cli-bench-suite.XXXXXX")
cleanup() {
  if [[ -d $work/base ]]; then git -C "$REPO_ROOT" worktree remove --force "$work/base" >/dev/null 2>&1 || true; fi
  # The build caches are read-only files (Go makes them so): make them removable first.
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
logs=$REPO_ROOT/bin/bench-suite
rm -rf "$logs" && mkdir -p "$logs"
trap 'exit 130' INT TERM

trees=(this)
declare -A dir=([this]=$REPO_ROOT)
declare -A title=([this]="this tree ($(git -C "$REPO_ROOT" describe --always --dirty))")
if [[ -n $base ]]; then
  rev=$(git -C "$REPO_ROOT" rev-parse --short "$base^{commit}") || die "BASE=$base is not a git ref"
  git -C "$REPO_ROOT" worktree add --detach "$work/base" "$rev" >/dev/null 2>&1 || die "checking out $base into $work/base failed"
  trees=(base this)
  dir[base]=$work/base
  title[base]="BASE $base ($rev)"
fi

stages=(compile emulator package deploy invoke specs total)
declare -A label=([compile]="suite compile" [emulator]="emulator start" [package]="package (build; wait)"
  [deploy]="deploy" [invoke]="invoke (iam-role specs)" [specs]="specs (suite run)" [total]="make test-local (wall)")
declare -A result=()

# seconds DURATION: a Go duration (700ms, 2.9s, 1m2.5s) in seconds.
seconds() {
  awk -v d="$1" 'BEGIN {
    s = 0
    if (match(d, /[0-9.]+m[0-9]/) || d ~ /^[0-9.]+m$/) { split(d, p, "m"); s += p[1] * 60; d = substr(d, index(d, "m") + 1) }
    if (d ~ /ms$/) { sub(/ms$/, "", d); s += d / 1000 } else if (d ~ /s$/) { sub(/s$/, "", d); s += d }
    printf "%.1f", s }'
}

# run TREE KIND: one make test-local in TREE with its own GOCACHE; fills result[TREE,KIND,stage].
run() {
  local tree=$1 kind=$2 d=${dir[$1]} out=$logs/$1-$2
  local cache=$work/gocache-$1
  if [[ $kind == cold ]]; then rm -rf "$cache" && mkdir -p "$cache"; fi
  # The report flag: the suite binary's own (-ginkgo.*) when make test-local runs go test, the
  # ginkgo CLI's otherwise.
  local flags="--no-color --json-report=$out.json"
  if make -s -C "$d" -n test-local TARGET="$target" 2>/dev/null | grep -q ' test .*\./suite'; then
    flags="-ginkgo.no-color -ginkgo.json-report=$out.json"
  fi
  log "${title[$tree]}, $kind: make test-local TARGET=$target (log $out.log)"
  local start=$EPOCHREALTIME rc
  set +e
  (cd "$d" && GOCACHE=$cache make test-local TARGET="$target" GINKGO_FLAGS="$flags" 2>&1) |
    while IFS= read -r line; do printf '%s %s\n' "$EPOCHREALTIME" "$line"; done >"$out.log"
  rc=${PIPESTATUS[0]}
  set -e
  local end=$EPOCHREALTIME
  result[$tree,$kind,total]=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
  if [[ $rc != 0 ]]; then result[$tree,$kind,total]+=" FAILED"; fi

  # Output the parallel processes captured lives in the report; search it with the log.
  local text=$out.text
  cut -d' ' -f2- "$out.log" >"$text"
  if [[ -s $out.json ]]; then
    jq -r '.[].SpecReports[] | (.CapturedStdOutErr // ""), (.CapturedGinkgoWriterOutput // "")' "$out.json" >>"$text" 2>/dev/null || true
  fi
  local first
  first=$(grep -m1 -E 'Running Suite: ' "$out.log" | cut -d' ' -f1 || true)
  if [[ -n $first ]]; then result[$tree,$kind,compile]=$(awk -v a="$start" -v b="$first" 'BEGIN { printf "%.1f", b - a }'); fi
  local ready
  ready=$(grep -m1 -oE '\[targets\] starting .*\.\.\. ready in [0-9.hms]+' "$text" | grep -oE '[0-9.hms]+$' || true)
  if [[ -n $ready ]]; then result[$tree,$kind,emulator]=$(seconds "$ready"); fi
  local built waited
  built=$(grep -m1 -oE 'background package build: .* in [0-9.]+s' "$text" | grep -oE '[0-9.]+s$' || true)
  if [[ -n $built ]]; then
    waited=$(grep -m1 -oE 'ready \(built in [0-9.]+s, waited [0-9.hms]+\)' "$text" | grep -oE 'waited [0-9.hms]+' | cut -d' ' -f2 || true)
    result[$tree,$kind,package]="$(seconds "$built"); ${waited:+$(seconds "$waited")}"
  else # built inside the first lambda spec: the packager's own lines
    built=$(grep -oE '(building (bootstrap|integration\.test|s3cli)\.\.\.|built (bootstrap|integration\.test|s3cli) in|zipping [^ ]+\.\.\.) [0-9.]+s' "$text" | grep -oE '[0-9.]+s$' | tr -d s |
      awk '{ s += $1; n++ } END { if (n) printf "%.1f", s }')
    if [[ -n $built ]]; then result[$tree,$kind,package]="$built; $built"; fi
  fi
  if [[ -s $out.json ]]; then
    result[$tree,$kind,deploy]=$(jq -r '[.[].SpecReports[] | select(.LeafNodeText // "" | startswith("is created with the execution role")) | .RunTime / 1e9] | first // empty | . * 10 | round / 10' "$out.json" || true)
    result[$tree,$kind,invoke]=$(jq -r '[.[].SpecReports[] | select(.LeafNodeText // "" | startswith("runs the iam-role specs inside the function")) | .RunTime / 1e9] | first // empty | . * 10 | round / 10' "$out.json" || true)
    result[$tree,$kind,specs]=$(jq -r '.[0].RunTime / 1e9 | . * 10 | round / 10' "$out.json" || true)
  fi
}

for kind in cold warm; do
  for tree in "${trees[@]}"; do
    run "$tree" "$kind" || log "reading the figures of ${title[$tree]}, $kind failed; see $logs"
  done
done

printf '\nmake test-local TARGET=%s, seconds (cold: empty GOCACHE, module cache kept; warm: the same cache again)\n' "$target"
printf '%-26s' "stage"
for tree in "${trees[@]}"; do printf ' | %-34s' "${title[$tree]}"; done
printf '\n%-26s' ""
for tree in "${trees[@]}"; do printf ' | %-16s %-17s' cold warm; done
printf '\n'
for s in "${stages[@]}"; do
  printf '%-26s' "${label[$s]}"
  for tree in "${trees[@]}"; do
    printf ' | %-16s %-17s' "${result[$tree,cold,$s]:--}" "${result[$tree,warm,$s]:--}"
  done
  printf '\n'
done
printf '\npackage: how long the build took; after the ";" how long the lambda specs waited for it.\n'
printf 'Logs and Ginkgo reports: %s; a loaded machine'"'"'s load counts against every column alike.\n' "$logs"
