#!/bin/sh
# Trains the transformer on a GPU machine with tools/train/accelerated.py and packs the model folder
# for the trip back (the device tool returns at most 8 files of 16 MiB each).
#
#   tools/train/accelerated.sh OUTDIR [MINUTES [accelerated.py options...]]
#
# MINUTES of training (default 7), cut so that the whole run ends within SINOPIA_WALL_MINUTES
# (default 9.3: one ten-minute device call, run with timeout_s 600). Writes OUTDIR/log.txt, loss.csv, run.json and the model folder as
# OUTDIR/model.tar.part-aa, -ab, ... (15 MB each). Back here:
#   mkdir -p DEST && cat OUTDIR/model.tar.part-* | tar -x -C DEST    # DEST/sinopia-shapes/
# Uses `python3` (set PYTHON to override), which must have torch with CUDA, numpy and sentencepiece.
set -eu
cd "$(dirname "$0")/../.."
if [ $# -lt 1 ]; then
  sed -n '5p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
out=$1
shift
minutes=7
if [ $# -gt 0 ]; then
  minutes=$1
  shift
fi
work=${TMPDIR:-/tmp}/sinopia-accelerated
rm -rf "$work"
mkdir -p "$work" "$out"
{
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>&1 || true
  set +e
  PYTHONUNBUFFERED=1 "${PYTHON:-python3}" tools/train/accelerated.py --work "$work/work" \
    --out "$work/sinopia-shapes" --minutes "$minutes" --wall-minutes "${SINOPIA_WALL_MINUTES:-9.3}" "$@" 2>&1
  echo $? > "$work/rc"
} | tee "$out/log.txt"
rc=$(cat "$work/rc")
for f in loss.csv run.json; do
  [ -f "$work/work/$f" ] && cp "$work/work/$f" "$out/"
done
if [ "$rc" -ne 0 ]; then
  echo "accelerated.sh: training failed (exit $rc); see $out/log.txt" >&2
  exit "$rc"
fi
tar -C "$work" -cf - sinopia-shapes | split -b 15000000 - "$out/model.tar.part-"
ls -l "$out"
