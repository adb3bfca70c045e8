#!/bin/sh
# Installs what is missing (Debian packages), builds Sinopia and starts the editor.
# Arguments go to `sinopia` (image or project files to open).
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build; else meson setup build; fi
ninja -C build
exec build/app/sinopia "$@"
