#!/bin/sh
# Writes the analyzer's test fixture, tests/data/shapes: 18 regular generator samples (seed 263: the
# first 18 cover every shape at every size, every colour as object and as background, and every
# position) and 6 held-out ones (seed 264, indices 18-23), each NNNNNN.png + NNNNNN.json
# (tools/train/shapes.py). Reproducible: the same numpy gives the same files.
set -eu
cd "$(dirname "$0")/.."
out=tests/data/shapes
rm -rf "$out"
/usr/bin/python3 tools/train/shapes.py --seed 263 --count 18 --out "$out" >/dev/null
/usr/bin/python3 tools/train/shapes.py --seed 264 --count 6 --start 18 --held-out --out "$out" >/dev/null
rm -f "$out/captions.txt"
echo "wrote $(ls "$out"/*.png | wc -l) samples to $out"
