#!/usr/bin/env bash
# Pulls the images the container targets use, for machines that can reach Docker Hub and
# public.ecr.aws: LocalStack (the last tag that starts without an auth token), moto, and the
# Lambda runtime image LocalStack starts functions in. Offline machines use `make images`
# (scripts/build-moto-image.sh) instead.
#
#   LOCALSTACK_IMAGE  default localstack/localstack:4.14.0
#   MOTO_RELEASE_IMAGE default motoserver/moto:5.1.1 (TARGET=moto uses it when s3cli/moto:trixie is missing)
set -euo pipefail

images=(
  "${LOCALSTACK_IMAGE:-localstack/localstack:4.14.0}"
  "${MOTO_RELEASE_IMAGE:-motoserver/moto:5.1.1}"
  public.ecr.aws/lambda/provided:al2023
)

log() { printf '[pull] %s\n' "$*" >&2; }

command -v docker >/dev/null || { log "error: docker is not installed (make setup installs it)"; exit 1; }
docker info >/dev/null 2>&1 || { log "error: the Docker Engine does not answer (make setup starts dockerd)"; exit 1; }

failed=()
for image in "${images[@]}"; do
  start=$SECONDS
  if docker image inspect "$image" >/dev/null 2>&1; then
    log "$image already present"
    continue
  fi
  log "pulling $image..."
  if out=$(docker pull "$image" 2>&1); then
    log "$image pulled in $((SECONDS - start))s"
  else
    log "could not pull $image: $(tail -n 1 <<<"$out")"
    failed+=("$image")
  fi
done

if ((${#failed[@]})); then
  log "error: ${#failed[@]} image(s) could not be pulled: ${failed[*]}"
  log "no container registry reachable? Build the moto image offline with \`make images\` and run TARGET=moto (or TARGET=moto-process without Docker)."
  exit 1
fi
log "all images present"
