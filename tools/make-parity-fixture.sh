#!/bin/sh
# Writes tests/data/shipped-parity.safetensors: one run of the PyTorch sampler (tools/train/sample.py,
# float32) on the shipped model — token ids, text encodings, initial noise, timesteps, final latent
# and image, with the prompt and settings in its metadata. tests/test-shipped-model.c runs the C
# engine from the same noise and compares. Rerun after the shipped weights change.
set -eu
cd "$(dirname "$0")/.."
model=resources/models/sinopia-shapes
out=tests/data/shipped-parity.safetensors
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 tools/train/sample.py --model "$model" \
  --prompt "a large red circle at the top left and a small blue star in the center on a yellow background" \
  --negative "" --seed 7 --steps 20 --guidance 4 --dump "$out" --out "$tmp/image.png"
echo "wrote $out ($(wc -c < "$out") bytes)"
