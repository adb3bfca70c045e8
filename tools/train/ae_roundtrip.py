#!/usr/bin/python3
"""Replaces each PNG in a folder by its round trip through a model folder's autoencoder (encoder mean,
decode, clamp, uint8 as the samplers do): how much of a scene survives the AE is the ceiling of what
the analyzer can find in any image the model paints.

  ae_roundtrip.py --model DIR PNG_DIR [--threads N]
"""

import argparse
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import flux_torch as ft  # noqa: E402
import shapes  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(prog="ae_roundtrip.py", description=__doc__.split("\n")[0])
    ap.add_argument("--model", required=True, metavar="DIR")
    ap.add_argument("png_dir")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch
    import models
    torch.set_num_threads(args.threads)
    torch.set_grad_enabled(False)
    st = ft.SafeTensors(os.path.join(args.model, "ae.safetensors"))
    ae = models.AutoEncoder(json.loads(st.metadata["ae_params"])).eval()
    ae.load_state_dict({k: torch.from_numpy(st.get(k, float32=True).astype(np.float32)) for k in st.names()})
    paths = sorted(glob.glob(os.path.join(args.png_dir, "*.png")))
    for path in paths:
        img = shapes.read_png(path)
        x = torch.from_numpy(img.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
        rec = ae.decode(ae.encode(x)).clamp(-1, 1)
        shapes.write_png(path, (127.5 * (rec[0].permute(1, 2, 0) + 1)).to(torch.uint8).numpy())
    print(f"ae_roundtrip: {len(paths)} images through {args.model}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
