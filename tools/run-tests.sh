#!/bin/sh
# Installs what is missing (Debian packages), builds, and runs the whole test suite:
# the normal build, the same tests under AddressSanitizer + UndefinedBehaviorSanitizer,
# and the fuzz targets for a bounded time. This is what CI runs (.ci/run).
set -eu
cd "$(dirname "$0")/.."
sh tools/install-deps.sh --tests

# Warnings are errors here, not in a plain developer build.
setup () {
  dir=$1; shift
  if [ -f "$dir/build.ninja" ]; then
    meson setup --reconfigure "$dir" "$@"
  else
    meson setup "$dir" "$@"
  fi
}

# The GUI tests need a display and a session bus; every suite runs under both.
with_display () {
  dbus-run-session -- xvfb-run -a -s "-screen 0 1280x800x24" "$@"
}

setup build -Dwerror=true
ninja -C build
with_display meson test -C build --print-errorlogs --num-processes 2

# What `meson install` puts in place works on its own: the installed sinopia-cli paints with the
# installed model.
destdir=$PWD/build/destdir
rm -rf "$destdir"
DESTDIR=$destdir meson install -C build --quiet
cli=$(find "$destdir" -type f -name sinopia-cli | head -n 1)
model=$(find "$destdir" -type d -name sinopia-shapes | head -n 1)
"$cli" generate --model "$model" --prompt "a large red circle in the center on a blue background" \
  --steps 4 --out "$destdir/installed-generate.png"
test -s "$destdir/installed-generate.png"

# Sanitizers. Leak checking runs on every test that does not load a Vulkan driver: lavapipe
# keeps small allocations until exit and unloads its code first, so LeakSanitizer can neither
# attribute nor suppress them; the Vulkan suites run with ASan and UBSan but without LSan.
setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
with_display meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 --no-suite vulkan
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1
with_display meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 --suite vulkan

if [ -x tools/run-fuzzers.sh ]; then
  sh tools/run-fuzzers.sh
fi
