#!/usr/bin/env bash
# Builds the moto server image offline, from Debian packages only (no container registry):
# debootstrap a minimal Debian root with python3-moto, import it as an image whose entrypoint
# is `moto_server -H 0.0.0.0 -p 5000`, and check that a container of it answers.
# Skipped when the image exists. Needs root (debootstrap), debootstrap and a running Docker.
#
#   MOTO_IMAGE     image to build (default s3cli/moto:trixie, what TARGET=moto looks for)
#   DEBIAN_SUITE   Debian release to bootstrap (default trixie)
#   MIRROR         Debian mirror (default: the URIs: line of this system's apt sources)
#   FORCE=1        rebuild even when the image exists
set -euo pipefail

IMAGE=${MOTO_IMAGE:-s3cli/moto:trixie}
SUITE=${DEBIAN_SUITE:-trixie}
# python3-openapi-spec-validator: moto's CloudFormation imports its API Gateway models, which
# need it; without it every CloudFormation call answers 500.
PACKAGES=python3-moto,python3-flask-cors,python3-cffi-backend,python3-openapi-spec-validator
# RECIPE names this recipe; an image built by an older one is rebuilt.
RECIPE=2

log() { printf '[images] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# apt_mirror prints the Debian mirror apt uses: the first URIs: line (deb822 sources) or the
# first `deb` line (sources.list) that is not the security archive.
apt_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f ]] || continue
    uri=$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")
    if [[ -n $uri ]]; then echo "$uri"; return; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    uri=$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' "$f")
    if [[ -n $uri ]]; then echo "$uri"; return; fi
  done
  echo "http://deb.debian.org/debian"
}

command -v docker >/dev/null || die "docker is not installed (make setup installs it)"
docker info >/dev/null 2>&1 || die "the Docker Engine does not answer (make setup starts dockerd)"

# --is-current: exit 0 when the image exists and was built by this recipe, 1 otherwise.
if [[ ${1:-} == --is-current ]]; then
  [[ $(docker image inspect -f '{{index .Config.Labels "dev.s3cli.moto-recipe"}}' "$IMAGE" 2>/dev/null) == "$RECIPE" ]]
  exit
fi

if [[ ${FORCE:-0} != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  have=$(docker image inspect -f '{{index .Config.Labels "dev.s3cli.moto-recipe"}}' "$IMAGE" 2>/dev/null || true)
  if [[ $have == "$RECIPE" ]]; then
    log "$IMAGE already exists: skipped (FORCE=1 rebuilds it)"
    exit 0
  fi
  log "$IMAGE was built by an older recipe (${have:-none}, now $RECIPE): rebuilding"
fi

command -v debootstrap >/dev/null || die "debootstrap is not installed (make setup, or apt-get install debootstrap)"
[[ $(id -u) -eq 0 ]] || die "debootstrap needs root: run as root or with sudo"

MIRROR=${MIRROR:-$(apt_mirror)}
rootfs=$(mktemp -d /tmp/s3cli-moto-rootfs.XXXXXX)
container=""
# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
  if [[ -n $container ]]; then docker rm -f "$container" >/dev/null 2>&1 || true; fi
  rm -rf "$rootfs"
}
trap cleanup EXIT

start=$SECONDS
log "debootstrap $SUITE from $MIRROR with $PACKAGES (log: $rootfs.log)..."
if ! debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1; then
  tail -n 20 "$rootfs.log" >&2
  die "debootstrap failed; full log: $rootfs.log"
fi
rm -f "$rootfs.log"
log "root file system ready in $((SECONDS - start))s"

[[ -x $rootfs/usr/bin/moto_server ]] || die "/usr/bin/moto_server is missing from the $SUITE root file system"
# shellcheck disable=SC2016 # ${Version} is dpkg-query's field, not a shell variable
version=$(chroot "$rootfs" dpkg-query -W -f='${Version}' python3-moto)
log "python3-moto $version"

# Shrink the image: package caches and lists are not needed at run time.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*

step=$SECONDS
tar -C "$rootfs" -c . | docker import \
  -c 'ENTRYPOINT ["/usr/bin/moto_server","-H","0.0.0.0","-p","5000"]' \
  -c 'EXPOSE 5000' \
  -c 'ENV PYTHONUNBUFFERED=1' \
  -c "LABEL dev.s3cli.moto-recipe=$RECIPE" \
  -m "moto server (python3-moto $version) from Debian $SUITE packages" \
  - "$IMAGE" >/dev/null
log "imported as $IMAGE in $((SECONDS - step))s"

# Prove the image serves: start it, wait for moto's control API, remove it.
step=$SECONDS
container=$(docker run -d --rm -p 127.0.0.1::5000 "$IMAGE")
port=$(docker port "$container" 5000/tcp | head -n 1 | sed 's/.*://')
for _ in $(seq 1 60); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/data.json" 2>/dev/null; then
    log "a container of $IMAGE answered in $((SECONDS - step))s"
    # Every service the suite uses must load, CloudFormation (the leftover check lists stacks) too.
    if ! curl -fsS -o /dev/null -X POST -d 'Action=ListStacks&Version=2010-05-15' \
      -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/cloudformation/aws4_request, SignedHeaders=host, Signature=0' \
      "http://127.0.0.1:$port/"; then
      docker logs "$container" 2>&1 | tail -n 20 >&2
      docker image rm -f "$IMAGE" >/dev/null 2>&1 || true
      die "CloudFormation in $IMAGE does not answer ListStacks (a Python module missing?)"
    fi
    log "done in $((SECONDS - start))s"
    exit 0
  fi
  sleep 0.5
done
docker logs "$container" 2>&1 | tail -n 20 >&2
die "a container of $IMAGE did not answer on port 5000 within 30s"
