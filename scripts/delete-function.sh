#!/usr/bin/env bash
# Removes the test-runner function and its log group. Either not existing is not an error.
#   scripts/delete-function.sh
# Env: FUNCTION_NAME (default s3cli-test-runner).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need aws
require_region

if out=$(aws lambda delete-function --function-name "$FUNCTION_NAME" 2>&1); then
  log "deleted function $FUNCTION_NAME"
elif [[ $out == *"(ResourceNotFoundException)"* ]]; then
  log "function $FUNCTION_NAME does not exist"
else
  die "deleting function $FUNCTION_NAME: $out"
fi
group="/aws/lambda/$FUNCTION_NAME"
if out=$(aws logs delete-log-group --log-group-name "$group" 2>&1); then
  log "deleted log group $group"
elif [[ $out == *"(ResourceNotFoundException)"* ]]; then
  log "log group $group does not exist"
else
  die "deleting log group $group: $out"
fi
