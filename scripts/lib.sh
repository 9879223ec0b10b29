# shellcheck shell=bash
# Shared bits of the aws-mode scripts; sourced, never run. The scripts use the aws CLI, which
# takes credentials and region the usual way (AWS_PROFILE, AWS_REGION, ...) and, when
# AWS_ENDPOINT_URL is set, sends every call there: that is a REHEARSAL against an emulator
# (moto behind the Lambda gateway), and every line printed says so.

# The name of the calling script, for its log lines.
SCRIPT_NAME=$(basename "${BASH_SOURCE[1]:-$0}" .sh)
REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Names and tag shared with fixtures/awsmode (TagKey); used by the scripts that source this.
# shellcheck disable=SC2034
TAG_KEY=s3cli-run
FUNCTION_NAME=${FUNCTION_NAME:-s3cli-test-runner}
STACK_NAME=${STACK_NAME:-s3cli-test}
PACKAGE_ZIP=${PACKAGE_ZIP:-$REPO_ROOT/bin/deployment.zip}
# Where invoke.sh leaves the response and the request id for fetch-log.sh.
OUT_DIR=${OUT_DIR:-$REPO_ROOT/bin/aws-scripts}

if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
  LOG_PREFIX="[$SCRIPT_NAME REHEARSAL]"
else
  LOG_PREFIX="[$SCRIPT_NAME]"
fi

# log MESSAGE...: one progress line on stderr.
log() { printf '%s %s\n' "$LOG_PREFIX" "$*" >&2; }

# die MESSAGE...: one error line on stderr, exit 1.
die() {
  log "error: $*"
  exit 1
}

# need COMMAND...: fail with what to install when a command is missing.
need() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || die "$c is not installed (needed by $SCRIPT_NAME)"
  done
}

# require_region: the aws CLI needs a region; say which variable to set.
require_region() {
  if [[ -z ${AWS_REGION:-${AWS_DEFAULT_REGION:-}} ]] && ! aws configure get region >/dev/null 2>&1; then
    die "no AWS region: set AWS_REGION (or region in the profile AWS_PROFILE names)"
  fi
  # aws CLI v1 reads AWS_DEFAULT_REGION, not AWS_REGION.
  if [[ -n ${AWS_REGION:-} ]]; then export AWS_DEFAULT_REGION=$AWS_REGION; fi
}

# banner: say at the start what this runs against.
banner() {
  if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
    log "REHEARSAL against the emulator at $AWS_ENDPOINT_URL: no real AWS account is used"
  fi
}

# stack_output NAME KEY: one output of a deployed stack ("" when absent).
stack_output() {
  aws cloudformation describe-stacks --stack-name "$1" --output json |
    jq -r --arg k "$2" '.Stacks[0].Outputs // [] | map(select(.OutputKey == $k)) | .[0].OutputValue // ""'
}

# code_sha256 FILE: the digest Lambda reports as CodeSha256 (base64 of the SHA-256).
code_sha256() {
  openssl dgst -sha256 -binary "$1" | base64
}

banner
