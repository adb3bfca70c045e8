#!/bin/sh
# Checks the shapes-world analyzer (`sinopia-cli analyze`) on images of the generator itself, where
# the truth is known: background colour, object colour + position and object shape accuracy, for
# a regular set and a held-out set (each of its scenes holds a purple triangle, orange ring or cyan
# star), reported separately, with every miss listed.
#
# Usage: tools/analyze-generator.sh [--cli PATH] [--count N] [--seed S] [--held-out-seed S]
#                                   [--out DIR] [--min FRACTION] [--ae MODEL_DIR]
# Defaults: --cli build/app/sinopia-cli, --count 1000, --seed 123, --held-out-seed 456,
# --out /tmp/sinopia-analyze-generator, --min 0.99. --ae MODEL_DIR first sends every image through
# that model's autoencoder (tools/train/ae_roundtrip.py): the ceiling of what the model's images can
# score. The exit status is 1 when any accuracy is below --min, 2 on usage errors.
set -eu
cd "$(dirname "$0")/.."

cli=build/app/sinopia-cli
count=1000
seed=123
held_seed=456
out=/tmp/sinopia-analyze-generator
min=0.99
ae=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cli) cli=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    --held-out-seed) held_seed=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --min) min=$2; shift 2 ;;
    --ae) ae=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "analyze-generator: unknown argument $1" >&2; exit 2 ;;
  esac
done
if [ ! -x "$cli" ]; then
  echo "analyze-generator: $cli is not built (ninja -C build, or pass --cli)" >&2
  exit 2
fi

rm -rf "$out/regular" "$out/held-out"
/usr/bin/python3 tools/train/shapes.py --seed "$seed" --count "$count" --out "$out/regular" >/dev/null
/usr/bin/python3 tools/train/shapes.py --seed "$held_seed" --count "$count" --held-out --out "$out/held-out" >/dev/null
for set in regular held-out; do
  [ -z "$ae" ] || /usr/bin/python3 tools/train/ae_roundtrip.py --model "$ae" "$out/$set"
  for png in "$out/$set"/*.png; do
    base=${png%.png}
    "$cli" analyze "$png" --scene "$base.json" >"$base.analysis"
  done
done

/usr/bin/python3 - "$out" "$min" <<'EOF'
import glob, json, os, sys

out, minimum = sys.argv[1], float(sys.argv[2])
status = 0
for name in ("regular", "held-out"):
    n_img = bg_ok = n_obj = found = shape_ok = 0
    held = [0, 0, 0]  # held-out objects: count, colour+position, shape
    misses = []
    for path in sorted(glob.glob(os.path.join(out, name, "*.analysis"))):
        scene = json.load(open(path[:-len(".analysis")] + ".json"))
        a = json.load(open(path))
        n_img += 1
        bg_ok += a["background"]["colour"] == scene["background"]["colour"]
        if a["background"]["colour"] != scene["background"]["colour"]:
            misses.append(f"{os.path.basename(path)}: background {a['background']['colour']}")
        for o, r in zip(scene["objects"], a["objects"]):
            n_obj += 1
            f = r["found"]
            s = f and r["blob"]["shape"] == o["shape"]
            found += f
            shape_ok += s
            if o["held_out"]:
                held[0] += 1
                held[1] += f
                held[2] += s
            if not s:
                got = r["blob"] or r["elsewhere"] or r["in_place"]
                misses.append(f"{os.path.basename(path)}: {o['size']} {o['colour']} {o['shape']} at {o['position']}: "
                              + (f"found as {r['blob']['shape']} {r['blob']['features']}" if f
                                 else f"missing ({'elsewhere' if r['elsewhere'] else 'other colour'}: {got})"))
    if n_img == 0:
        print(f"{name}: no images"); status = 1; continue
    figures = [("background", bg_ok, n_img), ("colour+position", found, n_obj), ("shape", shape_ok, n_obj)]
    print(f"{name}: {n_img} images, {n_obj} objects")
    for label, k, n in figures:
        print(f"  {label:16s} {k}/{n} = {100.0 * k / n:.2f} %")
        if k < minimum * n:
            status = 1
    if held[0]:
        print(f"  held-out combinations: {held[0]} objects, colour+position {100.0 * held[1] / held[0]:.2f} %, "
              f"shape {100.0 * held[2] / held[0]:.2f} %")
    for m in misses:
        print("  miss:", m)
sys.exit(status)
EOF
