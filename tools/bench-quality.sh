#!/bin/sh
# Runs the model benchmarks of docs/shapes-world.md: `sinopia-cli bench generate` (cold and warm
# seconds per image) and `sinopia-cli bench quality` on the evaluation sets of a training run
# (RUN/work/eval/regular.jsonl and held-out.jsonl), with the default model unless --model is given.
#
# Usage: tools/bench-quality.sh [--cli PATH] [--run DIR] [--model DIR] [--steps N] [--limit N]
#                               [--save-dir DIR]
# Defaults: --cli build/app/sinopia-cli, --run scratch/train-run, the default model (as `generate`
# finds it: $SINOPIA_MODEL, then resources/models), --steps 20, every scene. The figures go to
# stdout, progress to stderr. The exit status is the first failing command's, 2 on usage errors.
set -eu
cd "$(dirname "$0")/.."

cli=build/app/sinopia-cli
run=scratch/train-run
steps=20
model=
limit=
save_dir=
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) cli=$2; shift 2 ;;
    --run) run=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --limit) limit=$2; shift 2 ;;
    --save-dir) save_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench-quality: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ! -x "$cli" ]; then
  echo "bench-quality: $cli is not built (ninja -C build, or pass --cli)" >&2
  exit 2
fi
eval_dir=$run/work/eval
for set in regular held-out; do
  if [ ! -f "$eval_dir/$set.jsonl" ]; then
    echo "bench-quality: no $eval_dir/$set.jsonl (tools/train/train.sh writes it in its data stage)" >&2
    exit 2
  fi
done

set -- --steps "$steps"
[ -n "$model" ] && set -- "$@" --model "$model"
"$cli" bench generate "$@"
[ -n "$limit" ] && set -- "$@" --limit "$limit"
[ -n "$save_dir" ] && set -- "$@" --save-dir "$save_dir"
"$cli" bench quality "$@" --eval "$eval_dir/regular.jsonl" --eval "$eval_dir/held-out.jsonl"
