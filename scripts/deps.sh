#!/usr/bin/env bash
# Installs what drsae needs on Debian/Ubuntu, skipping what is already there:
# the OpenGL/EGL client libraries and Mesa's software driver (llvmpipe runs the compute shaders
# on the CPU where there is no GPU), the X11 headers that go-gl/glfw compiles against, Xvfb for
# the GLFW tests, and the Go modules (which carry the MNIST files).
set -euo pipefail

pkgs=(gcc pkg-config libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
      libgl-dev libegl-dev libgl1-mesa-dri libegl-mesa0 xvfb xauth)

# apt_wait runs an apt-get command, waiting up to 15 minutes while another install holds the
# package manager's lock (a fresh machine often runs its own updates at first boot).
apt_wait() {
  local out i
  for i in $(seq 90); do
    if out=$("$@" -o DPkg::Lock::Timeout=10 2>&1); then return 0; fi
    if ! grep -qiE 'could not get lock|unable to acquire|is another process using it' <<<"$out"; then
      echo "$out" >&2; return 1
    fi
    [ "$i" = 1 ] && echo "deps: another install holds the package manager's lock; waiting for it (up to 15 min)" >&2
    sleep 10
  done
  echo "$out" >&2; return 1
}

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}"
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then sudo="sudo"; else
      echo "deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
    fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt_wait $sudo apt-get update -qq
  apt_wait $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! command -v go >/dev/null; then
  echo "deps: the go command is missing; install Go 1.26 or newer (https://go.dev/dl) and add it to PATH" >&2
  exit 1
fi
go mod download
