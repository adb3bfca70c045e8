#!/usr/bin/python3
"""The transformer stage of the shapes-world recipe for a machine with a GPU, in one run.

    accelerated.py --work W --out MODEL_DIR --minutes M [--wall-minutes W] [--images N] [--batch B]
                   [--lr LR] [--base MODEL_DIR] [--init] [--device cuda|cpu] [--workers P]

The CPU recipe (train.sh) feeds the transformer 16 200 cached latents at ~75 samples/s. A GPU does
several hundred times that, so the data must keep up: this run renders N fresh scenes on every core,
encodes them with the base model's autoencoder on the device, draws K captions per scene up front
(tokenised, with the caption-probe targets), and then samples batches without Python on the hot path.
The autoencoder and tokenizer are the base model's (default: the shipped resources/models/sinopia-
shapes), so the result drops into the same folder; the T5-style and CLIP-style encoders and the FLUX
transformer are trained from scratch (or from the base's weights with --init) with the CPU recipe's
objective: rectified flow, logit-normal t, caption dropout, the caption-probe loss, EMA.

Everything lives in one process and needs no checkpoint: a device call is at most ten minutes, so
--minutes counts training time and the data phase comes on top (on an H200 machine with 16 cores:
65 s to render 300 000 scenes, 21 s to encode them; the export takes a second); --wall-minutes caps
the whole run, training taking what is left. The model folder is exported as train.py export does,
with the figures of this run in sinopia-model.json ("training"), and WORK/loss.csv holds the loss
curve.
"""

import argparse
import copy
import json
import multiprocessing
import os
import sys
import time
import types

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import shapes  # noqa: E402
import train  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_BASE = os.path.join(REPO, "resources", "models", "sinopia-shapes")
# Scenes of this run come from their own seed stream, apart from the CPU recipe's (seed 1234) and its
# evaluation sets (seed + 1, seed + 2). A leg that goes on from earlier weights takes another seed
# (--scene-seed) so that it sees scenes the earlier legs did not.
SCENE_SEED = 4321
CHUNK = 2000
# Steps between the copies of the training state that a non-finite loss returns to.
KEEP_EVERY = 1000
# Seconds kept at the end of --wall-minutes for the export and the packing (both took under 2 s on
# an H200 machine).
EXPORT_RESERVE_S = 20


class CaptionPool:
    """K captions per scene as token-id arrays in both layouts, with the caption-probe targets."""

    FIELDS = ("t5", "clip", "bg", "cell_colour", "cell_shape", "pairs")

    def __init__(self, n, k, length):
        self.t5 = np.zeros((n, k, length), dtype=np.int16)
        self.clip = np.zeros((n, k, length), dtype=np.int16)
        self.bg = np.zeros((n, k), dtype=np.int16)
        self.cell_colour = np.zeros((n, k, train.N_CELLS), dtype=np.int16)
        self.cell_shape = np.zeros((n, k, train.N_CELLS), dtype=np.int16)
        self.pairs = np.zeros((n, k, train.N_COLOURS * train.N_SHAPES), dtype=np.uint8)

    def put(self, start, part):
        for name in self.FIELDS:
            a = getattr(self, name)
            a[start:start + len(part[name])] = part[name]


_worker = {}


def _worker_init(img_path, n, side, tokenizer, recipe):
    _worker["imgs"] = np.memmap(img_path, dtype=np.uint8, mode="r+", shape=(n, side, side, 3))
    _worker["tok"] = train.TextIds(tokenizer, recipe["text_max_length"], recipe["pad_id"], recipe["eos_id"],
                                   recipe["bos_id"])
    _worker["recipe"] = recipe


