#!/usr/bin/python3
"""Where along the sampling path does a model lose an object's shape?

Draws single-object scenes (medium and large objects only: small ones are at the autoencoder's limit),
renders them, encodes them with the model's AE, noises each latent to a time t0 of the model's own
schedule and samples from there to 0 with the caption (sample.py's sampler, CFG), then measures the
decoded image with the C analyzer (`sinopia-cli analyze`). t0 = 1 is plain generation; the "AE round
trip" row is the ceiling. A model whose shape figure falls between two t0 learns too little of what
decides the silhouette at those noise levels, which is where its training should put more weight
(docs/shapes-world.md).

  denoise_probe.py --model DIR [--count 40] [--starts 0.3,0.5,0.7,0.9,1.0] [--seed 999]
                   [--steps N] [--guidance G] [--cli build/app/sinopia-cli] [--keep DIR]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import flux_torch as ft  # noqa: E402
import shapes  # noqa: E402
from sample import Pipeline  # noqa: E402


def probe_scenes(seed, count):
    out, i = [], 0
    while len(out) < count:
        scene = shapes.sample_scene(shapes.sample_rng(seed, i), n_objects=1)
        i += 1
        if scene["objects"][0]["size"] != "small":
            out.append(scene)
    return out


class Analyzer:
    def __init__(self, cli, folder):
        self.cli, self.folder = cli, folder

    def __call__(self, image, scene, name):
        png, js = os.path.join(self.folder, name + ".png"), os.path.join(self.folder, name + ".json")
        shapes.write_png(png, image)
        with open(js, "w") as f:
            json.dump(dict(scene, width=image.shape[1], height=image.shape[0]), f)
        r = subprocess.run([self.cli, "analyze", png, "--scene", js], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{self.cli} analyze failed on {png}: {r.stderr.strip()}")
        obj = json.loads(r.stdout)["objects"][0]
        return bool(obj["found"]), bool(obj["shape_ok"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, metavar="DIR")
    ap.add_argument("--count", type=int, default=40)
    ap.add_argument("--starts", default="0.3,0.5,0.7,0.9,1.0", help="start times t0, comma-separated")
    ap.add_argument("--seed", type=int, default=999, help="scene stream (not the recipe's 1234)")
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--guidance", type=float, default=None)
    ap.add_argument("--cli", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "app", "sinopia-cli"))
    ap.add_argument("--keep", metavar="DIR", help="keep the images and scenes here")
    a = ap.parse_args(argv)
    if not os.access(a.cli, os.X_OK):
        print(f"denoise_probe.py: no analyzer at {a.cli} (build the project, or give --cli)", file=sys.stderr)
        return 2
    starts = [float(s) for s in a.starts.split(",")]
    p = Pipeline(a.model)
    torch = p.torch
    steps = int(a.steps or p.card["default_steps"])
    guidance = float(a.guidance if a.guidance is not None else p.card["default_guidance"])
    side = int(p.card["native_width"])
    ts = p.schedule(steps, (side // 16) ** 2)
    folder = a.keep or tempfile.mkdtemp(prefix="denoise-probe-")
    os.makedirs(folder, exist_ok=True)
    analyze = Analyzer(a.cli, folder)
    _, _, txt_u, y_u = p.encode_text("")
    start_index = {s: min(range(len(ts) - 1), key=lambda q: abs(ts[q] - s)) for s in starts}
    rows = {"AE round trip": []}
    rows.update({f"from t0 = {ts[j]:.2f}": [] for j in start_index.values()})
    for k, scene in enumerate(probe_scenes(a.seed, a.count)):
        x = torch.from_numpy(shapes.render_scene(scene)).permute(2, 0, 1)[None].float() / 127.5 - 1
        z0 = p.ae.encode(x)
        _, _, txt, y = p.encode_text(shapes.canonical_caption(scene))
        noise = torch.randn(z0.shape, generator=torch.Generator().manual_seed(k))
        rows["AE round trip"].append(analyze(p.decode(z0), scene, f"{k:03d}-ae"))
        for s, j in start_index.items():
            img = ft.pack_latent((1 - ts[j]) * z0 + ts[j] * noise)
            img = p.denoise(img, side, side, txt, y, txt_u, y_u, ts[j:], guidance)
            rows[f"from t0 = {ts[j]:.2f}"].append(
                analyze(p.decode(ft.unpack_latent(img, side // 8, side // 8)), scene, f"{k:03d}-t{ts[j]:.2f}"))
        print(f"\r{k + 1}/{a.count}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    print(f"{a.count} single medium/large objects, {steps} steps, guidance {guidance:g}, model {a.model}")
    for key, v in rows.items():
        v = np.array(v, dtype=float)
        print(f"  {key:14s} found {100 * v[:, 0].mean():5.1f} %   shape {100 * v[:, 1].mean():5.1f} %")
    if a.keep:
        print(f"images and scenes in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
