#!/bin/sh
# Trains Sinopia's embedded shapes-world model end to end, within a time budget, on the CPU.
#
#   tools/train/train.sh [--out DIR] [--budget-minutes 90] [--count N] [--seed S] [--smoke]
#
# Stages (tools/train/train.py; each resumable: run the same command again to continue after an
# interruption, finished stages are skipped):
#   data    N training images + scenes, evaluation caption sets, sentencepiece tokenizer
#   ae      autoencoder, 30% of the budget                      (fp32, OMP_WAIT_POLICY=PASSIVE)
#   cache   latents of the training images, at most 14% of it   (fp32, OMP_WAIT_POLICY=PASSIVE)
#   decoder AE decoder fine-tuned on the cached latents, 8%      (fp32, encoder frozen)
#   dit     text encoders + FLUX transformer, the rest minus a reserve for export (bf16 autocast)
#   export  OUT/model: transformer.safetensors, ae.safetensors, text_encoder{,_2}/, tokenizer{,_2}/,
#           sinopia-model.json; then OUT/loss.png and OUT/samples.png (16 fixed prompts, 4 held-out)
# Work files (images, latents, checkpoints, logs) go to OUT/work. --smoke: a tiny end-to-end check
# (256 images, 3-minute budget unless given, 4-step sample grid), default OUT /tmp/sinopia-train-smoke.
# Needs Debian's python3-torch, python3-numpy, python3-sentencepiece and libopenblas0 (see
# ../shared/docs/machine-feasibility.md §4: without OpenBLAS, training is 10-30x slower).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
py=/usr/bin/python3
out=""
budget=""
count=""
seed=""
smoke=0
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --out=*) out=${1#--out=}; shift ;;
    --budget-minutes) budget=$2; shift 2 ;;
    --budget-minutes=*) budget=${1#--budget-minutes=}; shift ;;
    --count) count=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --smoke) smoke=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "train.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
if [ $smoke = 1 ]; then
  : "${out:=/tmp/sinopia-train-smoke}" "${budget:=3}" "${count:=256}"
  grid_steps=4
  ckpt=0.25
else
  : "${out:=$repo/scratch/train-run}" "${budget:=90}"
  grid_steps=20
  ckpt=3
fi
: "${count:=$(echo "$budget" | awk '{n = int($1 * 270); print (n < 256 ? 256 : n)}')}"
work=$out/work
mkdir -p "$work/wall"
export SINOPIA_TRAIN_THREADS=2

# Wall-clock seconds spent in each stage, summed over runs (so a resumed run keeps its budget).
wall() { cat "$work/wall/$1" 2>/dev/null || echo 0; }
run_stage() {  # run_stage NAME ENV... -- ARGS...
  name=$1; shift
  t0=$(date +%s)
  set +e
  env "$@"
  rc=$?
  set -e
  t1=$(date +%s)
  echo $(( $(wall "$name") + t1 - t0 )) > "$work/wall/$name"
  if [ $rc -ne 0 ]; then
    echo "train.sh: stage $name failed (exit $rc); run the same command again to resume" >&2
    exit $rc
  fi
}
mins() { echo "$1" | awk -v f="$2" '{printf "%.3f", $1 * f}'; }

echo "train.sh: out $out, budget $budget min, $count images$( [ $smoke = 1 ] && echo ', smoke run')"
# The budgets assume an idle machine: two busy torch threads slow down many-fold when other processes
# compete for the cores.
awk '$1 > 1.0 { printf "train.sh: warning: load average %s; the stages get less done in their time\n", $1 }' /proc/loadavg >&2
start=$(date +%s)
seed_arg=""
[ -n "$seed" ] && seed_arg="--seed $seed"
# shellcheck disable=SC2086
run_stage data OMP_WAIT_POLICY=PASSIVE $py "$here/train.py" data --work "$work" --count "$count" $seed_arg
run_stage ae OMP_WAIT_POLICY=PASSIVE $py "$here/train.py" ae --work "$work" \
  --minutes "$(mins "$budget" 0.30)" --ckpt-minutes $ckpt
run_stage cache OMP_WAIT_POLICY=PASSIVE $py "$here/train.py" cache --work "$work" \
  --minutes "$(mins "$budget" 0.14)"
run_stage decoder OMP_WAIT_POLICY=PASSIVE $py "$here/train.py" decoder --work "$work" \
  --minutes "$(mins "$budget" 0.08)" --ckpt-minutes $ckpt
# The transformer gets what is left: budget - wall time of the other stages - a reserve for export,
# samples and process start-up (3%, at least 0.5 and at most 2.5 minutes).
used=$(( $(wall data) + $(wall ae) + $(wall cache) + $(wall decoder) ))
dit_min=$(echo "$budget $used" | awk '{r = $1 * 0.03; if (r < 0.5) r = 0.5; if (r > 2.5) r = 2.5;
  m = $1 - $2 / 60 - r; if (m < 0.2) m = 0.2; printf "%.3f", m}')
echo "train.sh: transformer budget $dit_min min"
run_stage dit PATH="$PATH" $py "$here/train.py" dit --work "$work" --minutes "$dit_min" --ckpt-minutes $ckpt
run_stage export OMP_WAIT_POLICY=PASSIVE $py "$here/train.py" export --work "$work" --out "$out/model"
$py "$here/plot.py" --work "$work" --out "$out/loss.png"
OMP_WAIT_POLICY=PASSIVE $py "$here/sample.py" --model "$out/model" --grid --steps $grid_steps --out "$out/samples.png"
end=$(date +%s)
echo "train.sh: done in $(( (end - start) / 60 )) min $(( (end - start) % 60 )) s (this run);" \
  "stage wall seconds: data $(wall data), ae $(wall ae), cache $(wall cache), decoder $(wall decoder)," \
  "dit $(wall dit), export $(wall export)"
echo "train.sh: model in $out/model, loss curve $out/loss.png, samples $out/samples.png"
