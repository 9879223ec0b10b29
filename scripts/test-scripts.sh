#!/usr/bin/env bash
# Rehearses the aws-mode scripts end to end against the emulator AWS_ENDPOINT_URL names:
# stack-up (twice), deploy-function (create, unchanged, update), invoke + fetch-log, then
# delete-function and stack-down, checking after each step what the emulator holds, and the
# scripts' errors on bad input. It refuses to run without AWS_ENDPOINT_URL: it is a test, not
# a way to touch a real account.
#   AWS_ENDPOINT_URL=http://127.0.0.1:PORT scripts/test-scripts.sh
#   INVOKE=1 scripts/rehearse.sh scripts/test-scripts.sh   # moto enforcing IAM, behind the gateway
# Env: INVOKE=1 when the endpoint runs functions (moto behind the Lambda gateway): then the
#      real package is built (or PACKAGE_ZIP used) and invoked, passing and failing.
#      Without it (plain moto) a stand-in package is deployed and fetch-log.sh reads a log
#      written the way the executor writes it.
# Output: "ok N - ..." / "not ok N - ..." lines; exit 1 when any check failed.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
[[ -n ${AWS_ENDPOINT_URL:-} ]] || {
  echo "[test-scripts] AWS_ENDPOINT_URL is not set: this test creates and deletes resources, point it at an emulator" >&2
  exit 2
}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test} AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_DEFAULT_REGION=$AWS_REGION
unset AWS_PROFILE

run_id=$(LC_ALL=C tr -dc 'a-z0-9' </dev/urandom | head -c 8 || true)
export S3CLI_RUN_ID=$run_id
export STACK_NAME="s3cli-it-$run_id"
export FUNCTION_NAME="s3cli-it-$run_id-fn"
work=$(mktemp -d)
export OUT_DIR="$work/out"
echo "[test-scripts REHEARSAL] against $AWS_ENDPOINT_URL, run $run_id, work dir $work" >&2

