#!/usr/bin/python3
"""FLUX.1 transformer reference in plain PyTorch, plus a dependency-free safetensors reader/writer.

This is Sinopia's CPU oracle for the C/Vulkan engine: a straightforward, readable fp32 implementation
of the FLUX.1 transformer forward pass in BFL parameter naming, written from the equations in
docs/flux-reference.md (shared) §A2-A5. It favours clarity over speed; nothing here is used at runtime.

Library use (from another tool in this directory):

    import flux_torch as ft
    st = ft.SafeTensors("weights.safetensors")            # lazy reader, numpy arrays out
    model = ft.FluxModel.from_file("weights.safetensors")  # fp32 torch model on the CPU
    out = model.forward(img, img_ids, txt, txt_ids, timesteps, y, guidance)

Command line:

    flux_torch.py selftest [--golden DIR]     check against the golden reference data
    flux_torch.py info WEIGHTS                print the config and tensor summary of a checkpoint
    flux_torch.py forward --weights W --inputs IN --out OUT [--trace]

The safetensors part needs only numpy (Debian ships no `safetensors` package); torch is imported lazily
so that tools which only write checkpoints start quickly.
"""

import argparse
import json
import math
import os
import re
import sys
import time

try:
    import numpy as np
except ImportError:  # typically a pyenv/venv python3 ahead of Debian's in PATH
    raise SystemExit("these tools need numpy and PyTorch from Debian (python3-numpy, python3-torch): "
                     "run them with /usr/bin/python3") from None

# ------------------------------------------------------------------------------------------------
# safetensors
# ------------------------------------------------------------------------------------------------

# safetensors dtype tag -> little-endian numpy dtype of the stored bytes. BF16 has no numpy dtype, so
# it is stored/loaded as its raw uint16 bit pattern and converted explicitly.
_ST_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}

# numpy dtype -> safetensors tag for writing arrays as they are.
_NP_TO_ST = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("bool"): "BOOL",
}

# A header larger than this is certainly not a real checkpoint; refusing it keeps a corrupt length
# field from making us allocate gigabytes.
_MAX_HEADER = 100 * 1024 * 1024


class SafetensorsError(Exception):
    """A safetensors file is malformed, truncated, or does not hold what was asked for."""


