#!/usr/bin/env bash
# Makes a Docker engine and the debian:bookworm-slim base image available for albemu's images.
#
#   eval "$(scripts/docker-engine.sh start)"   # prints `export DOCKER_HOST=...` lines
#   ...docker / docker-compose commands...
#   scripts/docker-engine.sh stop              # stops the engine that `start` started, if any
#
# start:
#   - installs docker.io and docker-compose (and debootstrap) from Debian if they are missing;
#   - uses the engine that DOCKER_HOST (or the default socket) reaches; when none answers, starts
#     a private dockerd whose --data-root, --exec-root and --host socket live in a new temporary
#     folder, and exports ALBEMU_DOCKERD_DIR so that `stop` can find it;
#   - when the engine has no debian:bookworm-slim, pulls it, and where no registry is reachable
#     builds it with `debootstrap --variant=minbase bookworm` + `docker import`. The root file
#     system tarball is cached in .cache/docker/ (git-ignored) for the next run.
# stop: stops the private dockerd named by ALBEMU_DOCKERD_DIR and removes its folder.
# Needs root (or sudo) for the installs and the private engine.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
base_image=debian:bookworm-slim
base_tarball="${root}/.cache/docker/debian-bookworm-slim.tar"
mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"

log() { echo "docker-engine: $*" >&2; }

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

start_private_engine() {
  local dir
  dir="$(mktemp -d "${TMPDIR:-/tmp}/albemu-docker.XXXXXX")"
  log "no Docker engine answers; starting a private dockerd in ${dir}"
  $SUDO setsid dockerd --data-root "${dir}/data" --exec-root "${dir}/exec" \
    --host "unix://${dir}/docker.sock" --pidfile "${dir}/dockerd.pid" \
    >"${dir}/dockerd.log" 2>&1 &
  export DOCKER_HOST="unix://${dir}/docker.sock"
  export ALBEMU_DOCKERD_DIR="${dir}"
  local deadline=$((SECONDS + 60))
  until engine_answers; do
    if ((SECONDS > deadline)) || ! kill -0 $! 2>/dev/null; then
      log "dockerd did not start; its log:"
      tail -20 "${dir}/dockerd.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

# A minimal bookworm root file system as an image, for machines that cannot pull one.
build_base_image() {
  if [ ! -s "${base_tarball}" ]; then
    "${root}/scripts/install-deps.sh" debootstrap >&2
    local rootfs
    rootfs="$(mktemp -d "${TMPDIR:-/tmp}/albemu-rootfs.XXXXXX")"
    log "building ${base_image} with debootstrap from ${mirror}"
    $SUDO debootstrap --variant=minbase bookworm "${rootfs}" "${mirror}" >&2
    # What the official slim image also leaves out: package caches, lists, docs and man pages.
    $SUDO rm -rf "${rootfs}"/var/cache/apt/archives/*.deb "${rootfs}"/var/cache/apt/*.bin \
      "${rootfs}"/var/lib/apt/lists/* \
      "${rootfs}"/usr/share/doc/* "${rootfs}"/usr/share/man/* "${rootfs}"/usr/share/info/*
    mkdir -p "$(dirname "${base_tarball}")"
    $SUDO tar -C "${rootfs}" -cf "${base_tarball}.tmp" .
    mv "${base_tarball}.tmp" "${base_tarball}"
    $SUDO rm -rf "${rootfs}"
  fi
  log "importing ${base_tarball} as ${base_image}"
  docker import "${base_tarball}" "${base_image}" >/dev/null
}

start() {
  "${root}/scripts/install-deps.sh" docker.io docker-compose >&2
  engine_answers || start_private_engine
  if ! docker image inspect "${base_image}" >/dev/null 2>&1; then
    if ! timeout 300 docker pull -q "${base_image}" >/dev/null 2>&1; then
      log "cannot pull ${base_image} (no registry reachable?); building it locally"
      build_base_image
    fi
  fi
  echo "export DOCKER_HOST=${DOCKER_HOST:-unix:///var/run/docker.sock}"
  [ -n "${ALBEMU_DOCKERD_DIR:-}" ] && echo "export ALBEMU_DOCKERD_DIR=${ALBEMU_DOCKERD_DIR}"
  return 0
}

stop() {
  local dir="${ALBEMU_DOCKERD_DIR:-}"
  [ -n "${dir}" ] && [ -f "${dir}/dockerd.pid" ] || return 0
  local pid
  pid="$(cat "${dir}/dockerd.pid")"
  $SUDO kill "${pid}" 2>/dev/null || true
  # dockerd stops its containers and containerd, then exits; give it 30 s before forcing.
  local deadline=$((SECONDS + 30))
  while $SUDO kill -0 "${pid}" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
  $SUDO kill -0 "${pid}" 2>/dev/null && $SUDO kill -9 "${pid}" 2>/dev/null
  # Overlay mounts of containers that were still up would keep the folder busy.
  grep -o " ${dir}/[^ ]*" /proc/mounts | sort -r | xargs -r $SUDO umount -l 2>/dev/null || true
  $SUDO rm -rf "${dir}"
  log "stopped the private dockerd in ${dir}"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
