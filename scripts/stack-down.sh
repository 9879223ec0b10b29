#!/usr/bin/env bash
# Removes stack STACK_NAME: empties its bucket first (CloudFormation refuses to delete a bucket
# that holds objects), deletes the stack and waits until it is gone. A stack that does not
# exist is not an error.
#   scripts/stack-down.sh
# Env: STACK_NAME (default s3cli-test).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need aws jq
require_region

if ! err=$(aws cloudformation describe-stacks --stack-name "$STACK_NAME" 2>&1 >/dev/null); then
  [[ $err == *"does not exist"* ]] || die "reading stack $STACK_NAME: $err"
  log "stack $STACK_NAME does not exist: nothing to remove"
  exit 0
fi
start=$SECONDS
buckets=$(aws cloudformation describe-stack-resources --stack-name "$STACK_NAME" --output json |
  jq -r '.StackResources[] | select(.ResourceType == "AWS::S3::Bucket" and .ResourceStatus != "DELETE_COMPLETE") | .PhysicalResourceId // empty')
for bucket in $buckets; do
  aws s3api head-bucket --bucket "$bucket" >/dev/null 2>&1 || continue
  log "emptying bucket $bucket..."
  # Every version and delete marker (the template's bucket is not versioned, but be thorough),
  # a page of at most 1000 at a time, the most delete-objects takes.
  while :; do
    batch=$(aws s3api list-object-versions --bucket "$bucket" --max-items 1000 --output json |
      jq -c '{Objects: ([.Versions[]?, .DeleteMarkers[]?] | map({Key, VersionId})), Quiet: true}')
    [[ $(jq '.Objects | length' <<<"$batch") -gt 0 ]] || break
    aws s3api delete-objects --bucket "$bucket" --delete "$batch" >/dev/null
  done
  aws s3api list-multipart-uploads --bucket "$bucket" --output json |
    jq -r '.Uploads[]? | [.Key, .UploadId] | @tsv' |
    while IFS=$'\t' read -r key upload; do
      aws s3api abort-multipart-upload --bucket "$bucket" --key "$key" --upload-id "$upload"
    done
done
log "deleting stack $STACK_NAME..."
aws cloudformation delete-stack --stack-name "$STACK_NAME"
aws cloudformation wait stack-delete-complete --stack-name "$STACK_NAME" ||
  die "stack $STACK_NAME was not deleted: see aws cloudformation describe-stack-events --stack-name $STACK_NAME"
log "stack $STACK_NAME removed in $((SECONDS - start))s"
