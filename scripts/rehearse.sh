#!/usr/bin/env bash
# Runs a command in a rehearsal of the aws mode, without an AWS account: the suite's own
# moto-process target (moto_server with an admin user, IAM and SigV4 enforced unless
# S3CLI_IAM_ENFORCE=0) behind the Lambda gateway, with AWS_ENDPOINT_URL, AWS_REGION and the
# admin's key exported for the command (fixtures/cmd/rehearse). Everything it started is
# stopped when the command ends, however it ends.
#   scripts/rehearse.sh CMD [ARG...]
#   scripts/rehearse.sh env S3CLI_AWS_TESTS=1 make test-aws
#   INVOKE=1 scripts/rehearse.sh scripts/test-scripts.sh
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
LOG_PREFIX="[rehearse REHEARSAL]"
need moto_server go
(($# > 0)) || die "usage: scripts/rehearse.sh CMD [ARG...]"

log "building fixtures/cmd/rehearse..."
go -C "$REPO_ROOT" build -o bin/rehearse ./fixtures/cmd/rehearse
exec "$REPO_ROOT/bin/rehearse" "$@"
