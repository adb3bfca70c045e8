#!/usr/bin/python3
"""Training recipe of Sinopia's embedded shapes-world model, as resumable stages.

Stages (each a separate process, so that OMP_WAIT_POLICY can differ; train.sh runs them in order):

  data    training images (uint8 memmap) + scenes, evaluation caption sets, sentencepiece tokenizer
  ae      BFL autoencoder on random crops (MSE + tiny KL), then scale/shift from the trained latents
  cache   encode the training images to latent means (fp16 memmap), as many as the time allows
  dit     T5-style + CLIP-style text encoders and the FLUX transformer, jointly, rectified flow
  export  the Hugging Face FLUX.1-style model folder (see docs/shapes-world.md)

Every stage keeps its state under WORK/<stage>/, checkpoints every --ckpt-minutes and continues from
its checkpoint when run again; a finished stage is skipped. Time budgets (--minutes) count training
time only and survive restarts. Hyperparameters live in RECIPE below (they are also written to
WORK/recipe.json and into the exported model card data).

  train.py data   --work W [--count N] [--seed S]
  train.py ae     --work W --minutes M
  train.py cache  --work W --minutes M
  train.py dit    --work W --minutes M
  train.py export --work W --out MODEL_DIR
  train.py bench  [--part ae|dit|all] [--json FILE]     seconds per step of each stage
"""

import argparse
import contextlib
import copy
import csv
import io
import json
import math
import os
import signal
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import shapes  # noqa: E402

