#!/usr/bin/python3
"""Check the trainable modules of models.py against the shared golden data (fp32, CPU).

  T5Encoder  vs golden/text-encoders/t5_a_*   (Hugging Face T5EncoderModel; unmasked cases)
  CLIPText   vs golden/text-encoders/clip_a_* (Hugging Face CLIPTextModel; hidden state and pooled output)
  AutoEncoder vs golden/flux-reference/ae_a_* (BFL autoencoder: encode mean, decode)
  FluxDiT    vs golden/flux-reference/flux_a{1,2}_* (BFL transformer forward)

Each comparison loads the golden weights with load_state_dict(strict=True), which also proves that the
module's tensor names and shapes are the checkpoint's. Exit 0 when every output is within the golden
tolerance (tolerances.json), 1 otherwise.

Usage: check_models.py [--shared DIR]   (default: $SINOPIA_SHARED_DIR, else ../shared next to the repo)
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import flux_torch as ft  # noqa: E402
import models  # noqa: E402


def shared_dir(arg):
    repo = os.path.dirname(os.path.dirname(HERE))
    for c in [arg, os.environ.get("SINOPIA_SHARED_DIR"), os.path.join(repo, "shared"),
              os.path.join(os.path.dirname(repo), "shared")]:
        if c and os.path.isdir(os.path.join(c, "golden")):
            return c
    return None


def tensors(path):
    st = ft.SafeTensors(path)
    return st, {n: torch.from_numpy(st.get(n, float32=True)) for n in st.names()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--shared", metavar="DIR")
    args = ap.parse_args(argv)
    sd = shared_dir(args.shared)
    if not sd:
        print("check_models.py: shared golden data not found (pass --shared DIR)", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    failures = 0

    def report(what, got, want, atol):
        nonlocal failures
        err = float((got.double() - want.double()).abs().max())
        ok = err <= atol
        failures += not ok
        print(f"  {what:48s} max abs err {err:.2e}  atol {atol:.0e}  {'ok' if ok else 'FAIL'}")

    te = os.path.join(sd, "golden", "text-encoders")
    tol = json.load(open(os.path.join(te, "tolerances.json")))["files"]

    print("T5Encoder vs t5_a:")
    st, w = tensors(os.path.join(te, "t5_a_weights.safetensors"))
    t5 = models.T5Encoder(json.loads(st.metadata["t5_config"]))
    t5.load_state_dict(w, strict=True)
    _, fw = tensors(os.path.join(te, "t5_a_forward.safetensors"))
    with torch.no_grad():
        for case in ("len9", "len37", "len150"):
            out = t5(fw[f"{case}.input.input_ids"].long())
            name = f"{case}.output.last_hidden_state"
            report(name, out, fw[name], tol["t5_a_forward.safetensors"][name]["atol"])
        rel = torch.arange(-200, 201)
        b = models.t5_relative_position_bucket(rel)
        ok = torch.equal(b.int(), fw["bucket_table.bucket"].int()) if "bucket_table.bucket" in fw else True
        failures += not ok
        print(f"  relative position buckets -200..200                 {'exact' if ok else 'MISMATCH'}")

    print("CLIPText vs clip_a:")
    st, w = tensors(os.path.join(te, "clip_a_weights.safetensors"))
    clip = models.CLIPText(json.loads(st.metadata["clip_text_config"]))
    clip.load_state_dict(w, strict=True)
    _, fw = tensors(os.path.join(te, "clip_a_forward.safetensors"))
    with torch.no_grad():
        for case in ("text20", "full75", "empty"):
            h, pooled = clip(fw[f"{case}.input.input_ids"].long())
            for name, got in ((f"{case}.output.last_hidden_state", h), (f"{case}.output.pooler_output", pooled)):
                report(name, got, fw[name], tol["clip_a_forward.safetensors"][name]["atol"])

    fr = os.path.join(sd, "golden", "flux-reference")
    ftol = json.load(open(os.path.join(fr, "tolerances.json")))["files"]

    print("AutoEncoder vs ae_a:")
    st, w = tensors(os.path.join(fr, "ae_a_weights.safetensors"))
    ae = models.AutoEncoder(json.loads(st.metadata["ae_params"]))
    ae.load_state_dict(w, strict=True)
    _, io = tensors(os.path.join(fr, "ae_a_io.safetensors"))
    t = ftol["ae_a_io.safetensors"]
    with torch.no_grad():
        report("encode.mean", ae.moments(io["input.image"])[0], io["encode.mean"], t["encode.mean"]["atol"])
        report("encode.latent", ae.encode(io["input.image"]), io["encode.latent"], t["encode.latent"]["atol"])
        report("decode.image", ae.decode(io["input.latent"]), io["decode.image"], t["decode.image"]["atol"])

    for which in ("a1", "a2"):
        print(f"FluxDiT vs flux_{which}:")
        st, w = tensors(os.path.join(fr, f"flux_{which}_weights.safetensors"))
        cfg = ft.infer_config(st)
        dit = models.FluxDiT(cfg)
        dit.load_state_dict(w, strict=True)
        _, io = tensors(os.path.join(fr, f"flux_{which}_forward.safetensors"))
        lat = io["input.latent"]
        n_txt = io["input.txt"].shape[1]
        cos, sin = dit.rope_for(n_txt, lat.shape[2] // 2, lat.shape[3] // 2)
        with torch.no_grad():
            out = dit(io["input.img"], io["input.txt"], io["input.y"], io["input.timesteps"], cos, sin,
                      io.get("input.guidance"))
        report("output", out, io["output"], ftol[f"flux_{which}_forward.safetensors"]["output"]["atol"])

    print("check_models: " + ("PASS" if failures == 0 else f"FAIL ({failures})"))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
