#!/usr/bin/env bash
# Builds the Lambda deployment package (make package: bootstrap, integration.test, s3cli in a
# deterministic zip) and prints its path and the CodeSha256 Lambda will report for it.
#   scripts/build-package.sh            -> bin/deployment.zip
# Env: PACKAGE_ZIP (the zip make package writes; default bin/deployment.zip).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need make openssl

start=$SECONDS
log "building the package (make package)..."
make -C "$REPO_ROOT" --no-print-directory package >&2
[[ -s $PACKAGE_ZIP ]] || die "make package did not write $PACKAGE_ZIP"
log "built $PACKAGE_ZIP ($(wc -c <"$PACKAGE_ZIP") bytes) in $((SECONDS - start))s"
printf 'PACKAGE_ZIP=%s\nCODE_SHA256=%s\n' "$PACKAGE_ZIP" "$(code_sha256 "$PACKAGE_ZIP")"
