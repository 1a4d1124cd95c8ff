#!/usr/bin/env bash
# Installs what drsae needs on Debian/Ubuntu, skipping what is already there:
# the OpenGL/EGL client libraries and Mesa's software driver (llvmpipe runs the compute shaders
# on the CPU where there is no GPU), the X11 headers that go-gl/glfw compiles against, Xvfb for
# the GLFW tests, and the Go modules (which carry the MNIST files).
set -euo pipefail

pkgs=(gcc pkg-config libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
      libgl-dev libegl-dev libgl1-mesa-dri libegl-mesa0 xvfb xauth)

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
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null; then
  echo "deps: the go command is missing; install Go 1.26 or newer (https://go.dev/dl) and add it to PATH" >&2
  exit 1
fi
go mod download