def bf16_to_f32(bits):
    """BF16 bit patterns (uint16) -> float32: bf16 is the top half of an IEEE float32."""
    bits = np.asarray(bits, dtype=np.uint16)
    return (bits.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(x):
    """float32 -> BF16 bit patterns (uint16), round to nearest even (what torch's .bfloat16() does)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    # In-place steps keep a single uint32 temporary: dev-sized tensors are 66 M elements.
    r = u >> np.uint32(16)
    r &= np.uint32(1)
    r += np.uint32(0x7FFF)
    r += u
    r >>= np.uint32(16)
    rounded = r.astype(np.uint16)
    del r
    # NaN must stay NaN: the rounding add could carry a NaN payload into the exponent / sign.
    nan = np.isnan(x.astype(np.float32, copy=False))
    if nan.any():
        rounded[nan] = np.uint16(0x7FC0)
    return rounded


class SafeTensors:
    """Lazy reader: parses and validates the header, memory-maps the data, converts on `get`."""

    def __init__(self, path):
        self.path = path
        try:
            size = os.path.getsize(path)
            with open(path, "rb") as f:
                head = f.read(8)
                if len(head) < 8:
                    raise SafetensorsError(f"{path}: too short to be a safetensors file ({size} bytes)")
                n = int.from_bytes(head, "little")
                if n > _MAX_HEADER or 8 + n > size:
                    raise SafetensorsError(f"{path}: header length {n} is impossible for a {size}-byte file")
                raw = f.read(n)
        except OSError as e:
            raise SafetensorsError(f"{path}: {e.strerror or e}") from None
        try:
            header = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise SafetensorsError(f"{path}: header is not valid UTF-8 JSON ({e})") from None
        if not isinstance(header, dict):
            raise SafetensorsError(f"{path}: header is not a JSON object")

        meta = header.pop("__metadata__", None) or {}
        if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
            raise SafetensorsError(f"{path}: __metadata__ must map strings to strings")
        self.metadata = meta
        self._data_start = 8 + n
        data_len = size - self._data_start

        self._entries = {}
        for name, e in header.items():
            try:
                dt, shape, (begin, end) = e["dtype"], e["shape"], e["data_offsets"]
            except (KeyError, TypeError, ValueError):
                raise SafetensorsError(f"{path}: tensor '{name}' lacks dtype/shape/data_offsets") from None
            if dt not in _ST_DTYPES:
                raise SafetensorsError(f"{path}: tensor '{name}' has unsupported dtype {dt}")
            if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
                raise SafetensorsError(f"{path}: tensor '{name}' has a bad shape {shape!r}")
            want = int(np.prod(shape, dtype=np.int64)) * _ST_DTYPES[dt].itemsize
            if not (isinstance(begin, int) and isinstance(end, int) and 0 <= begin <= end <= data_len):
                raise SafetensorsError(f"{path}: tensor '{name}' offsets [{begin}, {end}] run past the "
                                       f"{data_len} data bytes (file truncated?)")
            if end - begin != want:
                raise SafetensorsError(f"{path}: tensor '{name}' is {end - begin} bytes, "
                                       f"but {dt}{shape} needs {want}")
            self._entries[name] = (dt, tuple(shape), begin, end)
        # Memory-map rather than read: a dev-sized checkpoint is many GB and callers often want a few
        # tensors. np.memmap refuses zero-length maps, which a file of only empty tensors would need.
        self._mm = np.memmap(path, dtype=np.uint8, mode="r") if data_len > 0 else None

    def names(self):
        return list(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def dtype(self, name):
        return self._entries[name][0]

    def shape(self, name):
        return self._entries[name][1]

    def get(self, name, float32=False):
        """The tensor as a numpy array (a copy). BF16 always comes back as float32; with float32=True
        every floating type does (integers are returned as they are)."""
        if name not in self._entries:
            raise SafetensorsError(f"{self.path}: no tensor named '{name}'")
        dt, shape, begin, end = self._entries[name]
        if begin == end:
            raw = np.zeros(0, dtype=np.uint8)
        else:
            raw = self._mm[self._data_start + begin:self._data_start + end]
        arr = np.array(raw.view(_ST_DTYPES[dt]), copy=True).reshape(shape)
        if dt == "BF16":
            return bf16_to_f32(arr)
        if float32 and dt in ("F64", "F16"):
            return arr.astype(np.float32)
        return arr.astype(arr.dtype.newbyteorder("="), copy=False)


def load_safetensors(path, float32=False):
    """Whole file -> ({name: numpy array}, metadata)."""
    st = SafeTensors(path)
    return {k: st.get(k, float32=float32) for k in st.names()}, dict(st.metadata)


def _encode(arr, st_dtype):
    """numpy array -> contiguous little-endian array holding the bytes of `st_dtype`."""
    if st_dtype == "BF16":
        return f32_to_bf16(np.asarray(arr, dtype=np.float32))
    if st_dtype not in _ST_DTYPES:
        raise SafetensorsError(f"cannot write dtype {st_dtype}")
    return np.ascontiguousarray(arr, dtype=_ST_DTYPES[st_dtype])


def save_safetensors_stream(path, entries, metadata=None):
    """Write tensors one at a time, so that multi-GB checkpoints never sit in memory whole.

    entries: list of (name, st_dtype, shape, make) where make() returns a numpy array of that shape
    (float data is converted to st_dtype here). The header needs every size up front, hence shapes.
    The file is written under a temporary name and renamed, so a failed run leaves no half-file.
    """
    header = {}
    if metadata:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise SafetensorsError(f"metadata values must be strings (bad keys: {bad})")
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, dt, shape, _ in entries:
        if dt not in _ST_DTYPES:
            raise SafetensorsError(f"tensor '{name}': cannot write dtype {dt}")
        if name in header:
            raise SafetensorsError(f"duplicate tensor name '{name}'")
        nbytes = int(np.prod(shape, dtype=np.int64)) * _ST_DTYPES[dt].itemsize
        header[name] = {"dtype": dt, "shape": [int(d) for d in shape], "data_offsets": [offset, offset + nbytes]}
        offset += nbytes
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # the format asks for 8-byte alignment of the data section

    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "wb") as f:
            f.write(len(blob).to_bytes(8, "little"))
            f.write(blob)
            for name, dt, shape, make in entries:
                arr = make()
                if tuple(arr.shape) != tuple(shape):
                    raise SafetensorsError(f"tensor '{name}': producer gave shape {arr.shape}, header says {shape}")
                f.write(_encode(arr, dt).data)  # no .tobytes(): avoid a second copy of big tensors
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError):  # name the file the caller asked for, not our temporary
            raise SafetensorsError(f"cannot write {path}: {e.strerror or e}") from None
        raise


def save_safetensors(path, tensors, metadata=None, float_dtype=None):
    """Write {name: numpy array}. Floating arrays are stored as float_dtype ("F32", "F16", "BF16") when
    given, otherwise each array keeps its own dtype (float32 -> F32, int64 -> I64, ...)."""
    entries = []
    for name, arr in tensors.items():
        arr = np.asarray(arr)
        if float_dtype and arr.dtype.kind == "f":
            dt = float_dtype
        elif arr.dtype in _NP_TO_ST:
            dt = _NP_TO_ST[arr.dtype]
        else:
            raise SafetensorsError(f"tensor '{name}': numpy dtype {arr.dtype} has no safetensors equivalent")
        entries.append((name, dt, arr.shape, lambda a=arr: a))
    save_safetensors_stream(path, entries, metadata)


# ------------------------------------------------------------------------------------------------
# Config (FluxParams) and parameter layout
# ------------------------------------------------------------------------------------------------

# Key order follows the golden files' flux_params JSON, so files we write read the same way.
FLUX_PARAM_KEYS = ("in_channels", "out_channels", "vec_in_dim", "context_in_dim", "hidden_size", "mlp_ratio",
                   "num_heads", "depth", "depth_single_blocks", "axes_dim", "theta", "qkv_bias", "guidance_embed")

# Prefixes under which single-file checkpoints carry the transformer (doc §A9); BFL files have none.
_KNOWN_PREFIXES = ("", "model.diffusion_model.", "diffusion_model.", "transformer.")


class ConfigError(Exception):
    """The model config is incomplete or inconsistent, or a checkpoint does not match it."""


def check_config(cfg):
    """Validate a flux_params dict; returns it with normalised types."""
    missing = [k for k in FLUX_PARAM_KEYS if k not in cfg]
    if missing:
        raise ConfigError(f"flux_params lacks {', '.join(missing)}")
    c = {k: cfg[k] for k in FLUX_PARAM_KEYS}
    for k in ("in_channels", "out_channels", "vec_in_dim", "context_in_dim", "hidden_size", "num_heads",
              "depth", "depth_single_blocks"):
        c[k] = int(c[k])
    c["mlp_ratio"] = float(c["mlp_ratio"])
    c["axes_dim"] = [int(a) for a in c["axes_dim"]]
    c["qkv_bias"] = bool(c["qkv_bias"])
    c["guidance_embed"] = bool(c["guidance_embed"])
    h, H = c["hidden_size"], c["num_heads"]
    if H <= 0 or h % H:
        raise ConfigError(f"hidden_size {h} is not divisible by num_heads {H}")
    if sum(c["axes_dim"]) != h // H:
        raise ConfigError(f"sum(axes_dim) = {sum(c['axes_dim'])} must equal the head dim {h // H}")
    if any(a % 2 for a in c["axes_dim"]):
        raise ConfigError(f"every axes_dim entry must be even (RoPE rotates pairs): {c['axes_dim']}")
    return c


def param_shapes(cfg):
    """[(name, shape, is_norm_scale)] for every parameter, in the reference's registration order."""
    h, m = cfg["hidden_size"], int(cfg["hidden_size"] * cfg["mlp_ratio"])
    hd = h // cfg["num_heads"]
    out = []

    def lin(name, n_in, n_out, bias=True):
        out.append((f"{name}.weight", (n_out, n_in), False))
        if bias:
            out.append((f"{name}.bias", (n_out,), False))

    def mlp_embedder(name, n_in):
        lin(f"{name}.in_layer", n_in, h)
        lin(f"{name}.out_layer", h, h)

    def qknorm(prefix):
        out.append((f"{prefix}.query_norm.scale", (hd,), True))
        out.append((f"{prefix}.key_norm.scale", (hd,), True))

    lin("img_in", cfg["in_channels"], h)
    mlp_embedder("time_in", 256)
    mlp_embedder("vector_in", cfg["vec_in_dim"])
    if cfg["guidance_embed"]:
        mlp_embedder("guidance_in", 256)
    lin("txt_in", cfg["context_in_dim"], h)
    for i in range(cfg["depth"]):
        for s in ("img", "txt"):
            p = f"double_blocks.{i}.{s}"
            lin(f"{p}_mod.lin", h, 6 * h)
            lin(f"{p}_attn.qkv", h, 3 * h, bias=cfg["qkv_bias"])
            qknorm(f"{p}_attn.norm")
            lin(f"{p}_attn.proj", h, h)
            lin(f"{p}_mlp.0", h, m)
            lin(f"{p}_mlp.2", m, h)
    for i in range(cfg["depth_single_blocks"]):
        p = f"single_blocks.{i}"
        lin(f"{p}.linear1", h, 3 * h + m)
        lin(f"{p}.linear2", h + m, h)
        qknorm(f"{p}.norm")
        lin(f"{p}.modulation.lin", h, 3 * h)
    lin("final_layer.linear", h, cfg["out_channels"])
    lin("final_layer.adaLN_modulation.1", h, 2 * h)
    return out


def find_prefix(names):
    """The prefix under which the transformer's tensors live (doc §A9), or raise."""
    names = set(names)
    for p in _KNOWN_PREFIXES:
        if p + "img_in.weight" in names:
            return p
    for n in names:  # an unknown wrapper: accept whatever precedes img_in.weight
        if n.endswith(".img_in.weight"):
            return n[: -len("img_in.weight")]
    raise ConfigError("no 'img_in.weight' tensor: not a FLUX transformer checkpoint in BFL naming")


def infer_config(st, prefix="", axes_dim=None):
    """flux_params from the checkpoint's __metadata__["flux_params"], else from tensor shapes.

    Shapes give everything except axes_dim and theta: axes_dim defaults to FLUX.1's [16, 56, 56]
    when the head dim is 128 and must otherwise come from metadata (or the axes_dim argument).
    """
    if "flux_params" in st.metadata:
        try:
            cfg = json.loads(st.metadata["flux_params"])
        except ValueError as e:
            raise ConfigError(f"{st.path}: __metadata__ flux_params is not JSON ({e})") from None
        if axes_dim is not None:
            cfg["axes_dim"] = list(axes_dim)
        return check_config(cfg)

    def shp(name):
        if prefix + name not in st:
            raise ConfigError(f"{st.path}: missing tensor '{prefix + name}' needed to infer the config")
        return st.shape(prefix + name)

    names = [n[len(prefix):] for n in st.names() if n.startswith(prefix)]
    h, in_ch = shp("img_in.weight")

    def count(block):
        idx = {int(m.group(1)) for n in names for m in [re.match(rf"{block}\.(\d+)\.", n)] if m}
        return max(idx) + 1 if idx else 0

    depth, depth_single = count("double_blocks"), count("single_blocks")
    if depth:
        hd = shp("double_blocks.0.img_attn.norm.query_norm.scale")[0]
        mlp = shp("double_blocks.0.img_mlp.0.weight")[0]
    elif depth_single:
        hd = shp("single_blocks.0.norm.query_norm.scale")[0]
        mlp = shp("single_blocks.0.linear1.weight")[0] - 3 * h
    else:
        raise ConfigError(f"{st.path}: no double or single blocks")
    if h % hd:
        raise ConfigError(f"{st.path}: hidden size {h} is not a multiple of the QK-norm size {hd}")
    if axes_dim is None:
        if hd != 128:
            raise ConfigError(f"{st.path}: head dim {hd} is not FLUX.1's 128 and the file has no "
                              f"flux_params metadata, so the RoPE axes_dim is unknown (give it, e.g. --axes-dim 8,28,28)")
        axes_dim = [16, 56, 56]
    cfg = {
        "in_channels": in_ch,
        "out_channels": shp("final_layer.linear.weight")[0],
        "vec_in_dim": shp("vector_in.in_layer.weight")[1],
        "context_in_dim": shp("txt_in.weight")[1],
        "hidden_size": h,
        "mlp_ratio": mlp / h,
        "num_heads": h // hd,
        "depth": depth,
        "depth_single_blocks": depth_single,
        "axes_dim": list(axes_dim),
        "theta": 10000,
        # Without double blocks there is no qkv to look at; FLUX.1 always has the bias.
        "qkv_bias": ("double_blocks.0.img_attn.qkv.bias" in names) if depth else True,
        "guidance_embed": "guidance_in.in_layer.weight" in names,
    }
    return check_config(cfg)


def config_json(cfg):
    """flux_params as the JSON string stored in __metadata__ (same layout as the golden files)."""
    return json.dumps({k: cfg[k] for k in FLUX_PARAM_KEYS})


# ------------------------------------------------------------------------------------------------
# Model (torch, fp32, CPU, no autograd)
# ------------------------------------------------------------------------------------------------

_torch = None


def torch_module():
    """Import torch on first use (tools that only write files should not pay for it)."""
    global _torch
    if _torch is None:
        try:
            import torch
        except ImportError:
            raise SystemExit("PyTorch is missing (Debian: python3-torch); run with /usr/bin/python3") from None
        torch.set_grad_enabled(False)  # inference only: never build autograd graphs
        _torch = torch
    return _torch


def timestep_embedding(t, dim=256, max_period=10000.0, time_factor=1000.0):
    """Sinusoidal embedding, COS half first (doc §A4.1). float32, as the reference computes it.

    The arguments reach 1000*guidance ~ 3500 rad, where one float32 ulp is 2.4e-4, so this is
    precision-sensitive: keep the reference's float32 order (scale t, then multiply by freqs).
    """
    torch = torch_module()
    half = dim // 2
    t = time_factor * t.float()
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def rope_tables(ids, axes_dim, theta):
    """(cos, sin), each [B, 1, L, D/2], for the 3-axis RoPE (doc §A4.4).

    Pair j of axis a turns by angle ids[..., a] * theta^(-2j/d_a); the axes' pairs are concatenated.
    Computed in float64 and rounded once to float32 (the doc allows this; it is at least as accurate
    as the reference's float32 path).
    """
    torch = torch_module()
    cos, sin = [], []
    for a, d in enumerate(axes_dim):
        omega = 1.0 / (float(theta) ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        ang = ids[..., a].double()[..., None] * omega  # [B, L, d/2]
        cos.append(torch.cos(ang))
        sin.append(torch.sin(ang))
    cos = torch.cat(cos, dim=-1).float()[:, None]
    sin = torch.cat(sin, dim=-1).float()[:, None]
    return cos, sin


def rope_matrices(cos, sin):
    """The reference's `pe` layout [B, 1, L, D/2, 2, 2] = [[cos, -sin], [sin, cos]] (for tracing)."""
    torch = torch_module()
    return torch.stack([torch.stack([cos, -sin], -1), torch.stack([sin, cos], -1)], -2)


def apply_rope(x, cos, sin):
    """Rotate ADJACENT pairs (2j, 2j+1) of each head vector x [B, H, L, D] (not rotate-half)."""
    torch = torch_module()
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([cos * x0 - sin * x1, sin * x0 + cos * x1], dim=-1).flatten(-2)


def attention(q, k, v, cos, sin):
    """RoPE on q and k, then softmax(q k^T / sqrt(D)) v with no mask; heads merged as (H D)."""
    torch = torch_module()
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    scores = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    x = torch.softmax(scores, dim=-1) @ v  # [B, H, L, D]
    B, H, L, D = x.shape
    return x.permute(0, 2, 1, 3).reshape(B, L, H * D)


class FluxModel:
    """FLUX.1 transformer over a dict of fp32 torch tensors in BFL naming."""

    def __init__(self, cfg, params):
        torch = torch_module()
        self.cfg = check_config(cfg)
        expected = {n: s for n, s, _ in param_shapes(self.cfg)}
        missing = sorted(set(expected) - set(params))
        extra = sorted(set(params) - set(expected))
        if missing or extra:
            raise ConfigError("checkpoint does not match its config: "
                              + (f"missing {missing[:5]}{' ...' if len(missing) > 5 else ''} " if missing else "")
                              + (f"unexpected {extra[:5]}{' ...' if len(extra) > 5 else ''}" if extra else ""))
        for n, s in expected.items():
            if tuple(params[n].shape) != tuple(s):
                raise ConfigError(f"tensor '{n}' has shape {list(params[n].shape)}, config says {list(s)}")
        self.p = {n: (t if isinstance(t, torch.Tensor) else torch.from_numpy(np.asarray(t))).float().contiguous()
                  for n, t in params.items()}
        self.heads = self.cfg["num_heads"]

    @classmethod
    def from_file(cls, path, axes_dim=None):
        st = SafeTensors(path)
        prefix = find_prefix(st.names())
        cfg = infer_config(st, prefix, axes_dim)
        names = [n for n, _, _ in param_shapes(cfg)]
        missing = [n for n in names if prefix + n not in st]
        if missing:
            raise ConfigError(f"{path}: missing {len(missing)} tensor(s), e.g. '{prefix + missing[0]}'")
        return cls(cfg, {n: st.get(prefix + n, float32=True) for n in names})

    # -- small building blocks --------------------------------------------------------------------

    def linear(self, name, x):
        torch = torch_module()
        return torch.nn.functional.linear(x, self.p[name + ".weight"], self.p.get(name + ".bias"))

    def mlp_embedder(self, name, x):
        torch = torch_module()
        return self.linear(f"{name}.out_layer", torch.nn.functional.silu(self.linear(f"{name}.in_layer", x)))

    def modulation(self, name, vec, n):
        """lin(silu(vec)) split into n chunks of hidden_size, each [B, 1, h] to broadcast over tokens."""
        torch = torch_module()
        m = self.linear(name, torch.nn.functional.silu(vec))
        return m, [c[:, None, :] for c in m.chunk(n, dim=-1)]

    @staticmethod
    def layer_norm(x):
        """LayerNorm without affine parameters, eps 1e-6, biased variance."""
        torch = torch_module()
        return torch.nn.functional.layer_norm(x, (x.shape[-1],), eps=1e-6)

    @staticmethod
    def gelu(x):
        torch = torch_module()
        return torch.nn.functional.gelu(x, approximate="tanh")

    def rms_norm(self, name, x):
        """QK-norm: x * rsqrt(mean(x^2) + 1e-6) * scale over the head dim."""
        torch = torch_module()
        return x * torch.rsqrt(torch.mean(x * x, dim=-1, keepdim=True) + 1e-6) * self.p[name + ".scale"]

    def split_heads(self, qkv):
        """[B, L, 3h] with columns ordered (3, H, D) -> q, k, v each [B, H, L, D]."""
        B, L, _ = qkv.shape
        t = qkv.view(B, L, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        return t[0], t[1], t[2]

    # -- blocks -----------------------------------------------------------------------------------

    def double_block(self, i, img, txt, vec, cos, sin, rec):
        torch = torch_module()
        p = f"double_blocks.{i}"
        streams = {"img": img, "txt": txt}
        mods, qkvs = {}, {}
        for s, x in streams.items():
            m, mods[s] = self.modulation(f"{p}.{s}_mod.lin", vec, 6)
            rec(f"{p}.{s}_mod.lin", m)
            shift1, scale1 = mods[s][0], mods[s][1]
            qkv = self.linear(f"{p}.{s}_attn.qkv", (1 + scale1) * self.layer_norm(x) + shift1)
            rec(f"{p}.{s}_attn.qkv", qkv)
            q, k, v = self.split_heads(qkv)
            q = self.rms_norm(f"{p}.{s}_attn.norm.query_norm", q)
            k = self.rms_norm(f"{p}.{s}_attn.norm.key_norm", k)
            rec(f"{p}.{s}_attn.norm.q", q)
            rec(f"{p}.{s}_attn.norm.k", k)
            qkvs[s] = (q, k, v)
        # Joint attention over the concatenated sequence, TEXT FIRST (matches the ids order).
        q, k, v = (torch.cat([qkvs["txt"][j], qkvs["img"][j]], dim=2) for j in range(3))
        a = attention(q, k, v, cos, sin)
        n_txt = txt.shape[1]
        attn = {"txt": a[:, :n_txt], "img": a[:, n_txt:]}
        for s in ("img", "txt"):
            x = streams[s]
            _, _, gate1, shift2, scale2, gate2 = mods[s]
            rec(f"{p}.{s}_attn.attn_out", attn[s])
            proj = self.linear(f"{p}.{s}_attn.proj", attn[s])
            rec(f"{p}.{s}_attn.proj", proj)
            x = x + gate1 * proj
            mlp = self.linear(f"{p}.{s}_mlp.2",
                              self.gelu(self.linear(f"{p}.{s}_mlp.0", (1 + scale2) * self.layer_norm(x) + shift2)))
            rec(f"{p}.{s}_mlp", mlp)
            streams[s] = x + gate2 * mlp
            rec(f"{p}.{s}", streams[s])
        return streams["img"], streams["txt"]

    def single_block(self, i, x, vec, cos, sin, rec):
        torch = torch_module()
        p = f"single_blocks.{i}"
        h = self.cfg["hidden_size"]
        m, (shift, scale, gate) = self.modulation(f"{p}.modulation.lin", vec, 3)
        rec(f"{p}.modulation.lin", m)
        u = self.linear(f"{p}.linear1", (1 + scale) * self.layer_norm(x) + shift)
        rec(f"{p}.linear1", u)
        q, k, v = self.split_heads(u[..., :3 * h])
        q = self.rms_norm(f"{p}.norm.query_norm", q)
        k = self.rms_norm(f"{p}.norm.key_norm", k)
        rec(f"{p}.norm.q", q)
        rec(f"{p}.norm.k", k)
        cat = torch.cat([attention(q, k, v, cos, sin), self.gelu(u[..., 3 * h:])], dim=-1)
        rec(f"{p}.linear2.input", cat)
        out = self.linear(f"{p}.linear2", cat)
        rec(f"{p}.linear2", out)
        x = x + gate * out
        rec(p, x)
        return x

    # -- the whole model --------------------------------------------------------------------------

    def forward(self, img, img_ids, txt, txt_ids, timesteps, y, guidance=None, trace=None):
        """Velocity prediction [B, N_img, out_channels] (doc §A4).

        trace: optional dict; when given, intermediates are stored in it under the golden files'
        names ("inter.<module path>") so they can be compared one by one.
        """
        torch = torch_module()

        def rec(name, t):
            if trace is not None:
                trace["inter." + name] = t.detach().clone()

        cfg = self.cfg
        img = self.linear("img_in", img)
        rec("img_in", img)

        temb = timestep_embedding(timesteps)
        rec("time_in.input", temb)
        vec = self.mlp_embedder("time_in", temb)
        rec("time_in", vec)
        if cfg["guidance_embed"]:
            if guidance is None:
                raise ValueError("this model has a guidance embedding (FLUX.1-dev style): guidance is required")
            gemb = timestep_embedding(guidance)
            rec("guidance_in.input", gemb)
            g = self.mlp_embedder("guidance_in", gemb)
            rec("guidance_in", g)
            vec = vec + g
        yv = self.mlp_embedder("vector_in", y)
        rec("vector_in", yv)
        vec = vec + yv
        rec("vec", vec)

        txt = self.linear("txt_in", txt)
        rec("txt_in", txt)

        ids = torch.cat([txt_ids, img_ids], dim=1)  # text tokens first
        cos, sin = rope_tables(ids, cfg["axes_dim"], cfg["theta"])
        if trace is not None:
            rec("pe", rope_matrices(cos, sin))

        for i in range(cfg["depth"]):
            img, txt = self.double_block(i, img, txt, vec, cos, sin, rec)
        x = torch.cat([txt, img], dim=1)
        for i in range(cfg["depth_single_blocks"]):
            x = self.single_block(i, x, vec, cos, sin, rec)

        img = x[:, txt.shape[1]:]
        rec("final_layer.input", img)
        m = self.linear("final_layer.adaLN_modulation.1", torch.nn.functional.silu(vec))
        rec("final_layer.adaLN_modulation", m)
        shift, scale = (c[:, None, :] for c in m.chunk(2, dim=-1))  # SHIFT first, then scale
        return self.linear("final_layer.linear", (1 + scale) * self.layer_norm(img) + shift)

    __call__ = forward

    def flops(self, n_img, n_txt):
        """Multiply-add FLOPs (x2) of one forward: the linears plus attention scores and values."""
        c = self.cfg
        h, m = c["hidden_size"], int(c["hidden_size"] * c["mlp_ratio"])
        L = n_img + n_txt
        per_stream = lambda n: 2 * n * (h * 3 * h + h * h + 2 * h * m)
        double = per_stream(n_img) + per_stream(n_txt) + 4 * L * L * h
        single = 2 * L * (h * (3 * h + m) + (h + m) * h) + 4 * L * L * h
        edges = 2 * n_img * c["in_channels"] * h + 2 * n_txt * c["context_in_dim"] * h + 2 * n_img * h * c["out_channels"]
        return c["depth"] * double + c["depth_single_blocks"] * single + edges


# ------------------------------------------------------------------------------------------------
# Packing, ids, schedule, sampler (doc §A4.9, §A5)
# ------------------------------------------------------------------------------------------------

def pack_latent(latent):
    """[B, C, H, W] -> [B, (H/2)(W/2), 4C]; token r*(W/2)+c, feature ch*4 + dy*2 + dx."""
    B, C, H, W = latent.shape
    if H % 2 or W % 2:
        raise ValueError(f"latent height and width must be even, got {H}x{W}")
    return latent.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 2, 4, 1, 3, 5).reshape(B, (H // 2) * (W // 2), C * 4)


def unpack_latent(img, height, width):
    """Inverse of pack_latent: [B, (H/2)(W/2), 4C] -> [B, C, H, W] for a latent of H x W."""
    B, N, F = img.shape
    if N != (height // 2) * (width // 2) or F % 4:
        raise ValueError(f"{N} tokens of {F} do not unpack to a {height}x{width} latent")
    return img.reshape(B, height // 2, width // 2, F // 4, 2, 2).permute(0, 3, 1, 4, 2, 5).reshape(B, F // 4, height, width)


def make_img_ids(rows, cols, batch=1):
    """Position ids (0, r, c), row-major over the packed grid, as float32 numpy [B, rows*cols, 3]."""
    ids = np.zeros((rows, cols, 3), dtype=np.float32)
    ids[..., 1] = np.arange(rows, dtype=np.float32)[:, None]
    ids[..., 2] = np.arange(cols, dtype=np.float32)[None, :]
    return np.broadcast_to(ids.reshape(1, rows * cols, 3), (batch, rows * cols, 3)).copy()


def make_txt_ids(n_txt, batch=1):
    return np.zeros((batch, n_txt, 3), dtype=np.float32)


def get_schedule(num_steps, image_seq_len, base_shift=0.5, max_shift=1.15, shift=True):
    """Timesteps from 1 to 0 (num_steps + 1 values, as Python floats holding float32 numbers).

    With shift (FLUX.1-dev), t -> e^mu / (e^mu + 1/t - 1) with mu linear in the image token count
    (base_shift at 256 tokens, max_shift at 4096). The arithmetic is float32 like the reference, with
    e^mu a double rounded into the float32 op; the golden schedules are reproduced bit-exactly.
    """
    torch = torch_module()
    ts = torch.linspace(1, 0, num_steps + 1, dtype=torch.float32)
    if shift:
        mu = base_shift + (max_shift - base_shift) * (image_seq_len - 256) / (4096 - 256)
        e = math.exp(mu)
        ts = e / (e + (1 / ts - 1) ** 1.0)  # t = 0 gives 1/0 = inf and so exactly 0
    return [float(t) for t in ts]


def denoise(model, img, img_ids, txt, txt_ids, y, timesteps, guidance=None, trace=None):
    """Euler flow-matching loop: img += (t_next - t) * model(img, t) for each schedule pair.

    dt is rounded to float32 before the multiply, then the product, then the sum (two roundings,
    no FMA), which reproduces the reference's float32 tensor arithmetic exactly.
    """
    torch = torch_module()
    B = img.shape[0]
    g = None if guidance is None else torch.full((B,), float(guidance), dtype=torch.float32)
    for i, (t_curr, t_prev) in enumerate(zip(timesteps[:-1], timesteps[1:])):
        t = torch.full((B,), t_curr, dtype=torch.float32)
        pred = model.forward(img, img_ids, txt, txt_ids, t, y, g)
        dt = float(np.float32(t_prev - t_curr))
        img = img + dt * pred
        if trace is not None:
            trace[f"step.{i}.pred"] = pred.clone()
            trace[f"step.{i}.latent"] = img.clone()
    return img


def load_inputs(path):
    """A forward-inputs file (golden naming "input.*") -> dict of float32 torch tensors."""
    torch = torch_module()
    st = SafeTensors(path)
    need = ["input.img", "input.img_ids", "input.txt", "input.txt_ids", "input.y", "input.timesteps"]
    missing = [n for n in need if n not in st]
    if missing:
        raise SafetensorsError(f"{path}: not an inputs file, missing {', '.join(missing)}")
    names = need + (["input.guidance"] if "input.guidance" in st else [])
    return {n[len("input."):]: torch.from_numpy(st.get(n, float32=True).astype(np.float32)) for n in names}


def check_inputs(cfg, inputs):
    """Raise ValueError with a readable message when an inputs dict does not fit the model."""
    img, txt = inputs["img"], inputs["txt"]
    if img.dim() != 3 or txt.dim() != 3:
        raise ValueError(f"input.img and input.txt must be [B, N, C], got {list(img.shape)} and {list(txt.shape)}")
    B, n_img, n_txt = img.shape[0], img.shape[1], txt.shape[1]
    want = {"img": [B, n_img, cfg["in_channels"]], "img_ids": [B, n_img, 3], "txt": [B, n_txt, cfg["context_in_dim"]],
            "txt_ids": [B, n_txt, 3], "y": [B, cfg["vec_in_dim"]], "timesteps": [B]}
    if cfg["guidance_embed"]:
        want["guidance"] = [B]
    for k, shape in want.items():
        if k not in inputs:
            raise ValueError(f"the model needs input.{k} {shape}, which the inputs file lacks")
        if list(inputs[k].shape) != shape:
            raise ValueError(f"input.{k} is {list(inputs[k].shape)} but this model needs {shape}")


def run_inputs(model, inputs, trace=None):
    return model.forward(inputs["img"], inputs["img_ids"], inputs["txt"], inputs["txt_ids"],
                         inputs["timesteps"], inputs["y"], inputs.get("guidance"), trace=trace)


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def default_golden_dir():
    """Where the shared golden data lives: $SINOPIA_SHARED_DIR (as the C tests use), else a shared/
    folder inside or next to the repository."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    candidates = []
    if os.environ.get("SINOPIA_SHARED_DIR"):
        candidates.append(os.environ["SINOPIA_SHARED_DIR"])
    candidates += [os.path.join(repo, "shared"), os.path.join(os.path.dirname(repo), "shared")]
    for c in candidates:
        d = os.path.join(c, "golden", "flux-reference")
        if os.path.isdir(d):
            return d
    return None


def _max_err(a, b):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a.astype(np.float64) - b.astype(np.float64)))) if a.size else 0.0


def cmd_selftest(args):
    torch = torch_module()
    torch.set_num_threads(2)  # the golden data was made with 2 threads
    gdir = args.golden or default_golden_dir()
    if not gdir or not os.path.isfile(os.path.join(gdir, "tolerances.json")):
        print(f"flux_torch.py selftest: {'no tolerances.json in ' + gdir if gdir else 'golden directory not found'}"
              "; pass --golden DIR (shared/golden/flux-reference) or set SINOPIA_SHARED_DIR", file=sys.stderr)
        return 2
    tol = json.load(open(os.path.join(gdir, "tolerances.json")))["files"]
    failures = 0
    headline = []  # (what, err, atol) for the summary the brief asks about

    def compare(fname, got, golden_st, key_filter=None):
        """Compare every traced tensor with its golden twin; print the worst few and any failure."""
        nonlocal failures
        rows = []
        for name, t in got.items():
            if name not in golden_st or name not in tol[fname]:
                continue
            err, atol = _max_err(t, golden_st.get(name, float32=True)), tol[fname][name]["atol"]
            rows.append((name, err, atol))
        bad = [r for r in rows if not r[1] <= r[2]]
        failures += len(bad)
        untested = sorted(set(tol[fname]) - {r[0] for r in rows})
        worst = max(rows, key=lambda r: r[1] / r[2])
        print(f"  {len(rows)} tensors compared, {len(bad)} over tolerance; "
              f"tightest: {worst[0]} err {worst[1]:.2e} / atol {worst[2]:.0e}")
        for name, err, atol in bad:
            print(f"  FAIL {name}: max abs err {err:.3e} > atol {atol:.0e}")
        if untested:
            failures += len(untested)
            print(f"  FAIL not produced: {', '.join(untested)}")
        return {r[0]: r for r in rows}

    for which in ("a1", "a2"):
        fname = f"flux_{which}_forward.safetensors"
        print(f"{fname}:")
        g = SafeTensors(os.path.join(gdir, fname))
        model = FluxModel.from_file(os.path.join(gdir, g.metadata["weights_file"]))
        inputs = load_inputs(os.path.join(gdir, fname))
        # The packing and the ids must reproduce the reference prepare() exactly.
        latent = torch.from_numpy(g.get("input.latent"))
        exact = [("pack(input.latent) == input.img", pack_latent(latent), inputs["img"]),
                 ("make_img_ids == input.img_ids", torch.from_numpy(make_img_ids(latent.shape[2] // 2, latent.shape[3] // 2)),
                  inputs["img_ids"])]
        for what, a, b in exact:
            ok = torch.equal(a, b)
            failures += not ok
            print(f"  {what}: {'exact' if ok else 'MISMATCH'}")
        trace = {}
        t0 = time.perf_counter()
        out = run_inputs(model, inputs, trace)
        ms = (time.perf_counter() - t0) * 1e3
        trace["output"] = out
        trace["output_unpacked"] = unpack_latent(out, latent.shape[2], latent.shape[3])
        rows = compare(fname, trace, g)
        headline.append((f"{fname} output", *rows["output"][1:]))
        print(f"  output: max abs err {rows['output'][1]:.3e} (atol {rows['output'][2]:.0e}), {ms:.1f} ms")

    fname = "flux_a1_sampling.safetensors"
    print(f"{fname}:")
    g = SafeTensors(os.path.join(gdir, fname))
    model = FluxModel.from_file(os.path.join(gdir, g.metadata["weights_file"]))
    n_img = g.shape("input.img")[1]
    ts = get_schedule(4, n_img, shift=True)
    ts_err = _max_err(np.array(ts), g.get("timesteps").astype(np.float64))
    failures += ts_err != 0
    print(f"  get_schedule(4, {n_img}) vs golden timesteps: max abs diff {ts_err:.1e} (must be 0)")
    ins = {k: torch.from_numpy(g.get("input." + k)) for k in ("img", "img_ids", "txt", "txt_ids", "y")}
    guidance = float(g.get("guidance")[0])
    trace = {}
    final = denoise(model, ins["img"], ins["img_ids"], ins["txt"], ins["txt_ids"], ins["y"], ts, guidance, trace)
    trace["final.latent"] = final
    noise = g.shape("input.noise")
    trace["final.latent_unpacked"] = unpack_latent(final, noise[2], noise[3])
    rows = compare(fname, trace, g)
    headline.append((f"{fname} final.latent", *rows["final.latent"][1:]))
    print(f"  final.latent: max abs err {rows['final.latent'][1]:.3e} (atol {rows['final.latent'][2]:.0e})")

    # Every schedule in schedules.json (incl. the 28/50-step dev ones) must match bit for bit.
    sched = json.load(open(os.path.join(gdir, "schedules.json")))["schedules"]
    worst = 0.0
    for s in sched:
        mine = get_schedule(s["num_steps"], s["image_seq_len"], s["base_shift"], s["max_shift"], s["shift"])
        worst = max(worst, _max_err(np.array(mine), np.array(s["timesteps"])))
    failures += worst != 0
    print(f"schedules.json: {len(sched)} schedules, max abs diff {worst:.1e} (must be 0)")

    print("\nsummary (max abs error vs golden, tolerance from tolerances.json):")
    for what, err, atol in headline:
        print(f"  {what:45s} {err:.3e}  <= {atol:.0e}  {'ok' if err <= atol else 'FAIL'}")
    print("selftest: " + ("PASS" if failures == 0 else f"FAIL ({failures} problem(s))"))
    return 0 if failures == 0 else 1


def cmd_info(args):
    st = SafeTensors(args.weights)
    prefix = find_prefix(st.names())
    cfg = infer_config(st, prefix, args.axes_dim)
    dtypes = {}
    n = 0
    for name in st.names():
        dtypes[st.dtype(name)] = dtypes.get(st.dtype(name), 0) + 1
        n += int(np.prod(st.shape(name), dtype=np.int64))
    print(f"{args.weights}: {len(st.names())} tensors, {n / 1e6:.2f} M parameters, dtypes {dtypes}"
          + (f", prefix '{prefix}'" if prefix else ""))
    print("flux_params " + ("(metadata)" if "flux_params" in st.metadata else "(inferred from shapes)")
          + ": " + config_json(cfg))
    return 0


def cmd_forward(args):
    torch = torch_module()
    torch.set_num_threads(args.threads)
    model = FluxModel.from_file(args.weights, args.axes_dim)
    inputs = load_inputs(args.inputs)
    check_inputs(model.cfg, inputs)
    trace = {} if args.trace else None
    out = run_inputs(model, inputs, trace)
    tensors = {"output": out.numpy()}
    if trace:
        tensors.update({k: v.numpy() for k, v in trace.items()})
    save_safetensors(args.out, tensors, {"weights_file": os.path.basename(args.weights),
                                         "inputs_file": os.path.basename(args.inputs),
                                         "producer": "tools/flux_torch.py forward",
                                         "flux_params": config_json(model.cfg)})
    print(f"wrote {args.out}: output {list(out.shape)}" + (f" + {len(trace)} intermediates" if trace else ""))
    return 0


def parse_axes_dim(text):
    """argparse type for --axes-dim: "16,56,56" -> [16, 56, 56]."""
    try:
        dims = [int(v) for v in text.split(",")]
    except ValueError:
        dims = []
    if len(dims) != 3 or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"expected three positive integers like 16,56,56, got '{text}'")
    return dims


AXES_HELP = ("RoPE axes_dim (e.g. 8,28,28) for checkpoints without flux_params metadata whose head dim "
             "is not 128 (overrides the metadata when given)")


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="flux_torch.py",
        description="FLUX.1 transformer reference in PyTorch (fp32, CPU) and a numpy safetensors reader/writer.")
    sub = ap.add_subparsers(dest="cmd", metavar="COMMAND")
    p = sub.add_parser("selftest", help="check the forward pass and sampler against the golden data",
                       description="Runs flux_a1_forward, flux_a2_forward (inputs -> output, all intermediates) "
                                   "and flux_a1_sampling (4 Euler steps) and prints max abs errors against "
                                   "tolerances.json. Exit 0 when all are within tolerance, 1 otherwise.")
    p.add_argument("--golden", metavar="DIR",
                   help="golden/flux-reference directory (default: $SINOPIA_SHARED_DIR/golden/flux-reference, "
                        "or shared/ in or next to the repository)")
    p = sub.add_parser("info", help="print a checkpoint's config and tensor summary")
    p.add_argument("weights", metavar="WEIGHTS")
    p.add_argument("--axes-dim", type=parse_axes_dim, metavar="A,B,C", help=AXES_HELP)
    p = sub.add_parser("forward", help="run one forward pass and write the output",
                       description="Reads an inputs file in the golden naming (input.img, input.img_ids, "
                                   "input.txt, input.txt_ids, input.y, input.timesteps[, input.guidance]) and "
                                   "writes 'output' (and with --trace the 'inter.*' intermediates).")
    p.add_argument("--weights", required=True, metavar="W")
    p.add_argument("--inputs", required=True, metavar="IN")
    p.add_argument("--out", required=True, metavar="OUT")
    p.add_argument("--trace", action="store_true", help="also write every intermediate")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--axes-dim", type=parse_axes_dim, metavar="A,B,C", help=AXES_HELP)
    args = ap.parse_args(argv)
    if args.cmd is None:
        ap.print_usage(sys.stderr)
        print(f"{ap.prog}: error: say which command to run (selftest, info, forward)", file=sys.stderr)
        return 2
    try:
        return {"selftest": cmd_selftest, "info": cmd_info, "forward": cmd_forward}[args.cmd](args)
    except (SafetensorsError, ConfigError, ValueError, OSError) as e:
        print(f"flux_torch.py {args.cmd}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