def _render_chunk(job):
    """Renders scenes [c0, c1) into the shared image file and returns their captions (K each, drawn as
    the CPU recipe draws one per step) with probe targets, and the scenes."""
    c0, c1, k, seed = job
    imgs, tok, recipe = _worker["imgs"], _worker["tok"], _worker["recipe"]
    L = recipe["text_max_length"]
    scenes, captions = [], []
    for i in range(c0, c1):
        scene = shapes.sample_scene(shapes.sample_rng(seed, i), side=recipe["side"])
        imgs[i] = shapes.render_scene(scene)
        scenes.append(scene)
        rng = np.random.default_rng([seed, 53, i])
        for _ in range(k):
            text = shapes.canonical_caption(scene)
            for _ in range(4):
                c = shapes.caption(scene, rng)
                if len(tok.sp.encode(c)) <= L - 2:
                    text = c
                    break
            captions.append(text)
    toks = tok.tokens(captions)
    m = c1 - c0
    targets = [train.caption_targets(scenes[j // k], c) for j, c in enumerate(captions)]
    part = {
        "t5": tok.t5(toks).reshape(m, k, L),
        "clip": tok.clip(toks).reshape(m, k, L),
        "bg": np.array([t[0] for t in targets]).reshape(m, k),
        "cell_colour": np.array([t[1] for t in targets]).reshape(m, k, -1),
        "cell_shape": np.array([t[2] for t in targets]).reshape(m, k, -1),
        "pairs": np.stack([t[3] for t in targets]).reshape(m, k, -1),
    }
    return c0, part, scenes


def make_data(args, recipe, tokenizer):
    """Renders the scenes on every core; returns (image memmap, CaptionPool)."""
    n, side, k = args.images, recipe["side"], args.captions
    img_path = os.path.join(args.work, "images.u8")
    np.memmap(img_path, dtype=np.uint8, mode="w+", shape=(n, side, side, 3)).flush()
    pool = CaptionPool(n, k, recipe["text_max_length"])
    jobs = [(c0, min(c0 + CHUNK, n), k, args.scene_seed) for c0 in range(0, n, CHUNK)]
    t0 = time.time()
    with open(os.path.join(args.work, "scenes.jsonl"), "w") as f, multiprocessing.get_context("fork").Pool(
            args.workers, _worker_init, (img_path, n, side, tokenizer, recipe)) as workers:
        done = 0
        for c0, part, scenes in workers.imap(_render_chunk, jobs):
            pool.put(c0, part)
            f.writelines(json.dumps(s, separators=(",", ":")) + "\n" for s in scenes)
            done += len(scenes)
            if done % (10 * CHUNK) < CHUNK or done == n:
                train.log(f"data: {done}/{n} scenes ({time.time() - t0:.0f} s)")
    return np.memmap(img_path, dtype=np.uint8, mode="r", shape=(n, side, side, 3)), pool


def load_base(torch, base):
    """The base model's autoencoder (module, with its scale/shift in .params), tokenizer path and
    training figures."""
    import models
    import flux_torch as ft
    weights, meta = ft.load_safetensors(os.path.join(base, "ae.safetensors"), float32=True)
    ae = models.AutoEncoder(json.loads(meta["ae_params"]))
    ae.load_state_dict({k: torch.from_numpy(v) for k, v in weights.items()}, strict=True)
    card = json.load(open(os.path.join(base, "sinopia-model.json")))
    return ae.eval(), os.path.join(base, "tokenizer_2", "spiece.model"), card


def load_base_nets(torch, nets, base):
    """Copies the base model's transformer and text encoders into `nets` (--init)."""
    import flux_torch as ft
    state = {}
    for prefix, path in (("dit.", "transformer.safetensors"), ("t5.", "text_encoder_2/model.safetensors"),
                         ("clip.", "text_encoder/model.safetensors")):
        weights, _ = ft.load_safetensors(os.path.join(base, path), float32=True)
        state.update({prefix + k: torch.from_numpy(v) for k, v in weights.items()})
    nets.load_state_dict(state, strict=True)


def encode_all(torch, ae, imgs, dev, batch=512):
    """Latent means of every image, packed into transformer tokens, normalised, fp16, on the device."""
    import flux_torch as ft
    out = []
    with torch.no_grad():
        for i in range(0, len(imgs), batch):
            # As train.images_to_tensor, but converted on the device: the host would take longer.
            # A writable copy: torch does not support tensors over the read-only memmap.
            x = torch.from_numpy(np.array(imgs[i:i + batch])).to(dev).permute(0, 3, 1, 2).float()
            x = x / 127.5 - 1
            out.append(ft.pack_latent(ae.encode(x)).half())
    return torch.cat(out)


def keep_state(nets, ema, probe, opt, step):
    """A copy of the training state, where it lives (on the device)."""
    return {"step": step, "nets": copy.deepcopy(nets.state_dict()), "ema": copy.deepcopy(ema.state_dict()),
            "probe": copy.deepcopy(probe.state_dict()), "opt": copy.deepcopy(opt.state_dict())}


def load_state(nets, ema, probe, opt, kept):
    nets.load_state_dict(kept["nets"])
    ema.load_state_dict(kept["ema"])
    probe.load_state_dict(kept["probe"])
    opt.load_state_dict(kept["opt"])


def run(args):
    reserved = train.RECIPE["seed"] + np.arange(3)
    if args.scene_seed in reserved:
        train.log(f"accelerated: --scene-seed {args.scene_seed} is one of the CPU recipe's seed streams "
                  f"({', '.join(map(str, reserved))}: its training images and the evaluation sets); take another")
        return 2
    torch = train.torch_setup()
    if args.device == "cuda" and not torch.cuda.is_available():
        train.log("accelerated: no CUDA device; use --device cpu for a (slow) check")
        return 1
    dev = torch.device(args.device)
    if dev.type == "cuda":
        # The latents must be the autoencoder's float32 ones (the C engine encodes in float32 for
        # inversion); the transformer runs under bf16 autocast (train.mixed_precision) and does not need
        # TF32 either.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
    os.makedirs(args.work, exist_ok=True)
    recipe = copy.deepcopy(train.RECIPE)
    recipe.update(dit_batch=args.batch, dit_lr=args.lr, dit_warmup=args.warmup, ema=args.ema, t_mean=args.t_mean)
    t_start = time.time()

    ae, tokenizer, base_card = load_base(torch, args.base)
    imgs, pool = make_data(args, recipe, tokenizer)
    t_data = time.time() - t_start
    ae = ae.to(dev)
    x0_all = encode_all(torch, ae, imgs, dev)
    ae = ae.cpu()
    t_encode = time.time() - t_start - t_data
    train.log(f"accelerated: {args.images} scenes in {t_data:.0f} s, encoded in {t_encode:.0f} s "
              f"(latent std {float(x0_all[:4096].float().std()):.3f})")
    caps = {name: torch.from_numpy(getattr(pool, name).astype(np.int64)).to(dev) for name in CaptionPool.FIELDS}
    caps["pairs"] = caps["pairs"].float()
    tok = train.TextIds(tokenizer, recipe["text_max_length"], recipe["pad_id"], recipe["eos_id"], recipe["bos_id"])
    empty = tok.tokens([""])
    empty_t5 = torch.from_numpy(tok.t5(empty)).to(dev)
    empty_clip = torch.from_numpy(tok.clip(empty)).to(dev)

    vocab = tok.sp.get_piece_size()
    nets, cfg = train.build_nets(torch, recipe, vocab)
    t5, clip, dit = nets["t5"], nets["clip"], nets["dit"]
    if args.init:
        load_base_nets(torch, nets, args.base)
    L = recipe["text_max_length"]
    h = recipe["side"] // 16
    cos, sin = (a.to(dev) for a in dit.rope_for(L, h, h))
    nets = nets.to(dev)
    ema = copy.deepcopy(nets).eval()
    for p in ema.parameters():
        p.requires_grad_(False)
    probe = train.caption_probe(torch, recipe["t5"]["d_model"], recipe["clip"]["hidden_size"]).to(dev)
    decay_params = [p for n_, p in nets.named_parameters() if p.ndim >= 2] + list(probe.parameters())
    other_params = [p for n_, p in nets.named_parameters() if p.ndim < 2]
    opt = torch.optim.AdamW([{"params": decay_params, "weight_decay": recipe["dit_wd"]},
                             {"params": other_params, "weight_decay": 0.0}],
                            lr=recipe["dit_lr"], betas=tuple(recipe["dit_betas"]),
                            **({"fused": True} if dev.type == "cuda" else {}))
    net_params, ema_params = list(nets.parameters()), list(ema.parameters())
    aux_weight = recipe["text_aux_weight"]
    B, n, k = args.batch, args.images, args.captions
    budget = args.minutes * 60
    if args.wall_minutes:
        # What the data phase left of the call, less the export's reserve, so that the schedule
        # still anneals to its end.
        budget = min(budget, args.wall_minutes * 60 - (time.time() - t_start) - EXPORT_RESERVE_S)
        if budget < 30:
            train.log(f"accelerated: only {budget:.0f} s left for training within --wall-minutes")
            return 1
    lg = train.CsvLog(os.path.join(args.work, "loss.csv"), ["step", "elapsed_s", "samples", "loss", "lr",
                                                            "samples_per_s", "caption_probe"])
    stop = train.Stop()
    step, samples, elapsed = 0, 0, 0.0
    acc = torch.zeros(2, device=dev)
    acc_n, t_log = 0, time.time()
    # The run's one shot must not end in NaNs: every 1000 steps the state is kept on the device, and a
    # non-finite loss brings it back with half the learning rate.
    lr_scale, good = 1.0, None
    train.log(f"accelerated: training on {dev} for {budget / 60:.2f} min, batch {B}, peak lr {args.lr}")
    while elapsed < budget and not stop.flag:
        t_step = time.time()
        idx = torch.randint(0, n, (B,), device=dev)
        kk = torch.randint(0, k, (B,), device=dev)
        drop = torch.rand(B, device=dev) < recipe["caption_dropout"]
        ids_t5 = torch.where(drop[:, None], empty_t5, caps["t5"][idx, kk])
        # CLIP's pooled vector alone sees the whole caption; let it tell nothing (empty caption) or
        # the wrong thing (the previous sample's) now and then, so that the T5 tokens must carry every
        # word (regional prompting gives each region its own T5 prompt but the base's pooled vector).
        u = torch.rand(B, device=dev)
        pooled_empty = u < args.pooled_drop
        pooled_other = (u >= args.pooled_drop) & (u < args.pooled_drop + args.pooled_swap)
        ids_clip = caps["clip"][idx, kk]
        ids_clip = torch.where(pooled_other[:, None], ids_clip.roll(1, 0), ids_clip)
        ids_clip = torch.where((drop | pooled_empty)[:, None], empty_clip, ids_clip)
        x0 = x0_all[idx].float()
        noise = torch.randn_like(x0)
        t = torch.sigmoid(torch.randn(B, device=dev) * recipe["t_std"] + recipe["t_mean"])
        xt = (1 - t[:, None, None]) * x0 + t[:, None, None] * noise
        lr = lr_scale * train.lr_at(elapsed / budget, step, recipe["dit_lr"], recipe["dit_warmup"],
                                    recipe["dit_lr_final"])
        for g in opt.param_groups:
            g["lr"] = lr
        with train.mixed_precision(torch, dev.type):
            txt = t5(ids_t5)
            _, y = clip(ids_clip)
            pred = dit(xt, txt, y, t, cos, sin)
        fm_loss = torch.mean((pred.float() - (noise - x0)) ** 2)
        targets = types.SimpleNamespace(keep=~drop, keep_pooled=~(drop | pooled_empty | pooled_other),
                                        bg=caps["bg"][idx, kk], cell_colour=caps["cell_colour"][idx, kk],
                                        cell_shape=caps["cell_shape"][idx, kk], pairs=caps["pairs"][idx, kk])
        aux = train.caption_probe_loss(torch, probe, txt, ids_t5 != recipe["pad_id"], y, targets)
        loss = fm_loss + aux_weight * aux
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net_params, recipe["dit_grad_clip"])
        opt.step()
        decay = min(recipe["ema"], (1 + step) / (10 + step))
        with torch.no_grad():
            torch._foreach_mul_(ema_params, decay)
            torch._foreach_add_(ema_params, net_params, alpha=1 - decay)
            acc += torch.stack([fm_loss.detach(), aux.detach()])
        acc_n += 1
        step += 1
        samples = step * B
        if dev.type == "cuda" and step % 50 == 0:
            torch.cuda.synchronize()
        elapsed += time.time() - t_step
        if step % 100 == 0 or elapsed >= budget:
            now = time.time()
            fm, ax = (float(v) / acc_n for v in acc)
            rate = acc_n * B / (now - t_log)
            if not (np.isfinite(fm) and np.isfinite(ax)):
                if good is None:
                    train.log(f"accelerated: loss is {fm} at step {step} and no good state was kept yet")
                    return 1
                lr_scale *= 0.5
                train.log(f"accelerated: loss is {fm} at step {step}: back to step {good['step']}, "
                          f"learning rate × {lr_scale}")
                load_state(nets, ema, probe, opt, good)
                step = good["step"]
                samples = step * B
                acc.zero_()
                acc_n, t_log = 0, time.time()
                continue
            if step % KEEP_EVERY == 0:
                good = keep_state(nets, ema, probe, opt, step)
            lg.row(step, elapsed, samples, fm, lr, rate, ax)
            if step % 1000 == 0:
                train.log(f"dit: step {step} {elapsed / 60:.1f}/{budget / 60:.1f} min loss {fm:.4f} "
                          f"caption probe {ax:.3f} lr {lr:.2e} ({rate:.0f} samples/s)")
            acc.zero_()
            acc_n, t_log = 0, now
    train.log(f"accelerated: trained {step} steps, {samples} samples in {elapsed / 60:.1f} min")

    ema = ema.cpu()
    torch.set_grad_enabled(False)
    fin = {"ema": ema.state_dict(), "config": cfg, "vocab": vocab}
    spm_bytes = open(tokenizer, "rb").read()
    trained = base_card.get("training", {})
    machine = (torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu") + " (tools/train/accelerated.py)"
    os.environ.setdefault("SINOPIA_TRAIN_MACHINE", machine)
    infos = {
        "dit": {"steps": step, "samples": samples, "seconds": elapsed, "latents": n},
        "ae": {"seconds": 60 * trained.get("ae_minutes", 0.0)},
        "decoder": {"seconds": 60 * trained.get("decoder_minutes", 0.0)},
    }
    recipe_name = (f"tools/train/accelerated.py --images {n} --batch {B} --lr {args.lr} "
                   f"--pooled-drop {args.pooled_drop} --pooled-swap {args.pooled_swap} --t-mean {recipe['t_mean']} "
                   f"--scene-seed {args.scene_seed} --minutes {round(elapsed / 60, 2)}{' --init' if args.init else ''} (autoencoder and tokenizer: {trained.get('recipe', 'base')})")
    rc = train.export_folder(torch, args.out, recipe, fin, ae, spm_bytes, infos, recipe_name)
    train.atomic_json(os.path.join(args.work, "run.json"), {
        "images": n, "scene_seed": args.scene_seed, "captions_per_scene": k,
        "pooled_drop": args.pooled_drop, "pooled_swap": args.pooled_swap,
        "t_mean": recipe["t_mean"], "batch": B, "lr": args.lr, "warmup": args.warmup, "ema": args.ema,
        "minutes": elapsed / 60, "steps": step, "samples": samples, "data_seconds": t_data,
        "encode_seconds": t_encode, "total_seconds": time.time() - t_start, "machine": machine, "init": args.init})
    return rc


def main(argv=None):
    ap = argparse.ArgumentParser(prog="accelerated.py", description=__doc__.split("\n")[0])
    ap.add_argument("--work", required=True, metavar="DIR", help="images, scenes, loss.csv, run.json")
    ap.add_argument("--out", required=True, metavar="MODEL_DIR")
    ap.add_argument("--minutes", type=float, required=True, help="training time (data and export come on top)")
    ap.add_argument("--wall-minutes", type=float, default=None,
                    help="the whole run's limit: training gets what the data phase leaves, less the export's reserve")
    ap.add_argument("--images", type=int, default=200000)
    ap.add_argument("--scene-seed", type=int, default=SCENE_SEED,
                    help="seed of the scene stream; give each leg that goes on from earlier weights its own")
    ap.add_argument("--captions", type=int, default=4, help="captions drawn per scene")
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--warmup", type=int, default=500)
    ap.add_argument("--ema", type=float, default=0.999)
    ap.add_argument("--pooled-drop", type=float, default=0.25,
                    help="share of captions whose CLIP input is the empty caption (T5 keeps the caption)")
    ap.add_argument("--pooled-swap", type=float, default=0.25,
                    help="share of captions whose CLIP input is another sample's caption")
    ap.add_argument("--t-mean", type=float, default=0.6,
                    help="mean of the logit-normal t draw (the CPU recipe's is 0): 0.6 puts more of the training "
                         "at t >= 0.7, where the shipped model loses shapes (tools/train/denoise_probe.py)")
    ap.add_argument("--base", default=DEFAULT_BASE, metavar="MODEL_DIR",
                    help="model whose autoencoder and tokenizer are used (default: the shipped one)")
    ap.add_argument("--init", action="store_true", help="start from the base's transformer and text encoders")
    ap.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    return run(ap.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
