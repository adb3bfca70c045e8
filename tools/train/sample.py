#!/usr/bin/python3
"""PyTorch sampler for an exported Sinopia model folder (the CPU oracle for the C engine's generate).

Pipeline, all float32 on the CPU (weights as stored, widened to float32):
  1. tokenize with tokenizer_2/spiece.model (T5 layout: ids[:L-1] + EOS, padded with PAD) and
     tokenizer/spiece.model (CLIP layout: BOS + ids[:L-2] + EOS, padded with EOS); L from sinopia-model.json
  2. txt = text_encoder_2 (T5-style) last_hidden_state; y = text_encoder (CLIP-style) pooled output;
     the same for the negative prompt (default: the empty string) -> txt_u, y_u
  3. noise z [1, 16, H/8, W/8]: from --noise FILE (tensor "noise", any float dtype) or
     torch.randn(..., dtype=float32, generator=torch.Generator("cpu").manual_seed(seed))
  4. img = pack(z); ts = get_schedule(steps, N_img, shift=True) (tools/flux_torch.py, bit-exact BFL);
     for each (t, t_next): c = F(img, txt, y, t); u = F(img, txt_u, y_u, t);
     pred = u + guidance * (c - u); img = img + float32(t_next - t) * pred
     with F = tools/flux_torch.py FluxModel (the reference forward); guidance 1 skips u.
  5. image = AE decode(unpack(img)) (z / scale_factor + shift_factor inside), clamp to [-1, 1],
     uint8 = trunc(127.5 * (x + 1)) as BFL's cli does.

  sample.py --model DIR --prompt TEXT [--negative TEXT] [--seed S] [--steps N] [--guidance G]
            [--width W --height H] [--noise FILE] [--dump FILE.safetensors] --out OUT.png
  sample.py --model DIR --grid --out GRID.png [--steps N] [--guidance G]
  sample.py --model DIR --batch SCENES.jsonl --out-dir DIR    (a line's "caption"/"canonical_caption",
            seed "sample_seed"; writes NNNNNN.png and a copy of the scene JSON with the prompt used)
  sample.py --model DIR --prompt TEXT --bench N    seconds per image: one untimed run, then the median of
            N (the PyTorch side of `sinopia-cli bench generate`; prints, writes nothing)

--dump writes every input and output of the run (ids, txt, y, noise, timesteps, final latent, image) so
the C engine can be checked against it (a parity fixture). Same inputs give identical outputs.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import flux_torch as ft  # noqa: E402
import shapes  # noqa: E402

GRID_PROMPTS = [
    "a large red circle at the top left and a small blue star in the center on a yellow background",
    "a large green square in the center on a white background",
    "a medium yellow triangle at the bottom right on a black background",
    "a small pink ring at the top and a large blue diamond at the bottom left on a green background",
    "a large white star at the right on a blue background",
    "a medium black circle at the left and a medium orange square at the right on a cyan background",
    "a large cyan ring in the center on a purple background",
    "a red circle",
    "green triangle",
    "a blue square on an orange background",
    "a small purple diamond at the top right and a large yellow circle at the bottom on a pink background",
    "a large orange diamond at the top left and a large green circle at the top right and a small red star at the bottom on a white background",
    # held-out combinations (never in training)
    "a large purple triangle in the center on a yellow background",
    "a large orange ring at the top left on a blue background",
    "a medium cyan star at the bottom right on a black background",
    "a purple triangle and an orange ring on a white background",
]


class Pipeline:
    def __init__(self, model_dir, threads=2):
        import torch
        import sentencepiece as spm
        import models
        torch.set_num_threads(threads)
        torch.set_grad_enabled(False)
        self.torch = torch
        self.dir = model_dir
        self.card = json.load(open(os.path.join(model_dir, "sinopia-model.json")))
        self.L_t5 = int(self.card.get("t5_max_length", self.card["text_max_length"]))
        self.L_clip = int(self.card.get("clip_max_length", self.card["text_max_length"]))
        tk = self.card["tokens"]
        self.pad, self.eos, self.bos = tk["pad"], tk["eos"], tk["bos"]
        self.sp_t5 = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer_2", "spiece.model"))
        self.sp_clip = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer", "spiece.model"))

        def load(path):
            st = ft.SafeTensors(path)
            return st, {k: torch.from_numpy(st.get(k, float32=True).astype(np.float32)) for k in st.names()}

        st, w = load(os.path.join(model_dir, "text_encoder_2", "model.safetensors"))
        self.t5 = models.T5Encoder(json.loads(st.metadata["t5_config"])).eval()
        self.t5.load_state_dict(w, strict=True)
        st, w = load(os.path.join(model_dir, "text_encoder", "model.safetensors"))
        self.clip = models.CLIPText(json.loads(st.metadata["clip_text_config"])).eval()
        self.clip.load_state_dict(w, strict=True)
        st, w = load(os.path.join(model_dir, "ae.safetensors"))
        self.ae = models.AutoEncoder(json.loads(st.metadata["ae_params"])).eval()
        self.ae.load_state_dict(w, strict=True)
        self.flux = ft.FluxModel.from_file(os.path.join(model_dir, "transformer.safetensors"))
        if self.flux.cfg["guidance_embed"]:
            raise ValueError("this sampler is for models without a guidance embedding (true CFG)")

    def ids(self, text):
        toks = self.sp_t5.encode(text)
        if len(toks) > self.L_t5 - 1:
            print(f"sample.py: warning: prompt has {len(toks)} tokens, truncated to {self.L_t5 - 1}", file=sys.stderr)
        t5 = toks[:self.L_t5 - 1] + [self.eos]
        t5 += [self.pad] * (self.L_t5 - len(t5))
        ctoks = self.sp_clip.encode(text)
        clip = [self.bos] + ctoks[:self.L_clip - 2] + [self.eos]
        clip += [self.eos] * (self.L_clip - len(clip))
        return np.array([t5], dtype=np.int64), np.array([clip], dtype=np.int64)

    def encode_text(self, text):
        torch = self.torch
        i5, ic = self.ids(text)
        txt = self.t5(torch.from_numpy(i5))
        _, y = self.clip(torch.from_numpy(ic))
        return i5, ic, txt, y

    def noise(self, seed, height, width):
        torch = self.torch
        g = torch.Generator("cpu").manual_seed(int(seed))
        return torch.randn(1, 16, height // 8, width // 8, dtype=torch.float32, generator=g)

    def run(self, prompt, negative="", seed=0, steps=None, guidance=None, width=None, height=None, noise=None,
            dump=None):
        torch = self.torch
        steps = int(steps if steps is not None else self.card["default_steps"])
        guidance = float(guidance if guidance is not None else self.card["default_guidance"])
        width = int(width or self.card["native_width"])
        height = int(height or self.card["native_height"])
        for what, v in (("width", width), ("height", height)):
            if v <= 0 or v % 16:
                near = max(16, int(round(v / 16)) * 16)
                raise ValueError(f"{what} {v} is not a multiple of 16 (nearest valid: {near})")
        i5, ic, txt, y = self.encode_text(prompt)
        ni5, nic, txt_u, y_u = self.encode_text(negative)
        if noise is None:
            noise = self.noise(seed, height, width)
        if tuple(noise.shape) != (1, 16, height // 8, width // 8):
            raise ValueError(f"noise is {list(noise.shape)}, expected [1, 16, {height // 8}, {width // 8}]")
        img = ft.pack_latent(noise)
        ts = self.schedule(steps, img.shape[1])
        img = self.denoise(img, height, width, txt, y, txt_u, y_u, ts, guidance)
        latent = ft.unpack_latent(img, height // 8, width // 8)
        u8 = self.decode(latent)
        if dump:
            tensors = {"input.t5_ids": i5.astype(np.int32), "input.clip_ids": ic.astype(np.int32),
                       "input.negative_t5_ids": ni5.astype(np.int32), "input.negative_clip_ids": nic.astype(np.int32),
                       "input.noise": noise.numpy(), "input.img": ft.pack_latent(noise).numpy(),
                       "txt": txt.numpy(), "y": y.numpy(), "negative.txt": txt_u.numpy(), "negative.y": y_u.numpy(),
                       "timesteps": np.array(ts, dtype=np.float32), "final.latent": img.numpy(),
                       "final.latent_unpacked": latent.numpy(), "image": u8}
            meta = {"prompt": prompt, "negative": negative, "seed": str(seed), "steps": str(steps),
                    "guidance": repr(guidance), "width": str(width), "height": str(height),
                    "model": os.path.basename(os.path.abspath(self.dir)), "producer": "tools/train/sample.py",
                    "cfg": "pred = u + guidance * (c - u); img += float32(t_next - t) * pred"}
            ft.save_safetensors(dump, tensors, meta)
        return u8, latent

    def schedule(self, steps, n_img):
        return ft.get_schedule(steps, n_img, shift=bool(self.card.get("shift", True)),
                               base_shift=float(self.card.get("base_shift", 0.5)),
                               max_shift=float(self.card.get("max_shift", 1.15)))

    def denoise(self, img, height, width, txt, y, txt_u, y_u, ts, guidance):
        """Euler steps along ts (descending) from the packed latent img, with true CFG."""
        torch = self.torch
        img_ids = torch.from_numpy(ft.make_img_ids(height // 16, width // 16))
        txt_ids = torch.from_numpy(ft.make_txt_ids(txt.shape[1]))
        for t_curr, t_next in zip(ts[:-1], ts[1:]):
            t = torch.full((1,), t_curr, dtype=torch.float32)
            c = self.flux.forward(img, img_ids, txt, txt_ids, t, y)
            if guidance != 1.0:
                u = self.flux.forward(img, img_ids, txt_u, txt_ids, t, y_u)
                pred = u + guidance * (c - u)
            else:
                pred = c
            img = img + float(np.float32(t_next - t_curr)) * pred
        return img

    def decode(self, latent):
        """Unpacked latent [1, 16, h, w] -> uint8 image [H, W, 3]."""
        x = self.ae.decode(latent).clamp(-1, 1)
        return (127.5 * (x[0] + 1)).permute(1, 2, 0).to(self.torch.uint8).numpy()  # truncation, as BFL

    def png_text(self, prompt, negative, seed, steps, guidance, width, height):
        return {"parameters": json.dumps({"prompt": prompt, "negative": negative, "seed": seed, "steps": steps,
                                          "guidance": guidance, "width": width, "height": height,
                                          "model": self.card.get("name", "")})}


def main(argv=None):
    ap = argparse.ArgumentParser(prog="sample.py", description="Sample an exported Sinopia model with PyTorch.")
    ap.add_argument("--model", required=True, metavar="DIR")
    ap.add_argument("--prompt")
    ap.add_argument("--negative", default="")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int)
    ap.add_argument("--guidance", type=float)
    ap.add_argument("--width", type=int)
    ap.add_argument("--height", type=int)
    ap.add_argument("--noise", metavar="FILE", help="safetensors file with a 'noise' tensor [1,16,H/8,W/8]")
    ap.add_argument("--dump", metavar="FILE", help="write all inputs/outputs of the run (parity fixture)")
    ap.add_argument("--grid", action="store_true", help="a 4x4 grid of fixed prompts (4 held-out ones last)")
    ap.add_argument("--batch", metavar="JSONL", help="one image per scene line, seed from 'sample_seed'")
    ap.add_argument("--caption-key", default="canonical_caption", help="--batch: which caption field to use")
    ap.add_argument("--limit", type=int, help="--batch: at most this many lines")
    ap.add_argument("--out", metavar="PNG")
    ap.add_argument("--out-dir", metavar="DIR")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--bench", type=int, metavar="N", help="time N runs of --prompt after an untimed one")
    args = ap.parse_args(argv)
    try:
        pipe = Pipeline(args.model, args.threads)
        t0 = time.time()
        if args.grid:
            if not args.out:
                ap.error("--grid needs --out")
            tiles = []
            for i, p in enumerate(GRID_PROMPTS):
                img, _ = pipe.run(p, args.negative, seed=100 + i, steps=args.steps, guidance=args.guidance)
                tiles.append(img)
            s = tiles[0].shape[0]
            pad = np.full((s * 4 + 5 * 2, s * 4 + 5 * 2, 3), 255, np.uint8)
            for i, t in enumerate(tiles):
                r, c = divmod(i, 4)
                pad[2 + r * (s + 2):2 + r * (s + 2) + s, 2 + c * (s + 2):2 + c * (s + 2) + s] = t
            shapes.write_png(args.out, pad, {"prompts": " | ".join(GRID_PROMPTS)})
            print(f"wrote {args.out} ({len(tiles)} images, {time.time() - t0:.1f} s)")
        elif args.batch:
            if not args.out_dir:
                ap.error("--batch needs --out-dir")
            os.makedirs(args.out_dir, exist_ok=True)
            n = 0
            for line in open(args.batch):
                if args.limit is not None and n >= args.limit:
                    break
                sc = json.loads(line)
                prompt = sc[args.caption_key]
                seed = int(sc.get("sample_seed", n))
                img, _ = pipe.run(prompt, args.negative, seed=seed, steps=args.steps, guidance=args.guidance)
                name = f"{n:06d}"
                shapes.write_png(os.path.join(args.out_dir, name + ".png"), img)
                with open(os.path.join(args.out_dir, name + ".json"), "w") as f:
                    json.dump(dict(sc, prompt=prompt, seed=seed), f)
                    f.write("\n")
                n += 1
            print(f"wrote {n} images to {args.out_dir} ({time.time() - t0:.1f} s)")
        elif args.bench:
            if args.prompt is None:
                ap.error("--bench needs --prompt")
            times = []
            for i in range(args.bench + 1):
                t1 = time.time()
                pipe.run(args.prompt, args.negative, args.seed, args.steps, args.guidance, args.width, args.height)
                times.append(time.time() - t1)
            steps = args.steps or pipe.card["default_steps"]
            g = args.guidance if args.guidance is not None else pipe.card["default_guidance"]
            print(f"pytorch: first {times[0]:.2f} s, warm {float(np.median(times[1:])):.2f} s/image "
                  f"({steps} steps, guidance {g}, {args.threads} threads, float32)")
        else:
            if args.prompt is None or not args.out:
                ap.error("give --prompt and --out (or --grid / --batch / --bench)")
            noise = None
            if args.noise:
                import torch
                noise = torch.from_numpy(ft.SafeTensors(args.noise).get("noise", float32=True).astype(np.float32))
            img, _ = pipe.run(args.prompt, args.negative, args.seed, args.steps, args.guidance, args.width,
                              args.height, noise, args.dump)
            steps = args.steps or pipe.card["default_steps"]
            g = args.guidance if args.guidance is not None else pipe.card["default_guidance"]
            shapes.write_png(args.out, img, pipe.png_text(args.prompt, args.negative, args.seed, steps, g,
                                                          img.shape[1], img.shape[0]))
            print(f"wrote {args.out} ({time.time() - t0:.2f} s)")
    except (ValueError, OSError, ft.SafetensorsError, ft.ConfigError) as e:
        print(f"sample.py: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
