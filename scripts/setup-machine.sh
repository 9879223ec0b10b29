#!/usr/bin/env bash
# Sets a Debian machine up for the suite. Two modes:
#
#   setup-machine.sh              (make setup) everything: Docker Engine (started in the
#                                 background when it is not running), debootstrap for the
#                                 offline moto image, shellcheck, bats, zip, jq, the Go modules.
#                                 Idempotent; needs root (or sudo); fails when it cannot.
#   setup-machine.sh --for TARGET (make test-local and make test, before the suite) only what
#                                 TARGET needs and is missing: the Go modules; for auto, moto and
#                                 localstack the Docker Engine from Debian and a running dockerd;
#                                 for auto and moto the moto image (scripts/build-moto-image.sh,
#                                 about 90 s once). Says what it does and how long it took, and
#                                 where it cannot (no root or sudo, not Debian) says so and goes
#                                 on: TARGET=auto then falls back as it always does.
#
# Reads: MOTO_IMAGE (default s3cli/moto:trixie), GO (default go).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }
go=${GO:-go}
image=${MOTO_IMAGE:-s3cli/moto:trixie}
mode=all target=""
if [[ ${1:-} == --for ]]; then
  mode=for target=${2:-auto}
fi

SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
# can_install: root (or passwordless sudo) on a Debian machine with apt-get.
can_install() {
  [[ -f /etc/debian_version ]] && command -v apt-get >/dev/null || return 1
  [[ -z $SUDO ]] || sudo -n true 2>/dev/null
}
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
install_packages() {
  local start=$SECONDS
  log "installing $* from Debian..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  log "installed $* in $((SECONDS - start))s"
}
docker_answers() { docker info >/dev/null 2>&1; }
# A dockerd that was just stopped leaves its pid file until it has exited, and one that was
# killed leaves it for good; either makes a new dockerd refuse to start ("pid file found").
clear_docker_pidfile() {
  local pidfile=/var/run/docker.pid old
  [[ -f $pidfile ]] || return 0
  old=$(cat "$pidfile" 2>/dev/null || true)
  if [[ $old =~ ^[0-9]+$ && -d /proc/$old && $(cat "/proc/$old/comm" 2>/dev/null) == dockerd ]]; then
    log "a dockerd (pid $old) is still shutting down; waiting up to 30s for it to exit..."
    for _ in $(seq 1 60); do
      [[ -d /proc/$old ]] || break
      sleep 0.5
    done
    if [[ -d /proc/$old ]]; then
      log "dockerd (pid $old) neither answers nor exits; stop it (kill $old) and run this again"
      return 1
    fi
  fi
  if [[ -f $pidfile ]]; then
    log "removing $pidfile: the dockerd it names is gone"
    $SUDO rm -f "$pidfile"
  fi
}
start_dockerd() {
  local start=$SECONDS
  clear_docker_pidfile || return 1
  log "starting dockerd in the background (log: /tmp/s3cli-dockerd.log)..."
  $SUDO setsid nohup dockerd >/tmp/s3cli-dockerd.log 2>&1 </dev/null &
  local pid=$!
  for _ in $(seq 1 120); do
    if docker_answers; then
      log "dockerd ready in $((SECONDS - start))s (it keeps running; stop it with: kill \$(cat /var/run/docker.pid))"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "dockerd exited at once; see /tmp/s3cli-dockerd.log"
      tail -n 20 /tmp/s3cli-dockerd.log >&2 || true
      return 1
    fi
    sleep 0.5
  done
  log "dockerd did not answer within 60s; see /tmp/s3cli-dockerd.log"
  tail -n 20 /tmp/s3cli-dockerd.log >&2 || true
  return 1
}
go_modules() {
  local start=$SECONDS
  "$go" mod download
  if ((SECONDS - start >= 1)) || [[ $mode == all ]]; then
    log "Go modules ready in $((SECONDS - start))s"
  fi
}

if [[ $mode == all ]]; then
  packages=(docker.io debootstrap shellcheck bats zip jq)
  missing=()
  for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
  if ((${#missing[@]})); then
    install_packages "${missing[@]}"
  else
    log "packages already installed: ${packages[*]}"
  fi
  if docker_answers; then log "Docker Engine answers"; else start_dockerd; fi
  if ! command -v moto_server >/dev/null 2>&1; then
    log "note: moto_server is not on PATH; TARGET=moto-process needs it (pip install 'moto[server]')"
  fi
  go_modules
  exit 0
fi

# --for TARGET: never fails; what cannot be set up is said, and the target's own check decides.
go_modules || log "downloading the Go modules failed; the build will say why"
case $target in
auto | moto | localstack) ;;
*) exit 0 ;;
esac
fallback="the $target target will say what is missing"
[[ $target == auto ]] && fallback="TARGET=auto falls back to moto-process (moto_server on PATH)"

# The engine, not the client: some machine images ship the docker CLI without dockerd.
if ! command -v dockerd >/dev/null 2>&1; then
  if can_install; then
    install_packages docker.io
  else
    log "Docker Engine is not installed and cannot be here (needs Debian and root or sudo): $fallback"
    exit 0
  fi
fi
if ! docker_answers; then
  if [[ -n $SUDO ]] && ! sudo -n true 2>/dev/null; then
    log "the Docker Engine does not answer and dockerd cannot be started without root or sudo: $fallback"
    exit 0
  fi
  start_dockerd || {
    log "$fallback"
    exit 0
  }
fi

case $target in
auto | moto) ;;
*) exit 0 ;;
esac
if MOTO_IMAGE="$image" scripts/build-moto-image.sh --is-current; then exit 0; fi
if ! command -v debootstrap >/dev/null 2>&1; then
  if can_install; then
    install_packages debootstrap
  else
    log "the moto image $image is missing and debootstrap cannot be installed here: $fallback"
    exit 0
  fi
fi
if [[ -n $SUDO ]] && ! sudo -n true 2>/dev/null; then
  log "the moto image $image is missing; building it needs root: sudo make images ($fallback)"
  exit 0
fi
start=$SECONDS
log "the moto image $image is missing or out of date: building it offline from Debian packages (once, about 90 s)..."
if $SUDO env MOTO_IMAGE="$image" scripts/build-moto-image.sh; then
  log "moto image $image built in $((SECONDS - start))s"
else
  log "building the moto image failed after $((SECONDS - start))s: $fallback"
fi
