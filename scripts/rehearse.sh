#!/usr/bin/env bash
# Runs a command in a rehearsal of the aws mode, without an AWS account: moto_server on a free
# loopback port with an admin user, IAM and SigV4 enforcement switched on, the Lambda gateway
# in front of it, and AWS_ENDPOINT_URL, AWS_REGION and the admin's key exported for the
# command (and, when IAM is enforced, REHEARSAL_PRINCIPAL_ARN, the admin's ARN, for
# scripts/stack-up.sh). Everything it started is stopped when the command ends, however it ends.
#   scripts/rehearse.sh CMD [ARG...]
#   scripts/rehearse.sh bash -c 'S3CLI_AWS_TESTS=1 make test-aws && INVOKE=1 scripts/test-scripts.sh'
# Env: IAM_ENFORCE (1 = on, the default; 0 = off), READY_TIMEOUT (seconds, default 60).
# The aws CLI v1's bodiless Lambda calls (get-function, list-functions, the waiters,
# delete-function) pass enforcement too: moto 5.2 checks their signature against the request
# headers in place of the empty body, so the gateway re-signs those it can verify as signed
# with its own key, the admin's (lambda/gateway/resign.go).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_PREFIX="[rehearse REHEARSAL]"
need moto_server aws jq curl go python3
(($# > 0)) || die "usage: scripts/rehearse.sh CMD [ARG...]"
ready_timeout=${READY_TIMEOUT:-60}

work=$(mktemp -d)
pids=()
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_for WHAT CMD...: retry CMD until it succeeds, at most READY_TIMEOUT seconds.
wait_for() {
  local what=$1 deadline=$((SECONDS + ready_timeout))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || die "$what did not become ready within ${ready_timeout}s"
    sleep 0.2
  done
}

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
moto="http://127.0.0.1:$port"
setsid moto_server -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
pids+=($!)
wait_for "moto_server on port $port" curl -sf "$moto/moto-api/"
log "moto_server at $moto"

# An admin with every right, created while moto still lets anyone in.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
admin_arn=$(AWS_ENDPOINT_URL=$moto aws iam create-user --user-name rehearsal-admin --query User.Arn --output text)
AWS_ENDPOINT_URL=$moto aws iam put-user-policy --user-name rehearsal-admin --policy-name admin \
  --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'
key=$(AWS_ENDPOINT_URL=$moto aws iam create-access-key --user-name rehearsal-admin --output json)
AWS_ACCESS_KEY_ID=$(jq -r .AccessKey.AccessKeyId <<<"$key")
AWS_SECRET_ACCESS_KEY=$(jq -r .AccessKey.SecretAccessKey <<<"$key")
export AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
if [[ ${IAM_ENFORCE:-1} == 1 ]]; then
  curl -sf -X POST -H 'Content-Type: text/plain' --data 0 "$moto/moto-api/reset-auth" >/dev/null ||
    die "could not switch moto's IAM enforcement on"
  export S3CLI_IAM_ENFORCED=true
  # The gateway assumes execution roles as the admin: scripts/stack-up.sh's role trusts it.
  export REHEARSAL_PRINCIPAL_ARN=$admin_arn
  log "IAM and SigV4 enforced; the command acts as user rehearsal-admin"
else
  export S3CLI_IAM_ENFORCED=false
  log "IAM not enforced (IAM_ENFORCE=0)"
fi

log "building and starting the Lambda gateway..."
go -C "$REPO_ROOT" build -o "$work/lambda-gateway" ./lambda/cmd/lambda-gateway
setsid "$work/lambda-gateway" --upstream "$moto" --region "$AWS_REGION" >"$work/gateway.out" 2>"$work/gateway.log" &
pids+=($!)
wait_for "the Lambda gateway" grep -q '^LAMBDA_GATEWAY_URL=' "$work/gateway.out"
AWS_ENDPOINT_URL=$(sed -n 's/^LAMBDA_GATEWAY_URL=//p' "$work/gateway.out" | head -n 1)
export AWS_ENDPOINT_URL
log "Lambda gateway at $AWS_ENDPOINT_URL (AWS_ENDPOINT_URL for the command)"

log "running: $*"
status=0
"$@" || status=$?
if ((status != 0)); then
  log "the command failed (exit $status); the gateway's last lines:"
  tail -n 20 "$work/gateway.log" | sed "s/^/$LOG_PREFIX | /" >&2
fi
exit "$status"
