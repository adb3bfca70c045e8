#!/usr/bin/python3
"""Write random FLUX.1 transformer checkpoints (BFL naming) and matching forward-input files.

Checkpoints: every parameter is N(0, 0.05) except the QK-norm scales, which are 1 + N(0, 0.05) (as in
the golden data: gains near 0 would flatten attention and leave RoPE/softmax untested). Tensors are
generated and written one at a time, so even dev-sized files need little memory. `__metadata__`
holds `flux_params` as JSON, with the same keys as the golden files.

Inputs: input.img [1,N,64], input.img_ids (0,r,c) over a square-ish grid, input.txt [1,T,context],
input.txt_ids (zeros), input.y [1,vec], input.timesteps [t], input.guidance [g], all F32, in the
golden files' names (what `flux_torch.py forward` and `sinopia-cli bench model` read).

Examples:
    make-flux-checkpoint.py --config small --out /tmp/flux-small.safetensors
    make-flux-checkpoint.py --config dev-blocks 2 --dtype bf16 --out /tmp/flux-dev2.safetensors
    make-flux-checkpoint.py --config small --inputs /tmp/in-small.safetensors --tokens-img 64 --tokens-txt 16
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flux_torch as ft  # noqa: E402  (needs the path above; torch itself is not imported)

# Named configs. small/medium are CPU-friendly test models (head_dim 64, so RoPE axes [8, 28, 28]
# keep FLUX.1's 1:3.5:3.5 split); dev-blocks uses FLUX.1-dev's real shapes with fewer blocks.
_BASE = {"in_channels": 64, "out_channels": 64, "mlp_ratio": 4.0, "theta": 10000, "qkv_bias": True}
CONFIGS = {
    "small": dict(_BASE, vec_in_dim=64, context_in_dim=64, hidden_size=128, num_heads=2, depth=2,
                  depth_single_blocks=4, axes_dim=[8, 28, 28], guidance_embed=False),
    "medium": dict(_BASE, vec_in_dim=64, context_in_dim=64, hidden_size=256, num_heads=4, depth=3,
                   depth_single_blocks=6, axes_dim=[8, 28, 28], guidance_embed=False),
}
DEV = dict(_BASE, vec_in_dim=768, context_in_dim=4096, hidden_size=3072, num_heads=24, axes_dim=[16, 56, 56],
           guidance_embed=True)


class UsageError(Exception):
    pass


def config_for(words):
    """--config words -> flux_params dict ("small", "medium" or "dev-blocks N")."""
    name = words[0]
    if name == "dev-blocks":
        if len(words) != 2 or not words[1].isdigit() or int(words[1]) < 1:
            raise UsageError("--config dev-blocks needs a block count N >= 1, e.g. '--config dev-blocks 2'")
        n = int(words[1])
        return ft.check_config(dict(DEV, depth=n, depth_single_blocks=n)), f"dev-blocks {n}"
    if name not in CONFIGS:
        raise UsageError(f"unknown config '{name}' (choose small, medium or 'dev-blocks N')")
    if len(words) != 1:
        raise UsageError(f"config '{name}' takes no argument")
    return ft.check_config(CONFIGS[name]), name


def write_checkpoint(path, cfg, label, dtype, seed):
    st_dtype = {"f32": "F32", "bf16": "BF16"}[dtype]
    rng = np.random.default_rng(seed)
    shapes = ft.param_shapes(cfg)

    def make(shape, is_scale):
        # One draw per tensor in a fixed order, so a (config, seed) pair always gives the same file.
        x = rng.standard_normal(shape, dtype=np.float32)
        x *= np.float32(0.05)
        if is_scale:
            x += np.float32(1.0)
        return x

    entries = [(name, st_dtype, shape, lambda s=shape, k=is_scale: make(s, k)) for name, shape, is_scale in shapes]
    meta = {
        "flux_params": ft.config_json(cfg),
        "config": label,
        "init": f"numpy default_rng({seed}); per tensor in this file's order: N(0,0.05), "
                f"QK-norm .scale = 1+N(0,0.05); stored as {st_dtype}",
        "producer": "tools/make-flux-checkpoint.py",
    }
    ft.save_safetensors_stream(path, entries, meta)
    n = sum(int(np.prod(s)) for _, s, _ in shapes)
    print(f"wrote {path}: config {label}, {len(shapes)} tensors, {n / 1e6:.2f} M parameters, {st_dtype}, "
          f"{os.path.getsize(path) / 2**20:.1f} MiB")


def grid_for(n):
    """rows x cols with rows*cols == n and rows the largest divisor <= sqrt(n): as square as possible."""
    rows = max(d for d in range(1, int(n ** 0.5) + 1) if n % d == 0)
    return rows, n // rows


def write_inputs(path, cfg, label, n_img, n_txt, seed, timestep, guidance):
    rng = np.random.default_rng(seed)
    rows, cols = grid_for(n_img)
    randn = lambda *shape: rng.standard_normal(shape, dtype=np.float32)
    tensors = {
        "input.img": randn(1, n_img, cfg["in_channels"]),
        "input.img_ids": ft.make_img_ids(rows, cols),
        "input.txt": randn(1, n_txt, cfg["context_in_dim"]),
        "input.txt_ids": ft.make_txt_ids(n_txt),
        "input.y": randn(1, cfg["vec_in_dim"]),
        "input.timesteps": np.array([timestep], dtype=np.float32),
        "input.guidance": np.array([guidance], dtype=np.float32),
    }
    meta = {
        "flux_params": ft.config_json(cfg),
        "config": label,
        # The packed grid, so readers can unpack the output to a [1, C/4, 2*rows, 2*cols] latent.
        "grid_rows": str(rows),
        "grid_cols": str(cols),
        "inputs": f"numpy default_rng({seed}): img, txt, y ~ N(0,1) in that order; img_ids (0,r,c) over "
                  f"{rows}x{cols}; txt_ids zeros; timesteps [{timestep}]; guidance [{guidance}]",
        "producer": "tools/make-flux-checkpoint.py",
    }
    ft.save_safetensors(path, tensors, meta)
    print(f"wrote {path}: {n_img} image tokens ({rows}x{cols} grid), {n_txt} text tokens, "
          f"txt dim {cfg['context_in_dim']}, y dim {cfg['vec_in_dim']}")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="make-flux-checkpoint.py",
        description="Write a random FLUX.1 checkpoint in BFL naming and/or a forward-inputs file.",
        epilog="configs: small = hidden 128, 2 double + 4 single blocks, 2 heads (head dim 64, axes [8,28,28]), "
               "context/vec 64, no guidance embed; medium = hidden 256, 3 + 6 blocks, 4 heads, same dims; "
               "'dev-blocks N' = FLUX.1-dev shapes (hidden 3072, 24 heads, context 4096, vec 768, guidance "
               "embed) with N double and N single blocks. Do not write generated files into the repository.")
    ap.add_argument("--config", nargs="+", metavar="NAME", default=None,
                    help="small, medium or 'dev-blocks N' (default small for --inputs without --weights)")
    ap.add_argument("--out", metavar="PATH", help="write the checkpoint here")
    ap.add_argument("--dtype", choices=("f32", "bf16"), default="f32", help="checkpoint weight type (default f32)")
    ap.add_argument("--seed", type=int, default=0, help="RNG seed (default 0; inputs use seed+1)")
    ap.add_argument("--inputs", metavar="OUT", help="write a forward-inputs file here")
    ap.add_argument("--weights", metavar="W", help="take the inputs' dimensions from this checkpoint instead of --config")
    ap.add_argument("--tokens-img", type=int, metavar="N", help="image tokens (packed 2x2 patches)")
    ap.add_argument("--tokens-txt", type=int, metavar="T", help="text tokens")
    ap.add_argument("--timestep", type=float, default=0.7, help="input.timesteps value (default 0.7)")
    ap.add_argument("--guidance", type=float, default=3.5, help="input.guidance value (default 3.5)")
    args = ap.parse_args(argv)

    def usage(msg):
        ap.print_usage(sys.stderr)
        print(f"{ap.prog}: error: {msg}", file=sys.stderr)
        return 2

    if not args.out and not args.inputs:
        return usage("nothing to do: give --out PATH (checkpoint) and/or --inputs OUT (inputs file)")
    if args.inputs and (args.tokens_img is None or args.tokens_txt is None):
        return usage("--inputs needs --tokens-img N and --tokens-txt T")
    if args.inputs and (args.tokens_img < 1 or args.tokens_txt < 1):
        return usage("--tokens-img and --tokens-txt must be at least 1")
    if (args.tokens_img is not None or args.tokens_txt is not None) and not args.inputs:
        return usage("--tokens-img/--tokens-txt only apply with --inputs OUT")
    if args.out and not args.config:
        return usage("--out needs --config (small, medium or 'dev-blocks N')")
    if args.weights and args.config:
        return usage("give either --weights or --config for the inputs, not both")
    if args.weights and args.out:
        return usage("--weights only describes inputs; it cannot be combined with --out")
    try:
        cfg, label = config_for(args.config) if args.config else config_for(["small"])
        if args.weights:
            st = ft.SafeTensors(args.weights)
            cfg, label = ft.infer_config(st, ft.find_prefix(st.names())), os.path.basename(args.weights)
    except UsageError as e:
        return usage(str(e))
    except (ft.SafetensorsError, ft.ConfigError) as e:
        print(f"{ap.prog}: {e}", file=sys.stderr)
        return 1

    try:
        if args.out:
            write_checkpoint(args.out, cfg, label, args.dtype, args.seed)
        if args.inputs:
            write_inputs(args.inputs, cfg, label, args.tokens_img, args.tokens_txt, args.seed + 1,
                         args.timestep, args.guidance)
    except ft.SafetensorsError as e:
        print(f"{ap.prog}: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
