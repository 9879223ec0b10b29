#!/usr/bin/env bash
# Sets a fresh Debian machine up for the local suite: Docker Engine (started in the
# background when it is not running), debootstrap for the offline moto image, shellcheck
# and bats for the scripts, and the Go modules. Idempotent; needs root (or sudo).
set -euo pipefail

log() { printf '[setup] %s\n' "$*" >&2; }
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

packages=(docker.io debootstrap shellcheck bats zip jq)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  start=$SECONDS
  log "installing ${missing[*]} from Debian..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "packages installed in $((SECONDS - start))s"
else
  log "packages already installed: ${packages[*]}"
fi

if docker info >/dev/null 2>&1; then
  log "Docker Engine answers"
else
  start=$SECONDS
  log "starting dockerd in the background (log: /tmp/s3cli-dockerd.log)..."
  $SUDO setsid nohup dockerd >/tmp/s3cli-dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    log "dockerd did not answer within 60s; see /tmp/s3cli-dockerd.log"
    tail -n 20 /tmp/s3cli-dockerd.log >&2 || true
    exit 1
  fi
  log "dockerd ready in $((SECONDS - start))s"
fi

if ! command -v moto_server >/dev/null 2>&1; then
  log "note: moto_server is not on PATH; TARGET=moto-process needs it (pip install 'moto[server]')"
fi

start=$SECONDS
go mod download
log "Go modules ready in $((SECONDS - start))s"
