#!/bin/sh
# Installs every Debian 12 package Sinopia needs to build, test and run.
# Usage: tools/install-deps.sh [--tests]   (as root; --tests adds what CI needs)
set -eu
build="meson ninja-build pkg-config gcc glslang-tools spirv-tools
  libglib2.0-dev libvulkan-dev mesa-vulkan-drivers vulkan-tools
  libopenblas-dev libpng-dev libjpeg-dev libgtk-4-dev libadwaita-1-dev
  desktop-file-utils appstream"
tests="clang libclang-rt-14-dev vulkan-validationlayers xvfb xauth dbus
  python3-torch python3-numpy python3-sentencepiece libopenblas0"
want="$build"
[ "${1:-}" = "--tests" ] && want="$build $tests"
missing=""
for p in $want; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "missing Debian packages:$missing (run this script as root)" >&2
    exit 1
  fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi
