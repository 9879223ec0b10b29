#!/usr/bin/env bash
# Prints the complete CloudWatch log of one invocation: finds its stream by the request id
# (filter-log-events), reads the whole stream page by page (get-log-events, following
# nextForwardToken until it stops changing) and keeps the lines from START to REPORT of that
# request. Logs arrive with a delay, so it looks again, bounded, until the REPORT line is there.
#   scripts/fetch-log.sh [REQUEST_ID]      (default: the id invoke.sh left in OUT_DIR/request-id)
# Env: FUNCTION_NAME (default s3cli-test-runner), FETCH_ATTEMPTS (default 30, 2 s apart),
#      LOG_PAGE_LIMIT (events per page; default: the service's), OUT_DIR (the log is also
#      written to OUT_DIR/function-REQUEST_ID.log).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need aws jq
require_region

request_id=${1:-}
if [[ -z $request_id ]]; then
  [[ -s $OUT_DIR/request-id ]] || die "no request id: pass one, or run scripts/invoke.sh first"
  request_id=$(<"$OUT_DIR/request-id")
fi
group="/aws/lambda/$FUNCTION_NAME"
attempts=${FETCH_ATTEMPTS:-30}
limit=()
if [[ -n ${LOG_PAGE_LIMIT:-} ]]; then limit=(--limit "$LOG_PAGE_LIMIT"); fi

# read_stream STREAM: every message of the stream, oldest first, one per line.
read_stream() {
  local token="" next page pages=0
  local args=(--log-group-name "$group" --log-stream-name "$1" --start-from-head --output json "${limit[@]}")
  while :; do
    if [[ -n $token ]]; then
      page=$(aws logs get-log-events "${args[@]}" --next-token "$token")
    else
      page=$(aws logs get-log-events "${args[@]}")
    fi
    pages=$((pages + 1))
    jq -r '.events[].message | sub("\n$"; "")' <<<"$page"
    next=$(jq -r '.nextForwardToken // ""' <<<"$page")
    # The end of the stream: the same token comes back.
    if [[ -z $next || $next == "$token" ]]; then break; fi
    token=$next
  done
  log "read $pages pages of stream $1"
}

stream=""
for ((attempt = 1; attempt <= attempts; attempt++)); do
  if [[ -z $stream ]]; then
    stream=$(aws logs filter-log-events --log-group-name "$group" --filter-pattern "\"$request_id\"" \
      --query 'events[0].logStreamName' --output text 2>/dev/null || true)
    [[ $stream == None ]] && stream=""
  fi
  if [[ -n $stream ]]; then
    lines=$(read_stream "$stream")
    if grep -q "REPORT RequestId: $request_id" <<<"$lines"; then break; fi
  fi
  ((attempt == attempts)) && die "the log of request $request_id is not complete in $group after $attempts attempts (stream: ${stream:-not found})"
  sleep 2
done

# The invocation's own lines: a warm function's stream holds earlier invocations too.
invocation=$(awk -v id="$request_id" '
  index($0, "START RequestId: " id) { on = 1 }
  on { print }
  index($0, "REPORT RequestId: " id) { exit }' <<<"$lines")
if [[ -z $invocation ]]; then
  log "warning: no START line for $request_id in $stream; printing the whole stream"
  invocation=$lines
fi
mkdir -p "$OUT_DIR"
printf '%s\n' "$invocation" | tee "$OUT_DIR/function-$request_id.log"
log "$(wc -l <"$OUT_DIR/function-$request_id.log") lines of request $request_id from $group / $stream, saved in $OUT_DIR/function-$request_id.log"
