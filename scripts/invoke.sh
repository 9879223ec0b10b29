#!/usr/bin/env bash
# Invokes the test-runner function with LogType=Tail, prints the decoded log tail (stderr) and
# the response (stdout), keeps the request id for fetch-log.sh, and exits 1 when the function
# reports a FunctionError (a failed spec, a crash, a timeout).
#   scripts/invoke.sh
# Env: FUNCTION_NAME (default s3cli-test-runner); the event is EVENT (JSON) or is built from
#      BUCKET (default S3CLI_BUCKET, else the stack's BucketName), DENIED_BUCKET (default
#      S3CLI_DENIED_BUCKET), LABEL_FILTER (default iam-role), S3_HOST (default: empty, the
#      function's own endpoint), IAM_ENFORCED (true/false; default S3CLI_IAM_ENFORCED, else true);
#      OUT_DIR (default bin/aws-scripts) receives event.json, response.json, request-id.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need aws jq base64
require_region

mkdir -p "$OUT_DIR"
if [[ -n ${EVENT:-} ]]; then
  jq -e . <<<"$EVENT" >/dev/null || die "EVENT is not JSON"
  printf '%s' "$EVENT" >"$OUT_DIR/event.json"
else
  BUCKET=${BUCKET:-${S3CLI_BUCKET:-}}
  if [[ -z $BUCKET ]]; then
    BUCKET=$(stack_output "$STACK_NAME" BucketName 2>/dev/null || true)
    [[ -n $BUCKET ]] || die "no bucket: set BUCKET (or S3CLI_BUCKET), or deploy the stack first (scripts/stack-up.sh)"
  fi
  jq -n --arg bucket "$BUCKET" --arg region "$AWS_DEFAULT_REGION" --arg host "${S3_HOST:-}" \
    --arg filter "${LABEL_FILTER:-iam-role}" --arg denied "${DENIED_BUCKET:-${S3CLI_DENIED_BUCKET:-}}" \
    --arg iam "${IAM_ENFORCED:-${S3CLI_IAM_ENFORCED:-true}}" \
    '{bucket_name: $bucket, region: $region, s3_host: $host, label_filter: $filter,
      denied_bucket_name: $denied, iam_enforced: ($iam == "true")}' >"$OUT_DIR/event.json"
fi
timeout=$(aws lambda get-function-configuration --function-name "$FUNCTION_NAME" --query Timeout --output text) ||
  die "function $FUNCTION_NAME not found: deploy it first (scripts/deploy-function.sh)"

log "invoking $FUNCTION_NAME with $(jq -c . "$OUT_DIR/event.json")..."
start=$SECONDS
# The call lasts as long as the function runs: wait its timeout plus a minute, no longer.
aws lambda invoke --function-name "$FUNCTION_NAME" --log-type Tail \
  --payload "fileb://$OUT_DIR/event.json" --cli-read-timeout $((timeout + 60)) \
  "$OUT_DIR/response.json" >"$OUT_DIR/invoke.json"
log "returned after $((SECONDS - start))s, status $(jq -r .StatusCode "$OUT_DIR/invoke.json")"

tail_text=$(jq -r '.LogResult // ""' "$OUT_DIR/invoke.json" | base64 -d)
log "---- log tail (last 4 KB) ----"
while IFS= read -r line; do log "| $line"; done <<<"$tail_text"
log "---- end of log tail ----"

# Lambda (and our executor) end each invocation's log with "REPORT RequestId: <id>".
request_id=$(grep -oE 'REPORT RequestId: [0-9A-Za-z-]+' <<<"$tail_text" | tail -n 1 | cut -d' ' -f3 || true)
if [[ -n $request_id ]]; then
  printf '%s\n' "$request_id" >"$OUT_DIR/request-id"
else
  rm -f "$OUT_DIR/request-id"
  log "warning: no REPORT line in the tail, so no request id for fetch-log.sh"
fi

cat "$OUT_DIR/response.json"
echo
printf 'REQUEST_ID=%s\n' "$request_id"
function_error=$(jq -r '.FunctionError // ""' "$OUT_DIR/invoke.json")
if [[ -n $function_error ]]; then
  log "the function failed: FunctionError=$function_error (response above; full log: scripts/fetch-log.sh)"
  exit 1
fi
log "the function succeeded"
