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

setup build -Dwerror=true
ninja -C build
meson test -C build --print-errorlogs --num-processes 2

# Sanitizers. Leak checking runs on every test that does not load a Vulkan driver: lavapipe
# keeps small allocations until exit and unloads its code first, so LeakSanitizer can neither
# attribute nor suppress them; the Vulkan suites run with ASan and UBSan but without LSan.
setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
ninja -C build-asan
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 --no-suite vulkan
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  meson test -C build-asan --print-errorlogs --num-processes 2 --timeout-multiplier 3 --suite vulkan

if [ -x tools/run-fuzzers.sh ]; then
  sh tools/run-fuzzers.sh
fi
