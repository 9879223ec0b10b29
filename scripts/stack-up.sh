#!/usr/bin/env bash
# Deploys scripts/template.yaml as stack STACK_NAME (creates it, or updates it), waits until it
# is complete, and prints its outputs as KEY=VALUE lines (BucketName, IamRoleArn, and
# CIRoleArn when GITHUB_REPOSITORY is set).
#   scripts/stack-up.sh
# Env: STACK_NAME (default s3cli-test); template parameters:
#      S3CLI_RUN_ID -> RunId (a per-run stack: its resources and the stack get the run's tag),
#      GITHUB_REPOSITORY (OWNER/REPO) -> the CI role GitHub Actions assumes through OIDC,
#      CREATE_OIDC_PROVIDER (true/false, default true) -> also create GitHub's OIDC provider,
#      REHEARSAL_PRINCIPAL_ARN -> rehearsals on moto only (see the template).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need aws jq
require_region

template="$REPO_ROOT/scripts/template.yaml"
params=(
  "ParameterKey=RunId,ParameterValue=${S3CLI_RUN_ID:-}"
  "ParameterKey=GitHubRepository,ParameterValue=${GITHUB_REPOSITORY:-}"
  "ParameterKey=CreateGitHubOIDCProvider,ParameterValue=${CREATE_OIDC_PROVIDER:-true}"
  "ParameterKey=RehearsalPrincipalArn,ParameterValue=${REHEARSAL_PRINCIPAL_ARN:-}"
)
tags=()
if [[ -n ${S3CLI_RUN_ID:-} ]]; then tags=(--tags "Key=$TAG_KEY,Value=$S3CLI_RUN_ID"); fi

errfile=$(mktemp)
trap 'rm -f "$errfile"' EXIT
start=$SECONDS
if status=$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" --query 'Stacks[0].StackStatus' --output text 2>"$errfile"); then
  case $status in
    ROLLBACK_COMPLETE | ROLLBACK_FAILED | DELETE_FAILED)
      die "stack $STACK_NAME is $status and cannot be updated: remove it with scripts/stack-down.sh, then run this again" ;;
    *_IN_PROGRESS)
      die "stack $STACK_NAME is $status: wait for it to finish, then run this again" ;;
  esac
  log "updating stack $STACK_NAME ($status)..."
  # "No updates are to be performed" is a ValidationError the CLI only tells apart by its text.
  if ! out=$(aws cloudformation update-stack --stack-name "$STACK_NAME" --template-body "file://$template" \
    --capabilities CAPABILITY_IAM --parameters "${params[@]}" "${tags[@]}" 2>&1); then
    [[ $out == *"No updates are to be performed"* ]] || die "updating stack $STACK_NAME: $out"
    log "stack $STACK_NAME is up to date"
  else
    aws cloudformation wait stack-update-complete --stack-name "$STACK_NAME" ||
      die "stack $STACK_NAME did not update: see aws cloudformation describe-stack-events --stack-name $STACK_NAME"
  fi
else
  [[ $(<"$errfile") == *"does not exist"* ]] || die "reading stack $STACK_NAME: $(<"$errfile")"
  log "creating stack $STACK_NAME..."
  aws cloudformation create-stack --stack-name "$STACK_NAME" --template-body "file://$template" \
    --capabilities CAPABILITY_IAM --parameters "${params[@]}" "${tags[@]}" >/dev/null
  if ! aws cloudformation wait stack-create-complete --stack-name "$STACK_NAME"; then
    aws cloudformation describe-stack-events --stack-name "$STACK_NAME" --output json |
      jq -r '.StackEvents[] | select(.ResourceStatus | endswith("FAILED")) | "\(.LogicalResourceId): \(.ResourceStatusReason)"' >&2 || true
    die "stack $STACK_NAME was not created (reasons above); remove it with scripts/stack-down.sh"
  fi
fi
log "stack $STACK_NAME ready in $((SECONDS - start))s"
aws cloudformation describe-stacks --stack-name "$STACK_NAME" --output json |
  jq -r '.Stacks[0].Outputs // [] | .[] | "\(.OutputKey)=\(.OutputValue)"'