RECIPE = {
    "seed": 1234,
    "side": shapes.SIDE,
    # tokenizer
    "vocab_size": 512,          # upper bound; sentencepiece stops lower on this small corpus
    "text_max_length": 32,      # T5 and CLIP sequence length (the canonical captions need <= 31 + EOS)
    "pad_id": 0, "eos_id": 1, "unk_id": 2, "bos_id": 3,
    # autoencoder (BFL AutoEncoder; the shared golden ae_a uses the same layout). 8 GroupNorm groups
    # instead of BFL's 32: at 32 channels, 32 groups normalise each channel alone and a flat
    # background's colour cannot pass the norms (a 32-group run plateaued at 15 dB PSNR).
    # ch 16 with ch_mult [1, 2, 4, 8] keeps the width at 16x16 latents but costs ~1/3 of ch 32 with
    # [1, 2, 4, 4] per step (the full-resolution levels dominate), so 3x as many steps fit; 4 groups
    # keep 4 channels per group at the first level as above.
    "ae": {"resolution": shapes.SIDE, "in_channels": 3, "ch": 16, "out_ch": 3, "ch_mult": [1, 2, 4, 8],
           "num_res_blocks": 1, "z_channels": 16, "norm_groups": 4},
    "ae_lr": 1e-3, "ae_warmup": 50, "ae_kl": 1e-6,
    # crop schedule: (fraction of the AE time where it starts, crop side, batch)
    "ae_phases": [[0.0, 64, 12], [0.93, 128, 3]],
    # Share of AE/decoder crops placed around an object: random crops are mostly flat background, and
    # the edges and corners that decide a shape are what the AE learns slowest.
    "ae_object_crops": 0.75,
    # Reconstruction loss = MSE + ae_l1 * L1 (L1 keeps edges sharper than MSE alone).
    "ae_l1": 1.0,
    # decoder fine-tuning on the cached latents (encoder frozen): lr, crop schedule as for the AE
    "decoder_lr": 5e-4, "decoder_phases": [[0.0, 64, 16], [0.8, 128, 4]],
    # text encoders
    "t5": {"d_model": 128, "d_kv": 32, "num_heads": 4, "d_ff": 320, "num_layers": 3,
           "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128},
    "clip": {"hidden_size": 128, "intermediate_size": 512, "num_hidden_layers": 2, "num_attention_heads": 4},
    # transformer (FLUX, no guidance embedding; head dim 64)
    "dit": {"hidden_size": 192, "num_heads": 3, "depth": 2, "depth_single_blocks": 4, "mlp_ratio": 4.0,
            "axes_dim": [8, 28, 28], "theta": 10000, "qkv_bias": True, "guidance_embed": False},
    "dit_batch": 32, "dit_lr": 6e-4, "dit_warmup": 300, "dit_lr_final": 0.1, "dit_wd": 0.0,
    "dit_betas": [0.9, 0.99], "dit_grad_clip": 1.0, "ema": 0.999,
    "caption_dropout": 0.10,    # empty caption, for classifier-free guidance
    # Weight of the caption-parsing loss on the text encoders (CaptionProbe): the diffusion loss alone
    # teaches them slowly which colour belongs to the background and which object sits where.
    "text_aux_weight": 0.03,
    "t_sampling": "logit-normal", "t_mean": 0.0, "t_std": 1.0,
    # sampling defaults (sinopia-model.json)
    "default_steps": 20, "default_guidance": 4.0, "shift": True,
    # evaluation sets written by the data stage
    "eval_count": 200,
}

# Frozen at data time: later stages read WORK/recipe.json so that a run keeps its own settings.


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def torch_setup():
    import warnings
    import torch
    # numpy's float-limits query complains once the FPU flushes denormals; that is intended here.
    warnings.filterwarnings("ignore", message="The value of the smallest subnormal")
    torch.set_num_threads(int(os.environ.get("SINOPIA_TRAIN_THREADS", "2")))
    torch.set_flush_denormal(True)  # tiny gradients of zero-initialised layers must not hit slow paths
    return torch


_BF16_PAYS = {}


def mixed_precision(torch, device_type):
    """bf16 autocast where the hardware runs bf16 matrix products natively (CUDA, CPUs with AVX512-BF16
    or AMX), a no-op context elsewhere. Without native support PyTorch's CPU bf16 matmul takes a scalar
    path: 24 s per transformer step against 1.35 s in float32 on an AVX2-only EPYC. Decided once per
    process by timing one small product each way."""
    if device_type not in _BF16_PAYS:
        pays = device_type == "cuda"
        if device_type == "cpu":
            a = torch.randn(256, 256)
            b = a.bfloat16()
            times = []
            for x in (a, b):
                x @ x
                t = time.perf_counter()
                for _ in range(4):
                    x @ x
                times.append(time.perf_counter() - t)
            pays = times[1] < 1.5 * times[0]
        log(f"{device_type}: " + ("bf16 autocast" if pays else "float32 (bf16 products have no native path here)"))
        _BF16_PAYS[device_type] = pays
    if _BF16_PAYS[device_type]:
        return torch.autocast(device_type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


class ThreadTuner:
    """Chooses 1 or 2 torch threads by timing training steps, and re-checks every few minutes.

    Two threads are ~1.7x faster on an idle 2-core machine, but several times SLOWER than one thread
    when other processes compete for the cores (OpenMP regions wait for a descheduled thread). So each
    stage probes both settings (a few steps each, median) at its start and every `period` seconds.
    SINOPIA_TRAIN_THREADS=N fixes the count instead.
    """

    def __init__(self, torch, what, period=240.0, probe=5, skip=3):
        fixed = os.environ.get("SINOPIA_TRAIN_THREADS")
        self.torch, self.what = torch, what
        self.options = [int(fixed)] if fixed else [2, 1]
        self.best = self.cur = self.options[0]
        self.period, self.probe, self.skip = period, probe, skip
        self.queue, self.times, self.steps = [], {}, 0
        self.next_probe = 0.0
        torch.set_num_threads(self.best)

    def before(self):
        if (len(self.options) > 1 and not self.queue and self.steps >= self.skip
                and time.time() >= self.next_probe):
            self.queue = [t for t in self.options for _ in range(self.probe)]
            self.times = {t: [] for t in self.options}
        self.cur = self.queue[0] if self.queue else self.best
        if self.torch.get_num_threads() != self.cur:
            self.torch.set_num_threads(self.cur)

    def after(self, seconds):
        self.steps += 1
        if not self.queue:
            return
        self.queue.pop(0)
        self.times[self.cur].append(seconds)
        if not self.queue:
            med = {t: sorted(v)[len(v) // 2] for t, v in self.times.items()}
            best = min(med, key=med.get)
            if best != self.best or self.next_probe == 0.0:
                log(f"{self.what}: {best} thread(s) (step {', '.join(f'{t}: {m:.3f} s' for t, m in med.items())})")
            self.best = best
            self.next_probe = time.time() + self.period


def atomic_json(path, obj):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")
    os.replace(tmp, path)


def load_recipe(work):
    p = os.path.join(work, "recipe.json")
    if os.path.exists(p):
        return json.load(open(p))
    return copy.deepcopy(RECIPE)


class Stop:
    """SIGINT/SIGTERM -> finish the current step, checkpoint, exit 130 (a rerun continues)."""

    def __init__(self):
        self.flag = False
        signal.signal(signal.SIGINT, self._set)
        signal.signal(signal.SIGTERM, self._set)

    def _set(self, *_):
        self.flag = True


def torch_save(obj, path):
    import torch
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save(obj, tmp)
    os.replace(tmp, path)


def stage_done(work, stage):
    p = os.path.join(work, stage, "done.json")
    return json.load(open(p)) if os.path.exists(p) else None


def mark_done(work, stage, info):
    atomic_json(os.path.join(work, stage, "done.json"), info)


class CsvLog:
    def __init__(self, path, fields):
        new = not os.path.exists(path)
        self.f = open(path, "a", newline="")
        self.w = csv.writer(self.f)
        if new:
            self.w.writerow(fields)
            self.f.flush()

    def row(self, *vals):
        self.w.writerow([f"{v:.6g}" if isinstance(v, float) else v for v in vals])
        self.f.flush()


def lr_at(frac, step, peak, warmup, final):
    """Linear warm-up over `warmup` steps, then cosine from peak to final*peak over the time budget."""
    w = min(1.0, (step + 1) / max(1, warmup))
    c = final + (1 - final) * 0.5 * (1 + math.cos(math.pi * min(max(frac, 0.0), 1.0)))
    return peak * w * c


# ------------------------------------------------------------------------------------------------
# Stage data
# ------------------------------------------------------------------------------------------------

CHUNK = 1000
# Words the captions never use, so that typed prompts get sensible pieces instead of single letters.
EXTRA_WORDS = """grey gray brown violet magenta teal navy gold silver beige maroon olive lime indigo turquoise
dark light bright pale colour color colored coloured hexagon pentagon octagon oval ellipse rectangle heart
cross arrow moon crescent line dot spot cube sphere box shape shapes object objects picture image photo
drawing painting of with without near next to above below under over between beside behind front back
two three four five many several some no not only very quite giant round pointy thin thick empty
filled solid outline upper lower middle corner edge side a an the is are and or on in at""".split()
TOKENIZER_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'\"-:;()/&+=%*#@_"


def data_paths(work):
    d = os.path.join(work, "data")
    return d, os.path.join(d, "images.u8"), os.path.join(d, "progress.json")


def load_scenes(work, limit=None):
    d = os.path.join(work, "data")
    n = json.load(open(os.path.join(d, "progress.json")))["count"]
    scenes = []
    for c in range((n + CHUNK - 1) // CHUNK):
        with open(os.path.join(d, f"scenes-{c:04d}.jsonl")) as f:
            scenes += [json.loads(line) for line in f]
        if limit is not None and len(scenes) >= limit:
            break
    return scenes[:limit] if limit is not None else scenes


def open_images(work, mode="r"):
    d, img_path, prog = data_paths(work)
    info = json.load(open(prog))
    s = info["side"]
    return np.memmap(img_path, dtype=np.uint8, mode=mode, shape=(info["total"], s, s, 3)), info


def stage_data(args):
    work = args.work
    d, img_path, prog_path = data_paths(work)
    os.makedirs(d, exist_ok=True)
    if stage_done(work, "data"):
        log("data: already done")
        return 0
    recipe = load_recipe(work)
    if args.seed is not None:
        recipe["seed"] = args.seed
    if not os.path.exists(os.path.join(work, "recipe.json")):
        atomic_json(os.path.join(work, "recipe.json"), recipe)
    seed, side = recipe["seed"], recipe["side"]
    t0 = time.time()
    prog = json.load(open(prog_path)) if os.path.exists(prog_path) else None
    if prog is None or prog["total"] != args.count:
        prog = {"total": args.count, "count": 0, "side": side, "seed": seed}
        atomic_json(prog_path, prog)
    imgs = np.memmap(img_path, dtype=np.uint8, mode="r+" if os.path.exists(img_path) and
                     os.path.getsize(img_path) == args.count * side * side * 3 else "w+",
                     shape=(args.count, side, side, 3))
    stop = Stop()
    while prog["count"] < args.count and not stop.flag:
        c0 = prog["count"]
        c1 = min(c0 + CHUNK, args.count)
        lines = []
        for i in range(c0, c1):
            rng = shapes.sample_rng(seed, i)
            scene = shapes.sample_scene(rng, side=side)
            imgs[i] = shapes.render_scene(scene)
            lines.append(json.dumps(dict(scene, index=i), separators=(",", ":")) + "\n")
        imgs.flush()
        tmp = os.path.join(d, f"scenes-{c0 // CHUNK:04d}.jsonl.tmp")
        with open(tmp, "w") as f:
            f.writelines(lines)
        os.replace(tmp, tmp[:-4])
        prog["count"] = c1
        atomic_json(prog_path, prog)
        log(f"data: {c1}/{args.count} images ({time.time() - t0:.1f} s)")
    if stop.flag:
        return 130

    # Evaluation sets: fixed seeds, never used for training (different seed streams).
    ev = os.path.join(work, "eval")
    os.makedirs(ev, exist_ok=True)
    for name, held, s in (("regular", False, seed + 1), ("held-out", True, seed + 2)):
        with open(os.path.join(ev, f"{name}.jsonl"), "w") as f:
            for i in range(recipe["eval_count"]):
                smp = shapes.make_sample(s, i, held_out=held)
                sc = smp["scene"]
                sc["sample_seed"] = 1000 + i
                f.write(json.dumps(sc, separators=(",", ":")) + "\n")

    # Tokenizer: captions of the training scenes (several draws each), the words on their own (so that
    # whole words become pieces), extra words and every character a prompt is likely to use.
    import sentencepiece as spm
    scenes = load_scenes(work, limit=20000)
    rng = np.random.default_rng([seed, 7])
    caps = [shapes.caption(sc, rng) for sc in scenes for _ in range(2)]
    caps += [shapes.canonical_caption(sc) for sc in scenes[:2000]]
    words = [w for c in caps[:10000] for w in c.replace(",", " ,").split()]
    corpus = caps + words + EXTRA_WORDS * 20 + [" ".join(TOKENIZER_CHARS)] * 50
    tokdir = os.path.join(work, "tokenizer")
    os.makedirs(tokdir, exist_ok=True)
    buf = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus), model_writer=buf, model_type="unigram", vocab_size=recipe["vocab_size"],
        hard_vocab_limit=False, character_coverage=1.0, normalization_rule_name="nmt_nfkc_cf",
        pad_id=recipe["pad_id"], eos_id=recipe["eos_id"], unk_id=recipe["unk_id"], bos_id=recipe["bos_id"],
        pad_piece="<pad>", eos_piece="</s>", unk_piece="<unk>", bos_piece="<s>",
        num_threads=1, minloglevel=2)
    with open(os.path.join(tokdir, "spiece.model"), "wb") as f:
        f.write(buf.getvalue())
    sp = spm.SentencePieceProcessor(model_proto=buf.getvalue())
    canon = [len(sp.encode(shapes.canonical_caption(sc))) for sc in scenes[:5000]]
    info = {"vocab": sp.get_piece_size(), "canonical_tokens_max": max(canon), "canonical_tokens_mean": float(np.mean(canon)),
            "pad": sp.pad_id(), "eos": sp.eos_id(), "unk": sp.unk_id(), "bos": sp.bos_id()}
    if max(canon) > recipe["text_max_length"] - 1:
        log(f"data: WARNING canonical captions need {max(canon)} tokens + EOS > text_max_length")
    atomic_json(os.path.join(tokdir, "info.json"), info)
    log(f"data: tokenizer {info}")
    mark_done(work, "data", {"count": args.count, "seconds": time.time() - t0, "tokenizer": info})
    log(f"data: done in {time.time() - t0:.1f} s")
    return 0


# ------------------------------------------------------------------------------------------------
# Stage ae
# ------------------------------------------------------------------------------------------------

def images_to_tensor(torch, batch):
    return torch.from_numpy(np.array(batch, dtype=np.uint8)).permute(0, 3, 1, 2).float() / 127.5 - 1


def crop_origins(rng, scenes, crop, side, object_share, unit=1):
    """Top-left corners (ys, xs) of one crop per scene, in multiples of `unit` pixels: with probability
    `object_share` the crop holds the centre of one of the scene's objects (somewhere in its middle
    half), otherwise it is uniform over the image."""
    hi = (side - crop) // unit
    ys = rng.integers(0, hi + 1, len(scenes)) * unit
    xs = rng.integers(0, hi + 1, len(scenes)) * unit
    for k, scene in enumerate(scenes):
        objs = scene["objects"]
        if objs and rng.random() < object_share:
            cx, cy = objs[rng.integers(len(objs))]["centre"]
            oy, ox = rng.uniform(crop / 4, 3 * crop / 4, 2)
            ys[k] = int(np.clip((cy - oy) // unit, 0, hi)) * unit
            xs[k] = int(np.clip((cx - ox) // unit, 0, hi)) * unit
    return ys, xs


def reconstruction_loss(torch, rec, target, l1_weight):
    """MSE + l1_weight * L1; returns (loss, mse)."""
    mse = torch.mean((rec - target) ** 2)
    return mse + l1_weight * torch.mean(torch.abs(rec - target)), mse


class CropStageMeter:
    """Per-step bookkeeping of the AE and decoder stages: step count and training time in `state`,
    the thread tuner, running means of the losses (the first two are loss and MSE) written to the
    CSV log every 20 steps and to the console every 100, and a checkpoint every `ckpt_minutes`."""

    def __init__(self, name, state, minutes, ckpt_minutes, tuner, csv_log, save):
        self.name, self.state, self.minutes = name, state, minutes
        self.budget, self.ckpt_s = minutes * 60, ckpt_minutes * 60
        self.tuner, self.csv_log, self.save = tuner, csv_log, save
        self.sums, self.n, self.seen = None, 0, 0
        self.t_log = self.last_ck = time.time()

    def after_step(self, t_step, batch, losses, lr, crop):
        st = self.state
        st["step"] += 1
        st["elapsed"] += time.time() - t_step
        self.tuner.after(time.time() - t_step)
        self.sums = list(losses) if self.sums is None else [a + b for a, b in zip(self.sums, losses)]
        self.n += 1
        self.seen += batch
        if st["step"] % 20 == 0 or st["elapsed"] >= self.budget:
            now = time.time()
            means = [v / self.n for v in self.sums]
            rate = self.seen / (now - self.t_log)
            self.csv_log.row(st["step"], st["elapsed"], *means, lr, crop, rate, self.tuner.best)
            if st["step"] % 100 == 0:
                log(f"{self.name}: step {st['step']} {st['elapsed'] / 60:.1f}/{self.minutes:.1f} min crop {crop} "
                    f"mse {means[1]:.5f} ({rate:.1f} crops/s)")
            self.sums, self.n, self.seen, self.t_log = None, 0, 0, now
        if time.time() - self.last_ck > self.ckpt_s:
            self.save()
            self.last_ck = time.time()


def reconstruction_report(torch, ae, imgs, png_path):
    """PSNR of the AE round trip (encoder mean, no sampling) over the first 64 training images, and
    a preview PNG of 8 originals over their reconstructions."""
    with torch.no_grad():
        rec = torch.cat([ae.decoder(ae.moments(images_to_tensor(torch, imgs[i:i + 16]))[0]) for i in range(0, 64, 16)])
        orig = images_to_tensor(torch, imgs[:64])
        mse = float(torch.mean((rec.clamp(-1, 1) - orig) ** 2))
    rec_u8 = ((rec[:8].clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()
    shapes.write_png(png_path, np.concatenate([np.concatenate(list(imgs[:8]), 1), np.concatenate(list(rec_u8), 1)], 0))
    return 10 * math.log10(4.0 / max(mse, 1e-12))


def stage_ae(args):
    torch = torch_setup()
    import models
    work = args.work
    d = os.path.join(work, "ae")
    os.makedirs(d, exist_ok=True)
    if stage_done(work, "ae"):
        log("ae: already done")
        return 0
    recipe = load_recipe(work)
    imgs, info = open_images(work)
    n = info["count"]
    scenes = load_scenes(work, limit=n)
    params = dict(recipe["ae"], scale_factor=1.0, shift_factor=0.0)
    torch.manual_seed(recipe["seed"] + 11)
    ae = models.AutoEncoder(params)
    with torch.no_grad():  # start with little posterior noise (std ~0.05) instead of 1
        ae.encoder.conv_out.bias[params["z_channels"]:] = -6.0
    opt = torch.optim.AdamW(ae.parameters(), lr=recipe["ae_lr"], betas=(0.9, 0.99), weight_decay=0.0)
    ck = os.path.join(d, "ckpt.pt")
    state = {"step": 0, "elapsed": 0.0, "rng": [recipe["seed"], 21]}
    if os.path.exists(ck):
        c = torch.load(ck)
        ae.load_state_dict(c["model"])
        opt.load_state_dict(c["opt"])
        state = c["state"]
        torch.set_rng_state(c["torch_rng"])
        log(f"ae: resumed at step {state['step']}, {state['elapsed'] / 60:.1f} min")
    rng = np.random.default_rng(state["rng"] + [state["step"]])
    budget = args.minutes * 60
    lg = CsvLog(os.path.join(d, "loss.csv"), ["step", "elapsed_s", "loss", "mse", "kl", "lr", "crop", "img_per_s",
                                              "threads"])
    tuner = ThreadTuner(torch, "ae")
    stop = Stop()

    def save():
        torch_save({"model": ae.state_dict(), "opt": opt.state_dict(), "state": state,
                    "torch_rng": torch.get_rng_state()}, ck)

    meter = CropStageMeter("ae", state, args.minutes, args.ckpt_minutes, tuner, lg, save)
    while state["elapsed"] < budget and not stop.flag:
        tuner.before()
        t_step = time.time()
        frac = state["elapsed"] / budget
        _, crop, bsz = [p for p in recipe["ae_phases"] if p[0] <= frac][-1]
        idx = np.sort(rng.choice(n, bsz, replace=False))
        batch = imgs[idx]
        ys, xs = crop_origins(rng, [scenes[i] for i in idx], crop, info["side"], recipe.get("ae_object_crops", 0.0))
        crops = np.stack([b[y:y + crop, x:x + crop] for b, y, x in zip(batch, ys, xs)])
        flip = rng.random(bsz) < 0.5
        crops[flip] = crops[flip, :, ::-1]
        x = images_to_tensor(torch, crops)
        lr = lr_at(frac, state["step"], recipe["ae_lr"], recipe["ae_warmup"], 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        mean, logvar = ae.moments(x)
        logvar = logvar.clamp(-30, 20)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        rec = ae.decoder(z)
        rec_loss, mse = reconstruction_loss(torch, rec, x, recipe.get("ae_l1", 0.0))
        kl = 0.5 * torch.mean(mean ** 2 + torch.exp(logvar) - 1 - logvar)
        loss = rec_loss + recipe["ae_kl"] * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        meter.after_step(t_step, bsz, (float(loss), float(mse), float(kl)), lr, crop)
    save()
    if stop.flag:
        log("ae: interrupted, checkpoint saved")
        return 130

    # Scale and shift: over the latent means of held-back-free training images (full size, eval mode).
    ae.eval()
    m = min(n, 512)
    with torch.no_grad():
        lat = torch.cat([ae.moments(images_to_tensor(torch, imgs[i:i + 32]))[0] for i in range(0, m, 32)])
        shift = float(lat.mean())
        scale = float(1.0 / lat.std())
    psnr = reconstruction_report(torch, ae, imgs, os.path.join(d, "reconstruction.png"))
    params = dict(recipe["ae"], scale_factor=round(scale, 6), shift_factor=round(shift, 6))
    torch_save({"model": ae.state_dict(), "params": params}, os.path.join(d, "ae.pt"))
    info = {"steps": state["step"], "seconds": state["elapsed"], "scale_factor": params["scale_factor"],
            "shift_factor": params["shift_factor"], "psnr_full_images": round(psnr, 2),
            "params": models.count_params(ae)}
    mark_done(work, "ae", info)
    log(f"ae: done {info}")
    return 0


# ------------------------------------------------------------------------------------------------
# Stage cache
# ------------------------------------------------------------------------------------------------

def stage_cache(args):
    torch = torch_setup()
    import models
    work = args.work
    d = os.path.join(work, "cache")
    os.makedirs(d, exist_ok=True)
    if stage_done(work, "cache"):
        log("cache: already done")
        return 0
    imgs, info = open_images(work)
    n = info["count"]
    c = torch.load(os.path.join(work, "ae", "ae.pt"))
    ae = models.AutoEncoder(c["params"]).eval()
    ae.load_state_dict(c["model"])
    side, z = info["side"], c["params"]["z_channels"]
    h = side // 8
    path, prog_path = os.path.join(d, "latents.f16"), os.path.join(d, "progress.json")
    prog = json.load(open(prog_path)) if os.path.exists(prog_path) else {"count": 0, "elapsed": 0.0, "total": n}
    lat = np.memmap(path, dtype=np.float16, mode="r+" if os.path.exists(path) else "w+", shape=(n, z, h, h))
    budget = args.minutes * 60
    stop = Stop()
    B = 32
    t_last = time.time()
    tuner = ThreadTuner(torch, "cache", probe=2, skip=1)
    with torch.no_grad():
        while prog["count"] < n and prog["elapsed"] < budget and not stop.flag:
            tuner.before()
            t0 = time.time()
            i = prog["count"]
            j = min(i + B, n)
            lat[i:j] = ae.moments(images_to_tensor(torch, imgs[i:j]))[0].numpy().astype(np.float16)
            prog["count"] = j
            prog["elapsed"] += time.time() - t0
            tuner.after(time.time() - t0)
            if time.time() - t_last > 30 or j == n:
                lat.flush()
                atomic_json(prog_path, prog)
                t_last = time.time()
                log(f"cache: {j}/{n} latents, {j / prog['elapsed']:.1f} img/s")
    lat.flush()
    atomic_json(prog_path, prog)
    if stop.flag:
        return 130
    mark_done(work, "cache", {"count": prog["count"], "seconds": prog["elapsed"],
                              "img_per_s": prog["count"] / max(prog["elapsed"], 1e-9)})
    log(f"cache: done, {prog['count']} latents in {prog['elapsed']:.0f} s")
    return 0


# ------------------------------------------------------------------------------------------------
# Stage decoder
# ------------------------------------------------------------------------------------------------

def stage_decoder(args):
    """Fine-tunes the AE decoder alone on the cached latents: the encoder, and so every latent the
    transformer learns from, stays as it is, while the decoder gets more steps than joint training
    could give it (a decoder step needs no encoder pass). L1 + MSE: L1 sharpens the small shapes
    that MSE leaves blurred."""
    torch = torch_setup()
    import models
    work = args.work
    d = os.path.join(work, "decoder")
    os.makedirs(d, exist_ok=True)
    if stage_done(work, "decoder"):
        log("decoder: already done")
        return 0
    recipe = load_recipe(work)
    imgs, info = open_images(work)
    c = torch.load(os.path.join(work, "ae", "ae.pt"))
    params = c["params"]
    ae = models.AutoEncoder(params)
    ae.load_state_dict(c["model"])
    z, side = params["z_channels"], info["side"]
    h = side // 8
    n = json.load(open(os.path.join(work, "cache", "progress.json")))["count"]
    lat_all = np.memmap(os.path.join(work, "cache", "latents.f16"), dtype=np.float16, mode="r").reshape(-1, z, h, h)[:n]
    scenes = load_scenes(work, limit=n)
    for p_ in ae.encoder.parameters():
        p_.requires_grad_(False)
    opt = torch.optim.AdamW(ae.decoder.parameters(), lr=recipe["decoder_lr"], betas=(0.9, 0.99), weight_decay=0.0)
    ck = os.path.join(d, "ckpt.pt")
    state = {"step": 0, "elapsed": 0.0}
    if os.path.exists(ck):
        cc = torch.load(ck)
        ae.decoder.load_state_dict(cc["decoder"])
        opt.load_state_dict(cc["opt"])
        state = cc["state"]
        log(f"decoder: resumed at step {state['step']}, {state['elapsed'] / 60:.1f} min")
    rng = np.random.default_rng([recipe["seed"], 51, state["step"]])
    budget = args.minutes * 60
    lg = CsvLog(os.path.join(d, "loss.csv"), ["step", "elapsed_s", "loss", "mse", "lr", "crop", "img_per_s", "threads"])
    tuner = ThreadTuner(torch, "decoder")
    stop = Stop()

    def save():
        torch_save({"decoder": ae.decoder.state_dict(), "opt": opt.state_dict(), "state": state}, ck)

    meter = CropStageMeter("decoder", state, args.minutes, args.ckpt_minutes, tuner, lg, save)
    while state["elapsed"] < budget and not stop.flag:
        tuner.before()
        t_step = time.time()
        frac = state["elapsed"] / budget
        _, crop, bsz = [p_ for p_ in recipe["decoder_phases"] if p_[0] <= frac][-1]
        lc = crop // 8
        idx = np.sort(rng.choice(n, bsz, replace=False))
        ys, xs = crop_origins(rng, [scenes[i] for i in idx], crop, 8 * h, recipe.get("ae_object_crops", 0.0), unit=8)
        ys, xs = ys // 8, xs // 8
        zl = np.stack([lat_all[i, :, y:y + lc, x:x + lc] for i, y, x in zip(idx, ys, xs)]).astype(np.float32)
        target = np.stack([imgs[i, 8 * y:8 * (y + lc), 8 * x:8 * (x + lc)] for i, y, x in zip(idx, ys, xs)])
        x_t = images_to_tensor(torch, target)
        lr = lr_at(frac, state["step"], recipe["decoder_lr"], 20, 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        rec = ae.decoder(torch.from_numpy(zl))
        loss, mse = reconstruction_loss(torch, rec, x_t, 1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        meter.after_step(t_step, bsz, (float(loss), float(mse)), lr, crop)
    save()
    if stop.flag:
        log("decoder: interrupted, checkpoint saved")
        return 130
    ae.eval()
    psnr = reconstruction_report(torch, ae, imgs, os.path.join(d, "reconstruction.png"))
    torch_save({"model": ae.state_dict(), "params": params}, os.path.join(d, "ae.pt"))
    info = {"steps": state["step"], "seconds": state["elapsed"], "psnr_full_images": round(psnr, 2),
            "psnr_before": stage_done(work, "ae")["psnr_full_images"]}
    mark_done(work, "decoder", info)
    log(f"decoder: done {info}")
    return 0


# ------------------------------------------------------------------------------------------------
# Stage dit
# ------------------------------------------------------------------------------------------------

class TextIds:
    """Token id layouts: T5 = ids[:L-1] + EOS, padded with PAD; CLIP = BOS + ids[:L-2] + EOS, padded with EOS."""

    def __init__(self, sp_model_path, length, pad=0, eos=1, bos=3):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor(model_file=sp_model_path)
        self.L, self.pad, self.eos, self.bos = length, pad, eos, bos

    def tokens(self, texts):
        return self.sp.encode(list(texts))

    def t5(self, toks):
        out = np.full((len(toks), self.L), self.pad, dtype=np.int64)
        for i, t in enumerate(toks):
            t = t[:self.L - 1] + [self.eos]
            out[i, :len(t)] = t
        return out

    def clip(self, toks):
        out = np.full((len(toks), self.L), self.eos, dtype=np.int64)
        for i, t in enumerate(toks):
            t = [self.bos] + t[:self.L - 2] + [self.eos]
            out[i, :len(t)] = t
        return out


_POSITION_WORDS = ("top", "bottom", "left", "right", "center", "middle")
N_COLOURS, N_SHAPES, N_CELLS = len(shapes.COLOUR_NAMES), len(shapes.SHAPES), 9
PROBE_SIZES = (N_COLOURS, N_CELLS * (N_COLOURS + 1), N_CELLS * (N_SHAPES + 1), N_COLOURS * N_SHAPES)


def caption_targets(scene, text):
    """What a caption says about its scene, as classification targets (-100 = the caption does not say):
    background colour; per grid cell the object's colour and shape, or "empty" (only when the caption
    places its objects); and which colour+shape pairs it names (multi-hot)."""
    ignore = -100
    bg = shapes.COLOUR_NAMES.index(scene["background"]["colour"]) if "background" in text else ignore
    placed = any(w in text for w in _POSITION_WORDS)
    cell_colour = [N_COLOURS if placed else ignore] * N_CELLS
    cell_shape = [N_SHAPES if placed else ignore] * N_CELLS
    pairs = np.zeros(N_COLOURS * N_SHAPES, dtype=np.float32)
    for o in scene["objects"]:
        ci, si = shapes.COLOUR_NAMES.index(o["colour"]), shapes.SHAPES.index(o["shape"])
        pairs[ci * N_SHAPES + si] = 1.0
        if placed:
            cell = o["cell"][0] * 3 + o["cell"][1]
            cell_colour[cell], cell_shape[cell] = ci, si
    return bg, cell_colour, cell_shape, pairs


class CaptionTargets:
    """A batch of caption_targets; empty captions (dropout, None) are masked out of the loss by `keep`
    and get placeholder targets, so that every tensor keeps the batch's rows."""

    def __init__(self, torch, items):
        self.keep = torch.tensor([it is not None for it in items])
        self.keep_pooled = self.keep
        blank = (-100, [-100] * N_CELLS, [-100] * N_CELLS, np.zeros(N_COLOURS * N_SHAPES, dtype=np.float32))
        items = [it if it is not None else blank for it in items]
        self.bg = torch.tensor([it[0] for it in items], dtype=torch.long)
        self.cell_colour = torch.tensor([it[1] for it in items], dtype=torch.long)
        self.cell_shape = torch.tensor([it[2] for it in items], dtype=torch.long)
        self.pairs = torch.from_numpy(np.stack([it[3] for it in items]))


def caption_probe(torch, d_t5, d_clip):
    """Linear read-outs of the caption targets from the T5 mean over its real tokens and from CLIP's
    pooled output (training only; not exported)."""
    return torch.nn.ModuleDict({"t5": torch.nn.Linear(d_t5, sum(PROBE_SIZES)),
                                "clip": torch.nn.Linear(d_clip, sum(PROBE_SIZES))})


def caption_probe_loss(torch, probe, txt, real_tokens, y, targets):
    """Summed cross-entropies of both read-outs against `targets` (a CaptionTargets): each term is the
    mean over the kept captions and the targets they state, 0 when there are none (`keep` for the T5
    read-out, `keep_pooled` for CLIP's, which may have seen another caption). Written with masks
    rather than data-dependent indexing, so that a GPU never waits for the host."""
    F = torch.nn.functional
    txt, y = txt.float(), y.float()
    real = real_tokens.unsqueeze(-1).float()
    mean = (txt * real).sum(1) / real.sum(1).clamp(min=1)
    total = txt.new_zeros((), dtype=torch.float32)
    for logits, kept in ((probe["t5"](mean), targets.keep), (probe["clip"](y), targets.keep_pooled)):
        keep = kept.float()
        bg, cc, cs, pairs = logits.float().split(PROBE_SIZES, dim=-1)
        bce = F.binary_cross_entropy_with_logits(pairs, targets.pairs, reduction="none")
        total = total + (bce * keep[:, None]).sum() / (keep.sum() * bce.shape[-1]).clamp(min=1)
        for lg, t, n in ((bg, targets.bg, N_COLOURS), (cc, targets.cell_colour, N_COLOURS + 1),
                         (cs, targets.cell_shape, N_SHAPES + 1)):
            valid = ((t >= 0) & kept.reshape(-1, *([1] * (t.dim() - 1)))).reshape(-1)
            ce = F.cross_entropy(lg.reshape(-1, n), t.reshape(-1).clamp(min=0), reduction="none")
            total = total + (ce * valid).sum() / valid.sum().clamp(min=1)
    return total


def build_text_models(torch, recipe, vocab):
    import models
    L = recipe["text_max_length"]
    t5 = models.T5Encoder(dict(recipe["t5"], vocab_size=vocab, pad_token_id=recipe["pad_id"],
                               eos_token_id=recipe["eos_id"]))
    clip = models.CLIPText(dict(recipe["clip"], vocab_size=vocab, max_position_embeddings=L,
                                bos_token_id=recipe["bos_id"], eos_token_id=recipe["eos_id"],
                                pad_token_id=recipe["eos_id"]))
    return t5, clip


def build_nets(torch, recipe, vocab):
    """The text encoders and the transformer with the recipe's seeded initialisation, as one
    ModuleDict {"t5", "clip", "dit"}, and the transformer's config."""
    import models
    torch.manual_seed(recipe["seed"] + 31)
    t5, clip = build_text_models(torch, recipe, vocab)
    cfg = dit_config(recipe)
    dit = models.FluxDiT(cfg)
    gen = torch.Generator().manual_seed(recipe["seed"] + 32)
    t5.init_weights(gen)
    clip.init_weights(gen)
    dit.init_weights(gen)
    return torch.nn.ModuleDict({"t5": t5, "clip": clip, "dit": dit}), cfg


def dit_config(recipe):
    c = dict(recipe["dit"])
    c.update(in_channels=4 * recipe["ae"]["z_channels"], out_channels=4 * recipe["ae"]["z_channels"],
             vec_in_dim=recipe["clip"]["hidden_size"], context_in_dim=recipe["t5"]["d_model"])
    return c


def stage_dit(args):
    torch = torch_setup()
    import models
    import flux_torch as ft
    work = args.work
    d = os.path.join(work, "dit")
    os.makedirs(d, exist_ok=True)
    if stage_done(work, "dit"):
        log("dit: already done")
        return 0
    recipe = load_recipe(work)
    aeinfo = stage_done(work, "ae")
    scale, shift = aeinfo["scale_factor"], aeinfo["shift_factor"]
    n = json.load(open(os.path.join(work, "cache", "progress.json")))["count"]
    side = recipe["side"]
    h = side // 8
    lat_all = np.memmap(os.path.join(work, "cache", "latents.f16"), dtype=np.float16, mode="r")
    lat_all = lat_all.reshape(-1, recipe["ae"]["z_channels"], h, h)[:n]
    x0_all = ft.pack_latent(torch.from_numpy((lat_all.astype(np.float32) - shift) * scale))  # [n, tokens, 64]
    scenes = load_scenes(work, limit=n)
    L = recipe["text_max_length"]
    tok = TextIds(os.path.join(work, "tokenizer", "spiece.model"), L, recipe["pad_id"], recipe["eos_id"], recipe["bos_id"])
    vocab = tok.sp.get_piece_size()
    log(f"dit: {n} latents (std {float(x0_all.std()):.3f}), vocab {vocab}, text length {L}")

    nets, cfg = build_nets(torch, recipe, vocab)
    t5, clip, dit = nets["t5"], nets["clip"], nets["dit"]
    ema = copy.deepcopy(nets).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    aux_weight = recipe.get("text_aux_weight", 0.0)
    probe = caption_probe(torch, recipe["t5"]["d_model"], recipe["clip"]["hidden_size"])
    decay_params = [p for n_, p in nets.named_parameters() if p.ndim >= 2] + list(probe.parameters())
    other_params = [p for n_, p in nets.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay_params, "weight_decay": recipe["dit_wd"]},
                             {"params": other_params, "weight_decay": 0.0}],
                            lr=recipe["dit_lr"], betas=tuple(recipe["dit_betas"]))
    ck = os.path.join(d, "ckpt.pt")
    state = {"step": 0, "elapsed": 0.0, "samples": 0}
    if os.path.exists(ck):
        c = torch.load(ck)
        nets.load_state_dict(c["model"])
        ema.load_state_dict(c["ema"])
        if "probe" in c:
            probe.load_state_dict(c["probe"])
        opt.load_state_dict(c["opt"])
        state = c["state"]
        torch.set_rng_state(c["torch_rng"])
        log(f"dit: resumed at step {state['step']}, {state['elapsed'] / 60:.1f} min")
    rng = np.random.default_rng([recipe["seed"], 41, state["step"]])
    cos, sin = dit.rope_for(L, h // 2, h // 2)
    B = recipe["dit_batch"]
    budget = args.minutes * 60
    lg = CsvLog(os.path.join(d, "loss.csv"), ["step", "elapsed_s", "samples", "loss", "lr", "samples_per_s", "threads",
                                              "caption_probe"])
    tuner = ThreadTuner(torch, "dit")
    stop = Stop()
    ema_params = list(ema.parameters())
    net_params = list(nets.parameters())

    def save():
        torch_save({"model": nets.state_dict(), "ema": ema.state_dict(), "probe": probe.state_dict(), "opt": opt.state_dict(),
                    "state": state, "torch_rng": torch.get_rng_state()}, ck)

    def draw_caption(scene):
        if rng.random() < recipe["caption_dropout"]:
            return ""
        for _ in range(4):
            c = shapes.caption(scene, rng)
            if len(tok.sp.encode(c)) <= L - 2:
                return c
        return shapes.canonical_caption(scene)

    last_ck = time.time()
    acc, acc_aux, acc_n, seen, t_log = 0.0, 0.0, 0, 0, time.time()
    while state["elapsed"] < budget and not stop.flag:
        tuner.before()
        t_step = time.time()
        idx = rng.integers(0, n, B)
        captions = [draw_caption(scenes[i]) for i in idx]
        toks = tok.tokens(captions)
        targets = CaptionTargets(torch, [caption_targets(scenes[i], c) if c else None for i, c in zip(idx, captions)])
        ids_t5 = torch.from_numpy(tok.t5(toks))
        # Recipe option (0 unless set): CLIP gets the empty caption or the next sample's now and then,
        # so that the T5 tokens carry every word (see accelerated.py --pooled-drop/--pooled-swap).
        pd, ps = recipe.get("pooled_drop", 0.0), recipe.get("pooled_swap", 0.0)
        clip_toks = toks
        if pd + ps > 0:
            u = rng.random(B)
            clip_toks = [[] if u[j] < pd else toks[(j + 1) % B] if u[j] < pd + ps else toks[j] for j in range(B)]
            targets.keep_pooled = targets.keep & torch.from_numpy(u >= pd + ps)
        ids_clip = torch.from_numpy(tok.clip(clip_toks))
        x0 = x0_all[torch.from_numpy(idx)]
        noise = torch.randn_like(x0)
        t = torch.sigmoid(torch.randn(B) * recipe["t_std"] + recipe["t_mean"])
        xt = (1 - t[:, None, None]) * x0 + t[:, None, None] * noise
        frac = state["elapsed"] / budget
        lr = lr_at(frac, state["step"], recipe["dit_lr"], recipe["dit_warmup"], recipe["dit_lr_final"])
        for g in opt.param_groups:
            g["lr"] = lr
        with mixed_precision(torch, "cpu"):
            txt = t5(ids_t5)
            _, y = clip(ids_clip)
            pred = dit(xt, txt, y, t, cos, sin)
        fm_loss = torch.mean((pred.float() - (noise - x0)) ** 2)
        aux = caption_probe_loss(torch, probe, txt, ids_t5 != recipe["pad_id"], y, targets) if aux_weight else 0.0
        loss = fm_loss + aux_weight * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net_params, recipe["dit_grad_clip"])
        opt.step()
        decay = min(recipe["ema"], (1 + state["step"]) / (10 + state["step"]))
        with torch.no_grad():
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, net_params, alpha=1 - decay)
        state["step"] += 1
        state["samples"] += B
        state["elapsed"] += time.time() - t_step
        tuner.after(time.time() - t_step)
        acc += float(fm_loss)
        acc_aux += float(aux)
        acc_n += 1
        seen += B
        if state["step"] % 25 == 0 or state["elapsed"] >= budget:
            now = time.time()
            lg.row(state["step"], state["elapsed"], state["samples"], acc / acc_n, lr, seen / (now - t_log), tuner.best,
                   acc_aux / acc_n)
            if state["step"] % 250 == 0:
                log(f"dit: step {state['step']} {state['elapsed'] / 60:.1f}/{args.minutes:.1f} min "
                    f"loss {acc / acc_n:.4f} caption probe {acc_aux / acc_n:.3f} lr {lr:.2e} "
                    f"({seen / (now - t_log):.1f} samples/s)")
            acc, acc_aux, acc_n, seen, t_log = 0.0, 0.0, 0, 0, now
        if time.time() - last_ck > args.ckpt_minutes * 60:
            save()
            last_ck = time.time()
    save()
    if stop.flag:
        log("dit: interrupted, checkpoint saved")
        return 130
    torch_save({"ema": ema.state_dict(), "config": cfg, "vocab": vocab}, os.path.join(d, "final.pt"))
    info = {"steps": state["step"], "samples": state["samples"], "seconds": state["elapsed"],
            "samples_per_s": state["samples"] / max(state["elapsed"], 1e-9), "latents": n,
            "params": {"dit": models.count_params(dit), "t5": models.count_params(t5), "clip": models.count_params(clip)}}
    mark_done(work, "dit", info)
    log(f"dit: done {info}")
    return 0


# ------------------------------------------------------------------------------------------------
# Stage export
# ------------------------------------------------------------------------------------------------

def hf_t5_config(c, dtype):
    return {"architectures": ["T5EncoderModel"], "model_type": "t5", "vocab_size": c["vocab_size"],
            "d_model": c["d_model"], "d_kv": c["d_kv"], "d_ff": c["d_ff"], "num_layers": c["num_layers"],
            "num_heads": c["num_heads"], "relative_attention_num_buckets": c["relative_attention_num_buckets"],
            "relative_attention_max_distance": c["relative_attention_max_distance"],
            "layer_norm_epsilon": c["layer_norm_epsilon"], "feed_forward_proj": "gated-gelu",
            "dense_act_fn": "gelu_new", "is_gated_act": True, "dropout_rate": 0.0, "pad_token_id": c["pad_token_id"],
            "eos_token_id": c["eos_token_id"], "decoder_start_token_id": c["pad_token_id"],
            "tie_word_embeddings": False, "is_encoder_decoder": False, "torch_dtype": dtype}


def hf_clip_config(c, dtype):
    return {"architectures": ["CLIPTextModel"], "model_type": "clip_text_model", "vocab_size": c["vocab_size"],
            "hidden_size": c["hidden_size"], "intermediate_size": c["intermediate_size"],
            "num_hidden_layers": c["num_hidden_layers"], "num_attention_heads": c["num_attention_heads"],
            "max_position_embeddings": c["max_position_embeddings"], "hidden_act": "quick_gelu",
            "layer_norm_eps": c["layer_norm_eps"], "attention_dropout": 0.0, "bos_token_id": c["bos_token_id"],
            "eos_token_id": c["eos_token_id"], "pad_token_id": c["pad_token_id"], "torch_dtype": dtype}


def stage_export(args):
    torch = torch_setup()
    import models
    torch.set_grad_enabled(False)
    work, out = args.work, args.out
    recipe = load_recipe(work)
    for s in ("data", "ae", "cache", "dit", "decoder"):
        if not stage_done(work, s):
            log(f"export: stage {s} has not finished")
            return 1
    fin = torch.load(os.path.join(work, "dit", "final.pt"))
    aec = torch.load(os.path.join(work, "decoder", "ae.pt"))  # the fine-tuned decoder, same encoder
    ae = models.AutoEncoder(aec["params"])
    ae.load_state_dict(aec["model"])
    spm_bytes = open(os.path.join(work, "tokenizer", "spiece.model"), "rb").read()
    infos = {s: stage_done(work, s) for s in ("data", "ae", "cache", "dit", "decoder")}
    return export_folder(torch, out, recipe, fin, ae, spm_bytes, infos, "tools/train/train.sh")


def export_folder(torch, out, recipe, fin, ae, spm_bytes, infos, recipe_name):
    """Writes the model folder: `fin` holds the text encoders' and transformer's weights ("ema"), the
    transformer config and the vocabulary size; `ae` is the AutoEncoder module to ship; `infos` the
    finished stages' figures for sinopia-model.json. Returns 0, or 1 when the exported transformer does
    not reproduce the training module or the folder is too large."""
    import models
    import flux_torch as ft
    os.makedirs(out, exist_ok=True)
    for sub in ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    vocab = fin["vocab"]
    t5, clip = build_text_models(torch, recipe, vocab)
    dit = models.FluxDiT(fin["config"])
    nets = torch.nn.ModuleDict({"t5": t5, "clip": clip, "dit": dit})
    nets.load_state_dict(fin["ema"])
    producer = "tools/train/train.py export (Sinopia shapes-world recipe)"

    def arrays(m):
        return {k: v.detach().float().numpy() for k, v in m.state_dict().items()}

    flux_params = ft.config_json(ft.check_config(fin["config"]))
    ft.save_safetensors(os.path.join(out, "transformer.safetensors"), arrays(dit),
                        {"flux_params": flux_params, "producer": producer, "format": "pt"}, float_dtype="BF16")
    ft.save_safetensors(os.path.join(out, "ae.safetensors"), arrays(ae),
                        {"ae_params": json.dumps(ae.params), "producer": producer, "format": "pt"},
                        float_dtype="F16")
    t5cfg = hf_t5_config(t5.config, "float16")
    clipcfg = hf_clip_config(clip.config, "float16")
    ft.save_safetensors(os.path.join(out, "text_encoder_2", "model.safetensors"), arrays(t5),
                        {"t5_config": json.dumps(t5cfg), "producer": producer, "format": "pt"}, float_dtype="F16")
    ft.save_safetensors(os.path.join(out, "text_encoder", "model.safetensors"), arrays(clip),
                        {"clip_text_config": json.dumps(clipcfg), "producer": producer, "format": "pt"},
                        float_dtype="F16")
    atomic_json(os.path.join(out, "text_encoder_2", "config.json"), t5cfg)
    atomic_json(os.path.join(out, "text_encoder", "config.json"), clipcfg)
    for sub in ("tokenizer", "tokenizer_2"):
        with open(os.path.join(out, sub, "spiece.model"), "wb") as f:
            f.write(spm_bytes)
    L = recipe["text_max_length"]
    card = model_json(recipe, infos, L, recipe_name)
    atomic_json(os.path.join(out, "sinopia-model.json"), card)

    # Round trip: the exported transformer through the reference forward of tools/flux_torch.py must
    # match the training module (given the same bf16-rounded weights).
    ref = ft.FluxModel.from_file(os.path.join(out, "transformer.safetensors"))
    dit_r = models.FluxDiT(fin["config"])
    st = ft.SafeTensors(os.path.join(out, "transformer.safetensors"))
    dit_r.load_state_dict({k: torch.from_numpy(st.get(k, float32=True)) for k in st.names()}, strict=True)
    g = torch.Generator().manual_seed(5)
    hh = recipe["side"] // 16
    img = torch.randn(1, hh * hh, fin["config"]["in_channels"], generator=g)
    txt = torch.randn(1, L, fin["config"]["context_in_dim"], generator=g)
    y = torch.randn(1, fin["config"]["vec_in_dim"], generator=g)
    tt = torch.tensor([0.7])
    a = ref.forward(img, torch.from_numpy(ft.make_img_ids(hh, hh)), txt, torch.from_numpy(ft.make_txt_ids(L)), tt, y)
    cos, sin = dit_r.rope_for(L, hh, hh)
    b = dit_r(img, txt, y, tt, cos, sin)
    err = float((a - b).abs().max())
    sizes = {}
    for root, _, files in os.walk(out):
        for fn in files:
            p = os.path.join(root, fn)
            sizes[os.path.relpath(p, out)] = os.path.getsize(p)
    total = sum(sizes.values())
    log(f"export: {out}: {total / 1e6:.2f} MB; reference-forward vs training-module max abs diff {err:.2e}")
    for k in sorted(sizes):
        log(f"  {k:40s} {sizes[k] / 1e6:8.3f} MB")
    if err > 1e-3:
        log("export: ERROR the exported transformer does not reproduce the training module")
        return 1
    if total > 40e6:
        log("export: ERROR the model folder exceeds 40 MB")
        return 1
    return 0


def model_json(recipe, infos, L, recipe_name):
    dit, ae = infos["dit"], infos["ae"]
    return {
        "format": "sinopia-model",
        "format_version": 1,
        "name": "sinopia-shapes",
        "description": "Sinopia's embedded FLUX.1-architecture model, trained from scratch on the procedural "
                       "shapes world (docs/shapes-world.md).",
        "architecture": "flux.1",
        "license": "Apache-2.0",
        "native_size": recipe["side"],
        "native_width": recipe["side"],
        "native_height": recipe["side"],
        "size_multiple": 16,
        "default_steps": recipe["default_steps"],
        "guidance_mode": "cfg",
        "default_guidance": recipe["default_guidance"],
        "shift": recipe["shift"],
        "base_shift": 0.5,
        "max_shift": 1.15,
        "text_max_length": L,
        "t5_max_length": L,
        "clip_max_length": L,
        "tokens": {"pad": recipe["pad_id"], "eos": recipe["eos_id"], "unk": recipe["unk_id"], "bos": recipe["bos_id"],
                   "t5_layout": "ids[:L-1] + eos, right-padded with pad",
                   "clip_layout": "bos + ids[:L-2] + eos, right-padded with eos; pooled at the first eos"},
        "noise": "tools/train/sample.py: torch.randn(1, 16, H/8, W/8, dtype=float32, "
                 "generator=torch.Generator('cpu').manual_seed(seed)); the C engine: sinopia_noise(seed) "
                 "(so a seed paints different images in the two; give the noise to compare them)",
        # the values `sinopia-cli bench regional` / `bench inpaint` report with (docs/shapes-world.md)
        "regional_prompting": {"base_ratio": 0.8, "injection_end": 0.5, "double_interval": 2, "single_interval": 4},
        "kv_edit": {"skip_steps": 4, "inversion_guidance": 1.0, "denoise_guidance": recipe["default_guidance"],
                    "attn_scale": 1.0, "reinit_noise": False},
        # Stable Flow edits of generated images take the reference code's 15 steps (algorithms.md
        # §2.4), fewer than generation's; `bench edit` success on seeds 0 / 1000 / 2000 was 76 / 88 /
        # 76 % against 74 / 84 / 78 % at 20 (docs/architecture.md)
        "stable_flow": {"generated_steps": 15},
        # measured on the exported model with `sinopia-cli vital-layers`, then written here by hand
        "vital_layers": {"placeholder": True, "layers": []},
        # Set to true (with the figures) once `sinopia-cli bench quality` shows the targets of
        # docs/shapes-world.md are met; tests then hold generated pixels to the analyzer.
        "quality": {"meets_targets": False},
        "training": {"recipe": recipe_name, "seed": recipe["seed"], "steps": dit["steps"],
                     "samples": dit["samples"], "dit_minutes": round(dit["seconds"] / 60, 1),
                     "ae_minutes": round(ae["seconds"] / 60, 1),
                     "decoder_minutes": round(infos["decoder"]["seconds"] / 60, 1), "training_images": dit["latents"],
                     "machine": os.environ.get("SINOPIA_TRAIN_MACHINE", "cpu (2 threads)")},
    }



# ------------------------------------------------------------------------------------------------
# Throughput benchmark (synthetic data, the recipe's model sizes)
# ------------------------------------------------------------------------------------------------

def stage_bench(args):
    """Seconds per step of each training stage with the recipe's sizes, on random data. Run the AE part
    with OMP_WAIT_POLICY=PASSIVE and the DiT part without it, as train.sh runs the stages."""
    torch = torch_setup()
    import models
    recipe = load_recipe(args.work) if args.work else copy.deepcopy(RECIPE)
    res = {}

    threads = [int(os.environ["SINOPIA_TRAIN_THREADS"])] if os.environ.get("SINOPIA_TRAIN_THREADS") else [2, 1]

    def timed(fn, warm=2, reps=3):
        """Median seconds per call for each thread count -> (best seconds, "2: x s, 1: y s")."""
        meds = {}
        for nt in threads:
            torch.set_num_threads(nt)
            for _ in range(warm):
                fn()
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                fn()
                ts.append(time.perf_counter() - t0)
            meds[nt] = sorted(ts)[len(ts) // 2]
        return min(meds.values()), "threads " + ", ".join(f"{k}: {v:.3f} s" for k, v in meds.items())

    if args.part in ("ae", "all"):
        ae = models.AutoEncoder(dict(recipe["ae"], scale_factor=1.0, shift_factor=0.0))
        opt = torch.optim.AdamW(ae.parameters(), lr=1e-4)
        for _, crop, bsz in recipe["ae_phases"]:
            x = torch.rand(bsz, 3, crop, crop) * 2 - 1

            def step():
                m, lv = ae.moments(x)
                loss = torch.mean((ae.decoder(m) - x) ** 2)
                opt.zero_grad()
                loss.backward()
                opt.step()
            s, nt = timed(step)
            res[f"ae_step_crop{crop}_b{bsz}"] = s
            log(f"bench: AE step, {bsz} crops of {crop}^2: {s:.3f} s ({bsz / s:.1f} crops/s, {nt})")
        x = torch.rand(32, 3, recipe["side"], recipe["side"]) * 2 - 1
        with torch.no_grad():
            s, nt = timed(lambda: ae.moments(x), 1, 2)
        res["encode_img_per_s"] = 32 / s
        log(f"bench: AE encode at {recipe['side']}^2: {32 / s:.1f} img/s ({nt})")
    if args.part in ("dit", "all"):
        L = recipe["text_max_length"]
        vocab = 300
        t5, clip = build_text_models(torch, recipe, vocab)
        dit = models.FluxDiT(dit_config(recipe))
        t5.init_weights()
        clip.init_weights()
        dit.init_weights()
        params = list(t5.parameters()) + list(clip.parameters()) + list(dit.parameters())
        opt = torch.optim.AdamW(params, lr=1e-4)
        B = recipe["dit_batch"]
        h = recipe["side"] // 16
        ids = torch.randint(4, vocab, (B, L))
        ids[:, 20] = recipe["eos_id"]
        x = torch.randn(B, h * h, dit.cfg["in_channels"])
        cos, sin = dit.rope_for(L, h, h)

        def step():
            with mixed_precision(torch, "cpu"):
                out = dit(x, t5(ids), clip(ids)[1], torch.rand(B), cos, sin)
            loss = torch.mean((out.float() - x) ** 2)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
        s, nt = timed(step)
        res["dit_step"] = s
        res["dit_samples_per_s"] = B / s
        log(f"bench: DiT+text encoders step, batch {B}, {h * h}+{L} tokens: {s:.3f} s ({B / s:.1f} samples/s, "
            f"{nt}); "
            f"params dit {models.count_params(dit)}, t5 {models.count_params(t5)}, clip {models.count_params(clip)}")
    if args.json:
        old = json.load(open(args.json)) if os.path.exists(args.json) else {}
        old.update(res)
        atomic_json(args.json, old)
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser(prog="train.py", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("bench")
    p.add_argument("--work", metavar="DIR", help="use this run's recipe.json (default: RECIPE)")
    p.add_argument("--part", choices=("ae", "dit", "all"), default="all")
    p.add_argument("--json", metavar="FILE", help="merge the timings into this JSON file")
    for name in ("data", "ae", "cache", "dit", "decoder", "export"):
        p = sub.add_parser(name)
        p.add_argument("--work", required=True, metavar="DIR")
        if name == "data":
            p.add_argument("--count", type=int, default=24000)
            p.add_argument("--seed", type=int, default=None)
        if name in ("ae", "cache", "dit", "decoder"):
            p.add_argument("--minutes", type=float, required=True)
            p.add_argument("--ckpt-minutes", type=float, default=3.0)
        if name == "export":
            p.add_argument("--out", required=True, metavar="DIR")
    args = ap.parse_args(argv)
    if args.work:
        os.makedirs(args.work, exist_ok=True)
    return {"bench": stage_bench, "data": stage_data, "ae": stage_ae, "cache": stage_cache, "dit": stage_dit,
            "decoder": stage_decoder, "export": stage_export}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