n=0
failed=0
pass() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
# check DESCRIPTION CMD...: a step that must succeed.
check() {
  local what=$1
  shift
  if "$@" >"$work/last.out" 2>"$work/last.err"; then pass "$what"; else
    fail "$what (exit $?)"
    sed 's/^/#   /' "$work/last.err" "$work/last.out" | tail -n 30
  fi
}
# check_fails DESCRIPTION PATTERN CMD...: a step that must fail, saying PATTERN.
check_fails() {
  local what=$1 pattern=$2
  shift 2
  if "$@" >"$work/last.out" 2>"$work/last.err"; then fail "$what (it succeeded)"
  elif grep -q -- "$pattern" "$work/last.err" "$work/last.out"; then pass "$what"
  else
    fail "$what (no \"$pattern\" in its output)"
    sed 's/^/#   /' "$work/last.err" "$work/last.out" | tail -n 30
  fi
}
# expect DESCRIPTION GOT WANT: GOT equals WANT.
expect() {
  if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1 (got \"$2\", want \"$3\")"; fi
}
# expect_like DESCRIPTION GOT PATTERN: GOT matches the glob PATTERN.
expect_like() {
  # shellcheck disable=SC2053 # the pattern is a glob on purpose
  if [[ $2 == $3 ]]; then pass "$1"; else fail "$1 (got \"$2\", want $3)"; fi
}
output() { { grep -E "^$1=" "$work/last.out" || true; } | head -n 1 | cut -d= -f2-; }

cleanup() {
  # Whatever a failed check left behind goes, quietly.
  "$here/delete-function.sh" >/dev/null 2>&1 || true
  "$here/stack-down.sh" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

# --- bad input first: each names what is missing ---
check_fails "deploy-function.sh without a role or a stack says so" "no execution role" \
  env -u S3CLI_ROLE_ARN -u ROLE_ARN "$here/deploy-function.sh"
check_fails "fetch-log.sh without a request id says so" "no request id" "$here/fetch-log.sh"
check_fails "invoke.sh of a function that does not exist says so" "not found" env BUCKET=b "$here/invoke.sh"
check "stack-down.sh of a stack that does not exist succeeds" "$here/stack-down.sh"

# --- the stack ---
check "stack-up.sh creates the stack" "$here/stack-up.sh"
bucket=$(output BucketName)
role=$(output IamRoleArn)
expect_like "stack-up.sh prints BucketName ($bucket)" "$bucket" "$STACK_NAME-*"
expect_like "stack-up.sh prints IamRoleArn ($role)" "$role" "arn:aws:iam::*:role/$STACK_NAME-*"
tag=$(aws s3api get-bucket-tagging --bucket "$bucket" --query "TagSet[?Key=='s3cli-run'].Value" --output text 2>/dev/null || true)
expect "the stack's bucket carries the run's tag" "$tag" "$run_id"
check "stack-up.sh a second time updates or leaves the stack" "$here/stack-up.sh"
expect "the second stack-up.sh prints the same bucket" "$(output BucketName)" "$bucket"

# --- the package ---
if [[ ${INVOKE:-0} == 1 ]]; then
  if [[ -z ${PACKAGE_ZIP:-} ]]; then
    check "build-package.sh builds the package" "$here/build-package.sh"
    PACKAGE_ZIP=$(output PACKAGE_ZIP)
  fi
else
  # A stand-in: plain moto stores functions but cannot run them.
  printf '#!/bin/sh\nexit 0\n' >"$work/bootstrap"
  chmod +x "$work/bootstrap"
  (cd "$work" && zip -q -X stand-in.zip bootstrap)
  PACKAGE_ZIP="$work/stand-in.zip"
fi
export PACKAGE_ZIP

# --- the function ---
check "deploy-function.sh creates the function (role from the stack)" "$here/deploy-function.sh"
state=$(aws lambda get-function-configuration --function-name "$FUNCTION_NAME" --output json 2>/dev/null || echo '{}')
expect "the function is Active" "$(jq -r .State <<<"$state")" Active
expect "the function uses the stack's role" "$(jq -r .Role <<<"$state")" "$role"
fn_tag=$(aws lambda list-tags --resource "$(jq -r .FunctionArn <<<"$state")" --query "Tags.\"s3cli-run\"" --output text 2>/dev/null || true)
expect "the function carries the run's tag" "$fn_tag" "$run_id"
group_tag=$(aws logs list-tags-log-group --log-group-name "/aws/lambda/$FUNCTION_NAME" --query "tags.\"s3cli-run\"" --output text 2>/dev/null || true)
expect "its log group exists and carries the run's tag" "$group_tag" "$run_id"
check "deploy-function.sh with the same package" "$here/deploy-function.sh"
expect "an unchanged package is not uploaded again" "$(grep -c 'code unchanged' "$work/last.err")" 1
cp "$PACKAGE_ZIP" "$work/changed.zip"
printf 'changed\n' >"$work/CHANGED"
(cd "$work" && zip -q -X changed.zip CHANGED)
check "deploy-function.sh with a changed package" env PACKAGE_ZIP="$work/changed.zip" "$here/deploy-function.sh"
expect "a changed package is uploaded" "$(grep -c 'uploading the new code' "$work/last.err")" 1
if [[ ${INVOKE:-0} == 1 ]]; then
  check "deploy-function.sh back to the real package" "$here/deploy-function.sh"
fi

# --- invoke and the complete log ---
if [[ ${INVOKE:-0} == 1 ]]; then
  check "invoke.sh runs the iam-role specs in the function" env LABEL_FILTER=iam-role "$here/invoke.sh"
  request_id=$(output REQUEST_ID)
  expect_like "invoke.sh prints the request id ($request_id)" "$request_id" "?*"
  expect "invoke.sh prints the decoded log tail" "$(grep -c "| REPORT RequestId: $request_id" "$work/last.err")" 1
  check "fetch-log.sh prints the invocation's complete log" "$here/fetch-log.sh"
  expect_like "the complete log starts with START" "$(head -n 1 "$work/last.out")" "START RequestId: $request_id*"
  expect_like "the complete log ends with REPORT" "$(tail -n 1 "$work/last.out")" "REPORT RequestId: $request_id*"
  check_fails "invoke.sh exits non-zero on a FunctionError" "FunctionError" env LABEL_FILTER=canary-failure "$here/invoke.sh"
  check "fetch-log.sh reads the failed invocation's log" "$here/fetch-log.sh"
else
  # Two invocations in one stream, as a warm function writes them; pages of 4 events.
  stream="$(date -u +%Y/%m/%d)/[\$LATEST]0123456789abcdef"
  aws logs create-log-stream --log-group-name "/aws/lambda/$FUNCTION_NAME" --log-stream-name "$stream"
  now=$(($(date +%s) * 1000))
  events=$(jq -nc --argjson t "$now" '
    [("START RequestId: 11111111-aaaa Version: $LATEST", "earlier invocation", "END RequestId: 11111111-aaaa",
      "REPORT RequestId: 11111111-aaaa Duration: 1 ms"),
     ("START RequestId: 22222222-bbbb Version: $LATEST", (range(1; 12) | "spec line \(.)"),
      "END RequestId: 22222222-bbbb", "REPORT RequestId: 22222222-bbbb Duration: 2 ms")]
    | to_entries | map({timestamp: ($t + .key), message: .value})')
  aws logs put-log-events --log-group-name "/aws/lambda/$FUNCTION_NAME" --log-stream-name "$stream" --log-events "$events" >/dev/null
  check "fetch-log.sh finds the stream by request id and reads it page by page" env LOG_PAGE_LIMIT=4 "$here/fetch-log.sh" 22222222-bbbb
  expect "only that invocation's 14 lines" "$(wc -l <"$work/last.out")" 14
  expect "from its START" "$(head -n 1 "$work/last.out")" "START RequestId: 22222222-bbbb Version: \$LATEST"
  expect "to its REPORT" "$(tail -n 1 "$work/last.out")" "REPORT RequestId: 22222222-bbbb Duration: 2 ms"
  expect "over several pages" "$(grep -cE 'read [4-9] pages' "$work/last.err")" 1
  check_fails "fetch-log.sh gives up, bounded, on a request id that never logs" "not complete" \
    env FETCH_ATTEMPTS=2 "$here/fetch-log.sh" 33333333-cccc
fi

# --- teardown ---
aws s3api put-object --bucket "$bucket" --key left-over --body "$PACKAGE_ZIP" >/dev/null
check "delete-function.sh removes the function and its log group" "$here/delete-function.sh"
expect "the function is gone" "$(aws lambda list-functions --query "Functions[?FunctionName=='$FUNCTION_NAME'] | length(@)" --output text)" 0
expect "the log group is gone" "$(aws logs describe-log-groups --log-group-name-prefix "/aws/lambda/$FUNCTION_NAME" --query 'length(logGroups)' --output text)" 0
check "stack-down.sh empties the bucket and removes the stack" "$here/stack-down.sh"
expect "the bucket is gone" "$(aws s3api list-buckets --query "Buckets[?Name=='$bucket'] | length(@)" --output text)" 0
expect "the role is gone" "$(aws iam list-roles --query "Roles[?Arn=='$role'] | length(@)" --output text)" 0

echo "# $((n - failed)) of $n checks passed"
echo "scripts: $((n - failed)) passed, $failed failed"
((failed == 0))
