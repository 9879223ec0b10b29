#!/usr/bin/env bash
# Creates the test-runner function, or updates it, and waits until it is Active/updated.
# An unchanged package (same CodeSha256) is not uploaded again.
#   scripts/deploy-function.sh
# Env: FUNCTION_NAME (default s3cli-test-runner), PACKAGE_ZIP (default bin/deployment.zip),
#      ROLE_ARN (default S3CLI_ROLE_ARN, else the IamRoleArn output of stack STACK_NAME),
#      TIMEOUT (seconds, default 900), MEMORY (MB, default 1024), ARCH (x86_64 or arm64),
#      S3CLI_RUN_ID (when set, the function and its log group are tagged s3cli-run=ID,
#      so make aws-clean can find them).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need aws jq openssl
require_region

TIMEOUT=${TIMEOUT:-900}
MEMORY=${MEMORY:-1024}
ARCH=${ARCH:-x86_64}
ROLE_ARN=${ROLE_ARN:-${S3CLI_ROLE_ARN:-}}
if [[ -z $ROLE_ARN ]]; then
  ROLE_ARN=$(stack_output "$STACK_NAME" IamRoleArn 2>/dev/null || true)
  [[ -n $ROLE_ARN ]] || die "no execution role: set ROLE_ARN (or S3CLI_ROLE_ARN), or deploy the stack first (scripts/stack-up.sh)"
  log "execution role from stack $STACK_NAME: $ROLE_ARN"
fi
[[ -s $PACKAGE_ZIP ]] || die "no package at $PACKAGE_ZIP: run scripts/build-package.sh first"
sha=$(code_sha256 "$PACKAGE_ZIP")

# with_role_retry CMD...: run an aws call that names a new execution role; Lambda refuses it
# (InvalidParameterValueException) until IAM has propagated, so retry that, bounded, and
# nothing else.
with_role_retry() {
  local attempt err delay=1
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    if err=$("$@" 2>&1 >/dev/null); then return 0; fi
    if [[ $err != *"(InvalidParameterValueException)"* || $attempt == 10 ]]; then
      printf '%s\n' "$err" >&2
      return 1
    fi
    log "the role is not usable yet (attempt $attempt): retrying in ${delay}s"
    sleep "$delay"
    delay=$((delay * 2 > 15 ? 15 : delay * 2))
  done
}

tags=()
if [[ -n ${S3CLI_RUN_ID:-} ]]; then tags=(--tags "$TAG_KEY=$S3CLI_RUN_ID"); fi

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
start=$SECONDS
if current=$(aws lambda get-function-configuration --function-name "$FUNCTION_NAME" --output json 2>"$errfile"); then
  if [[ $(jq -r .CodeSha256 <<<"$current") == "$sha" ]]; then
    log "function $FUNCTION_NAME: code unchanged (CodeSha256 $sha), not uploaded"
  else
    log "function $FUNCTION_NAME: uploading the new code..."
    aws lambda update-function-code --function-name "$FUNCTION_NAME" --zip-file "fileb://$PACKAGE_ZIP" >/dev/null
    aws lambda wait function-updated-v2 --function-name "$FUNCTION_NAME"
  fi
  if [[ $(jq -r '[.Role, .Timeout, .MemorySize] | map(tostring) | join(" ")' <<<"$current") != "$ROLE_ARN $TIMEOUT $MEMORY" ]]; then
    log "function $FUNCTION_NAME: updating role, timeout and memory..."
    with_role_retry aws lambda update-function-configuration --function-name "$FUNCTION_NAME" \
      --role "$ROLE_ARN" --timeout "$TIMEOUT" --memory-size "$MEMORY"
    aws lambda wait function-updated-v2 --function-name "$FUNCTION_NAME"
  fi
else
  err=$(<"$errfile")
  [[ $err == *"(ResourceNotFoundException)"* ]] || die "reading function $FUNCTION_NAME: $err"
  # The log group first, so it carries the run's tag (Lambda would create it untagged).
  group="/aws/lambda/$FUNCTION_NAME"
  if ! out=$(aws logs create-log-group --log-group-name "$group" "${tags[@]}" 2>&1); then
    [[ $out == *"(ResourceAlreadyExistsException)"* ]] || die "creating log group $group: $out"
  fi
  log "function $FUNCTION_NAME: creating (role $ROLE_ARN)..."
  with_role_retry aws lambda create-function --function-name "$FUNCTION_NAME" \
    --runtime provided.al2023 --handler bootstrap --architectures "$ARCH" \
    --role "$ROLE_ARN" --timeout "$TIMEOUT" --memory-size "$MEMORY" \
    --zip-file "fileb://$PACKAGE_ZIP" "${tags[@]}"
  aws lambda wait function-active-v2 --function-name "$FUNCTION_NAME"
fi
state=$(aws lambda get-function-configuration --function-name "$FUNCTION_NAME" --output json)
log "function $FUNCTION_NAME is $(jq -r .State <<<"$state") (last update $(jq -r '.LastUpdateStatus // "n/a"' <<<"$state")) after $((SECONDS - start))s"
printf 'FUNCTION_ARN=%s\nCODE_SHA256=%s\n' "$(jq -r .FunctionArn <<<"$state")" "$(jq -r .CodeSha256 <<<"$state")"
