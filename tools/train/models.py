"""Trainable PyTorch modules for Sinopia's embedded model, with the tensor names of the real checkpoints.

  AutoEncoder   BFL FLUX autoencoder (ae.safetensors names: encoder.down.{l}.block.{b}..., decoder.up...)
  T5Encoder     Hugging Face T5EncoderModel (v1.1: RMSNorm, gated-GELU, relative position bias, no 1/sqrt(d))
  CLIPText      Hugging Face CLIPTextModel (causal mask, quick-GELU, pooled at the first EOS id)
  FluxDiT       BFL FLUX transformer (img_in, time_in, vector_in, txt_in, double_blocks, single_blocks,
                final_layer); the same math as tools/flux_torch.py's reference FluxModel, written as an
                nn.Module so that it trains (autograd, bf16 autocast). No guidance embedding by default.

state_dict() of each module is exactly the checkpoint's tensor set (nothing extra, nothing tied), so
export is `{k: v for k, v in module.state_dict().items()}`. The maths follows
shared/docs/flux-reference.md §A4 (transformer), §A6 (AE) and §A7 (text encoders).
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

# ------------------------------------------------------------------------------------------------
# Autoencoder (BFL naming)
# ------------------------------------------------------------------------------------------------

AE_PARAM_KEYS = ("resolution", "in_channels", "ch", "out_ch", "ch_mult", "num_res_blocks", "z_channels",
                 "norm_groups", "scale_factor", "shift_factor")


def _gn(c, groups):
    # BFL uses 32 groups; a narrow AE needs fewer, since one channel per group is an instance norm
    # that maps every flat colour to the same activations.
    return nn.GroupNorm(groups, c, eps=1e-6, affine=True)


class ResnetBlock(nn.Module):
    def __init__(self, cin, cout, groups):
        super().__init__()
        self.norm1 = _gn(cin, groups)
        self.conv1 = nn.Conv2d(cin, cout, 3, 1, 1)
        self.norm2 = _gn(cout, groups)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        if cin != cout:
            self.nin_shortcut = nn.Conv2d(cin, cout, 1, 1, 0)

    def forward(self, x):
        h = self.conv1(F.silu(self.norm1(x)))
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.nin_shortcut(x) if hasattr(self, "nin_shortcut") else x) + h


class AttnBlock(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.norm = _gn(c, groups)
        self.q = nn.Conv2d(c, c, 1)
        self.k = nn.Conv2d(c, c, 1)
        self.v = nn.Conv2d(c, c, 1)
        self.proj_out = nn.Conv2d(c, c, 1)

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.norm(x)
        q = self.q(h).reshape(B, C, H * W).transpose(1, 2)
        k = self.k(h).reshape(B, C, H * W).transpose(1, 2)
        v = self.v(h).reshape(B, C, H * W).transpose(1, 2)
        a = torch.softmax((q @ k.transpose(1, 2)) * (1.0 / math.sqrt(C)), dim=-1) @ v
        return x + self.proj_out(a.transpose(1, 2).reshape(B, C, H, W))


class Downsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 2, 0)

    def forward(self, x):
        return self.conv(F.pad(x, (0, 1, 0, 1)))  # asymmetric: right and bottom


class Upsample(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, 1, 1)

    def forward(self, x):
        return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class _Level(nn.Module):
    pass


class _Mid(nn.Module):
    def __init__(self, c, groups):
        super().__init__()
        self.block_1 = ResnetBlock(c, c, groups)
        self.attn_1 = AttnBlock(c, groups)
        self.block_2 = ResnetBlock(c, c, groups)

    def forward(self, x):
        return self.block_2(self.attn_1(self.block_1(x)))


class Encoder(nn.Module):
    def __init__(self, p):
        super().__init__()
        ch, mult, nrb = p["ch"], p["ch_mult"], p["num_res_blocks"]
        g = p.get("norm_groups", 32)
        self.conv_in = nn.Conv2d(p["in_channels"], ch, 3, 1, 1)
        self.down = nn.ModuleList()
        cin = ch
        for lvl, m in enumerate(mult):
            level = _Level()
            level.block = nn.ModuleList()
            for _ in range(nrb):
                level.block.append(ResnetBlock(cin, ch * m, g))
                cin = ch * m
            if lvl != len(mult) - 1:
                level.downsample = Downsample(cin)
            self.down.append(level)
        self.mid = _Mid(cin, g)
        self.norm_out = _gn(cin, g)
        self.conv_out = nn.Conv2d(cin, 2 * p["z_channels"], 3, 1, 1)

    def forward(self, x):
        h = self.conv_in(x)
        for level in self.down:
            for b in level.block:
                h = b(h)
            if hasattr(level, "downsample"):
                h = level.downsample(h)
        h = self.mid(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class Decoder(nn.Module):
    def __init__(self, p):
        super().__init__()
        ch, mult, nrb = p["ch"], p["ch_mult"], p["num_res_blocks"]
        g = p.get("norm_groups", 32)
        cin = ch * mult[-1]
        self.conv_in = nn.Conv2d(p["z_channels"], cin, 3, 1, 1)
        self.mid = _Mid(cin, g)
        levels = [None] * len(mult)
        for lvl in reversed(range(len(mult))):  # execution order: lowest resolution first
            level = _Level()
            level.block = nn.ModuleList()
            for _ in range(nrb + 1):
                level.block.append(ResnetBlock(cin, ch * mult[lvl], g))
                cin = ch * mult[lvl]
            if lvl != 0:
                level.upsample = Upsample(cin)
            levels[lvl] = level
        self.up = nn.ModuleList(levels)  # index = resolution level, as in the BFL state dict
        self.norm_out = _gn(cin, g)
        self.conv_out = nn.Conv2d(cin, p["out_ch"], 3, 1, 1)

    def forward(self, z):
        h = self.mid(self.conv_in(z))
        for level in reversed(self.up):
            for b in level.block:
                h = b(h)
            if hasattr(level, "upsample"):
                h = level.upsample(h)
        return self.conv_out(F.silu(self.norm_out(h)))


class AutoEncoder(nn.Module):
    """encode(x in [-1,1]) -> scale*(mean - shift); decode(z) -> Decoder(z/scale + shift)."""

    def __init__(self, params):
        super().__init__()
        self.params = dict(params)
        self.encoder = Encoder(params)
        self.decoder = Decoder(params)

    def moments(self, x):
        return self.encoder(x).chunk(2, dim=1)  # mean, logvar

    def encode(self, x):
        mean, _ = self.moments(x)
        return self.params["scale_factor"] * (mean - self.params["shift_factor"])

    def decode(self, z):
        return self.decoder(z / self.params["scale_factor"] + self.params["shift_factor"])


# ------------------------------------------------------------------------------------------------
# T5 encoder (Hugging Face T5EncoderModel naming, v1.1 gated-GELU)
# ------------------------------------------------------------------------------------------------

def t5_rms_norm(x, weight, eps=1e-6):
    var = x.float().pow(2).mean(-1, keepdim=True)
    x = x.float() * torch.rsqrt(var + eps)
    return weight * x.to(weight.dtype) if weight.dtype in (torch.float16, torch.bfloat16) else weight * x


def gelu_tanh(x):
    """GELU, tanh approximation, evaluated in float32 (1.7x faster than torch's bf16 CPU kernel)."""
    return F.gelu(x.float(), approximate="tanh").to(x.dtype)


class GELUTanh(nn.Module):
    def forward(self, x):
        return gelu_tanh(x)


def t5_relative_position_bucket(rel, num_buckets=32, max_distance=128):
    """Bidirectional bucket of key_pos - query_pos, in torch float32 exactly like HF T5."""
    num_buckets //= 2
    buckets = (rel > 0).to(torch.long) * num_buckets
    n = torch.abs(rel)
    max_exact = num_buckets // 2
    large = max_exact + (torch.log(n.float() / max_exact) / math.log(max_distance / max_exact)
                         * (num_buckets - max_exact)).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(n < max_exact, n, large)


class _T5RMS(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return t5_rms_norm(x, self.weight, self.eps)


class _T5Attention(nn.Module):
    def __init__(self, c, has_bias):
        super().__init__()
        inner = c["num_heads"] * c["d_kv"]
        self.q = nn.Linear(c["d_model"], inner, bias=False)
        self.k = nn.Linear(c["d_model"], inner, bias=False)
        self.v = nn.Linear(c["d_model"], inner, bias=False)
        self.o = nn.Linear(inner, c["d_model"], bias=False)
        if has_bias:
            self.relative_attention_bias = nn.Embedding(c["relative_attention_num_buckets"], c["num_heads"])
        self.h, self.dk = c["num_heads"], c["d_kv"]

    def forward(self, x, bias):
        B, L, _ = x.shape
        q = self.q(x).view(B, L, self.h, self.dk).transpose(1, 2)
        k = self.k(x).view(B, L, self.h, self.dk).transpose(1, 2)
        v = self.v(x).view(B, L, self.h, self.dk).transpose(1, 2)
        s = q @ k.transpose(-1, -2) + bias  # NO 1/sqrt(d_kv) scaling (T5)
        a = torch.softmax(s.float(), dim=-1).to(v.dtype) @ v
        return self.o(a.transpose(1, 2).reshape(B, L, self.h * self.dk))


class _T5LayerSelfAttention(nn.Module):
    def __init__(self, c, has_bias):
        super().__init__()
        self.SelfAttention = _T5Attention(c, has_bias)
        self.layer_norm = _T5RMS(c["d_model"], c["layer_norm_epsilon"])


class _T5DenseGated(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wi_0 = nn.Linear(c["d_model"], c["d_ff"], bias=False)
        self.wi_1 = nn.Linear(c["d_model"], c["d_ff"], bias=False)
        self.wo = nn.Linear(c["d_ff"], c["d_model"], bias=False)

    def forward(self, x):
        return self.wo(gelu_tanh(self.wi_0(x)) * self.wi_1(x))


class _T5LayerFF(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.DenseReluDense = _T5DenseGated(c)
        self.layer_norm = _T5RMS(c["d_model"], c["layer_norm_epsilon"])


class _T5Block(nn.Module):
    def __init__(self, c, has_bias):
        super().__init__()
        self.layer = nn.ModuleList([_T5LayerSelfAttention(c, has_bias), _T5LayerFF(c)])

    def forward(self, x, bias):
        sa, ff = self.layer
        x = x + sa.SelfAttention(sa.layer_norm(x), bias)
        return x + ff.DenseReluDense(ff.layer_norm(x))


class _T5Stack(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.block = nn.ModuleList([_T5Block(c, i == 0) for i in range(c["num_layers"])])
        self.final_layer_norm = _T5RMS(c["d_model"], c["layer_norm_epsilon"])


T5_CONFIG_DEFAULTS = {"relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
                      "layer_norm_epsilon": 1e-6, "feed_forward_proj": "gated-gelu", "dense_act_fn": "gelu_new",
                      "is_gated_act": True, "pad_token_id": 0, "eos_token_id": 1}


class T5Encoder(nn.Module):
    """forward(ids [B, L] long) -> last_hidden_state [B, L, d_model]; no attention mask (as FLUX)."""

    def __init__(self, config):
        super().__init__()
        c = dict(T5_CONFIG_DEFAULTS, **config)
        self.config = c
        self.shared = nn.Embedding(c["vocab_size"], c["d_model"])
        self.encoder = _T5Stack(c)
        self._bucket_cache = {}

    def buckets(self, L, device):
        # Kept per device: a copy from host memory on every forward would stall a GPU's queue.
        key = (L, str(device))
        if key not in self._bucket_cache:
            pos = torch.arange(L, dtype=torch.long)
            rel = pos[None, :] - pos[:, None]  # key - query
            self._bucket_cache[key] = t5_relative_position_bucket(
                rel, self.config["relative_attention_num_buckets"],
                self.config["relative_attention_max_distance"]).to(device)
        return self._bucket_cache[key]

    def forward(self, ids):
        x = self.shared(ids)
        blocks = self.encoder.block
        table = blocks[0].layer[0].SelfAttention.relative_attention_bias
        bias = table(self.buckets(ids.shape[1], ids.device)).permute(2, 0, 1)[None]  # [1, H, L, L]
        for b in blocks:
            x = b(x, bias)
        return self.encoder.final_layer_norm(x)

    def init_weights(self, gen=None):
        """T5-style init (HF _init_weights with factor 1)."""
        c = self.config
        d, dk, h, dff = c["d_model"], c["d_kv"], c["num_heads"], c["d_ff"]
        with torch.no_grad():
            self.shared.weight.normal_(0, 1.0, generator=gen)
            for b in self.encoder.block:
                a = b.layer[0].SelfAttention
                a.q.weight.normal_(0, (d * dk) ** -0.5, generator=gen)
                a.k.weight.normal_(0, d ** -0.5, generator=gen)
                a.v.weight.normal_(0, d ** -0.5, generator=gen)
                a.o.weight.normal_(0, (h * dk) ** -0.5, generator=gen)
                if hasattr(a, "relative_attention_bias"):
                    a.relative_attention_bias.weight.normal_(0, d ** -0.5, generator=gen)
                ff = b.layer[1].DenseReluDense
                ff.wi_0.weight.normal_(0, d ** -0.5, generator=gen)
                ff.wi_1.weight.normal_(0, d ** -0.5, generator=gen)
                ff.wo.weight.normal_(0, dff ** -0.5, generator=gen)


# ------------------------------------------------------------------------------------------------
# CLIP text model (Hugging Face CLIPTextModel naming)
# ------------------------------------------------------------------------------------------------

class _CLIPAttention(nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.k_proj = nn.Linear(d, d)
        self.v_proj = nn.Linear(d, d)
        self.q_proj = nn.Linear(d, d)
        self.out_proj = nn.Linear(d, d)
        self.h = h

    def forward(self, x, mask):
        B, L, D = x.shape
        hd = D // self.h
        q = (self.q_proj(x) * hd ** -0.5).view(B, L, self.h, hd).transpose(1, 2)
        k = self.k_proj(x).view(B, L, self.h, hd).transpose(1, 2)
        v = self.v_proj(x).view(B, L, self.h, hd).transpose(1, 2)
        a = torch.softmax(q @ k.transpose(-1, -2) + mask, dim=-1) @ v
        return self.out_proj(a.transpose(1, 2).reshape(B, L, D))


class _CLIPMLP(nn.Module):
    def __init__(self, d, dff):
        super().__init__()
        self.fc1 = nn.Linear(d, dff)
        self.fc2 = nn.Linear(dff, d)

    def forward(self, x):
        h = self.fc1(x)
        return self.fc2(h * torch.sigmoid(1.702 * h))  # quick_gelu


class _CLIPLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.self_attn = _CLIPAttention(d, c["num_attention_heads"])
        self.layer_norm1 = nn.LayerNorm(d, eps=c["layer_norm_eps"])
        self.mlp = _CLIPMLP(d, c["intermediate_size"])
        self.layer_norm2 = nn.LayerNorm(d, eps=c["layer_norm_eps"])

    def forward(self, x, mask):
        x = x + self.self_attn(self.layer_norm1(x), mask)
        return x + self.mlp(self.layer_norm2(x))


class _CLIPEmbeddings(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.token_embedding = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.position_embedding = nn.Embedding(c["max_position_embeddings"], c["hidden_size"])


class _CLIPEncoder(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([_CLIPLayer(c) for _ in range(c["num_hidden_layers"])])


class _CLIPTransformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embeddings = _CLIPEmbeddings(c)
        self.encoder = _CLIPEncoder(c)
        self.final_layer_norm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])


CLIP_CONFIG_DEFAULTS = {"hidden_act": "quick_gelu", "layer_norm_eps": 1e-5, "attention_dropout": 0.0}


class CLIPText(nn.Module):
    """forward(ids [B, L]) -> (last_hidden_state [B, L, D], pooled [B, D] at the first eos_token_id)."""

    def __init__(self, config):
        super().__init__()
        c = dict(CLIP_CONFIG_DEFAULTS, **config)
        self.config = c
        self.text_model = _CLIPTransformer(c)

    def forward(self, ids):
        tm = self.text_model
        B, L = ids.shape
        x = tm.embeddings.token_embedding(ids) + tm.embeddings.position_embedding.weight[:L][None]
        mask = torch.full((L, L), torch.finfo(torch.float32).min, device=ids.device).triu(1)[None, None]
        for layer in tm.encoder.layers:
            x = layer(x, mask)
        h = tm.final_layer_norm(x)
        eos = (ids == self.config["eos_token_id"]).int().argmax(dim=-1)  # first EOS (HF rule for eos != 2)
        return h, h[torch.arange(B, device=ids.device), eos]

    def init_weights(self, gen=None):
        c = self.config
        d, n = c["hidden_size"], c["num_hidden_layers"]
        with torch.no_grad():
            emb = self.text_model.embeddings
            emb.token_embedding.weight.normal_(0, 0.02, generator=gen)
            emb.position_embedding.weight.normal_(0, 0.01, generator=gen)
            for layer in self.text_model.encoder.layers:
                a = layer.self_attn
                for lin in (a.q_proj, a.k_proj, a.v_proj):
                    lin.weight.normal_(0, d ** -0.5 * (2 * n) ** -0.5, generator=gen)
                    lin.bias.zero_()
                a.out_proj.weight.normal_(0, d ** -0.5, generator=gen)
                a.out_proj.bias.zero_()
                layer.mlp.fc1.weight.normal_(0, (2 * d) ** -0.5, generator=gen)
                layer.mlp.fc1.bias.zero_()
                layer.mlp.fc2.weight.normal_(0, d ** -0.5 * (2 * n) ** -0.5, generator=gen)
                layer.mlp.fc2.bias.zero_()


# ------------------------------------------------------------------------------------------------
# FLUX transformer (BFL naming), trainable
# ------------------------------------------------------------------------------------------------

def timestep_embedding(t, dim=256, max_period=10000.0, time_factor=1000.0):
    """COS half first, float32 (as flux_torch.timestep_embedding)."""
    half = dim // 2
    t = time_factor * t.float()
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    args = t[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def rope_tables(ids, axes_dim, theta):
    """(cos, sin) [B, 1, L, D/2] float32 for 3-axis RoPE; computed in float64 like flux_torch."""
    cos, sin = [], []
    for a, d in enumerate(axes_dim):
        omega = 1.0 / (float(theta) ** (torch.arange(0, d, 2, dtype=torch.float64) / d))
        ang = ids[..., a].double()[..., None] * omega
        cos.append(torch.cos(ang))
        sin.append(torch.sin(ang))
    return torch.cat(cos, -1).float()[:, None], torch.cat(sin, -1).float()[:, None]


def apply_rope(x, cos, sin):
    """Interleaved pairs (2j, 2j+1), in float32, cast back."""
    xf = x.float()
    x0, x1 = xf[..., 0::2], xf[..., 1::2]
    return torch.stack([cos * x0 - sin * x1, sin * x0 + cos * x1], dim=-1).flatten(-2).type_as(x)


def attention(q, k, v, cos, sin):
    q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
    s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
    x = torch.softmax(s, dim=-1) @ v
    B, H, L, D = x.shape
    return x.transpose(1, 2).reshape(B, L, H * D)


class _RMSNormScale(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(d))

    def forward(self, x):
        xf = x.float()
        return (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + 1e-6)).to(x.dtype) * self.scale


class _QKNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.query_norm = _RMSNormScale(d)
        self.key_norm = _RMSNormScale(d)


class _MLPEmbedder(nn.Module):
    def __init__(self, din, h):
        super().__init__()
        self.in_layer = nn.Linear(din, h)
        self.out_layer = nn.Linear(h, h)

    def forward(self, x):
        return self.out_layer(F.silu(self.in_layer(x)))


class _Modulation(nn.Module):
    def __init__(self, h, n):
        super().__init__()
        self.lin = nn.Linear(h, n * h)
        self.n = n

    def forward(self, vec):
        return [c[:, None, :] for c in self.lin(F.silu(vec)).chunk(self.n, dim=-1)]


class _SelfAttn(nn.Module):
    def __init__(self, h, hd, qkv_bias):
        super().__init__()
        self.qkv = nn.Linear(h, 3 * h, bias=qkv_bias)
        self.norm = _QKNorm(hd)
        self.proj = nn.Linear(h, h)


def _ln(x):
    return F.layer_norm(x, (x.shape[-1],), eps=1e-6)


class DoubleStreamBlock(nn.Module):
    def __init__(self, h, heads, mlp_hidden, qkv_bias):
        super().__init__()
        hd = h // heads
        self.heads = heads
        self.img_mod = _Modulation(h, 6)
        self.img_attn = _SelfAttn(h, hd, qkv_bias)
        self.img_mlp = nn.Sequential(nn.Linear(h, mlp_hidden), GELUTanh(), nn.Linear(mlp_hidden, h))
        self.txt_mod = _Modulation(h, 6)
        self.txt_attn = _SelfAttn(h, hd, qkv_bias)
        self.txt_mlp = nn.Sequential(nn.Linear(h, mlp_hidden), GELUTanh(), nn.Linear(mlp_hidden, h))

    def _qkv(self, attn, x):
        B, L, _ = x.shape
        qkv = attn.qkv(x).view(B, L, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q, k = attn.norm.query_norm(q), attn.norm.key_norm(k)
        return q.to(v.dtype), k.to(v.dtype), v

    def forward(self, img, txt, vec, cos, sin):
        im = self.img_mod(vec)
        tm = self.txt_mod(vec)
        iq, ik, iv = self._qkv(self.img_attn, (1 + im[1]) * _ln(img) + im[0])
        tq, tk, tv = self._qkv(self.txt_attn, (1 + tm[1]) * _ln(txt) + tm[0])
        a = attention(torch.cat([tq, iq], 2), torch.cat([tk, ik], 2), torch.cat([tv, iv], 2), cos, sin)
        n = txt.shape[1]
        ta, ia = a[:, :n], a[:, n:]
        img = img + im[2] * self.img_attn.proj(ia)
        img = img + im[5] * self.img_mlp((1 + im[4]) * _ln(img) + im[3])
        txt = txt + tm[2] * self.txt_attn.proj(ta)
        txt = txt + tm[5] * self.txt_mlp((1 + tm[4]) * _ln(txt) + tm[3])
        return img, txt


class SingleStreamBlock(nn.Module):
    def __init__(self, h, heads, mlp_hidden):
        super().__init__()
        self.h, self.heads, self.mlp_hidden = h, heads, mlp_hidden
        self.linear1 = nn.Linear(h, 3 * h + mlp_hidden)
        self.linear2 = nn.Linear(h + mlp_hidden, h)
        self.norm = _QKNorm(h // heads)
        self.modulation = _Modulation(h, 3)

    def forward(self, x, vec, cos, sin):
        shift, scale, gate = self.modulation(vec)
        u = self.linear1((1 + scale) * _ln(x) + shift)
        B, L, _ = x.shape
        qkv = u[..., :3 * self.h].reshape(B, L, 3, self.heads, -1).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q, k = self.norm.query_norm(q).to(v.dtype), self.norm.key_norm(k).to(v.dtype)
        a = attention(q, k, v, cos, sin)
        return x + gate * self.linear2(torch.cat([a, gelu_tanh(u[..., 3 * self.h:])], dim=-1))


class _LastLayer(nn.Module):
    def __init__(self, h, out):
        super().__init__()
        self.linear = nn.Linear(h, out)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(h, 2 * h))


class FluxDiT(nn.Module):
    """forward(img [B,N,in], txt [B,T,ctx], y [B,vec], t [B], cos, sin) -> velocity [B,N,out].

    cos/sin come from rope_for(n_txt, rows, cols) (fixed for a given token layout)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        h, heads = cfg["hidden_size"], cfg["num_heads"]
        mlp = int(h * cfg["mlp_ratio"])
        self.img_in = nn.Linear(cfg["in_channels"], h)
        self.time_in = _MLPEmbedder(256, h)
        self.vector_in = _MLPEmbedder(cfg["vec_in_dim"], h)
        if cfg["guidance_embed"]:
            self.guidance_in = _MLPEmbedder(256, h)
        self.txt_in = nn.Linear(cfg["context_in_dim"], h)
        self.double_blocks = nn.ModuleList([DoubleStreamBlock(h, heads, mlp, cfg["qkv_bias"]) for _ in range(cfg["depth"])])
        self.single_blocks = nn.ModuleList([SingleStreamBlock(h, heads, mlp) for _ in range(cfg["depth_single_blocks"])])
        self.final_layer = _LastLayer(h, cfg["out_channels"])
        self._rope = {}

    def rope_for(self, n_txt, rows, cols):
        key = (n_txt, rows, cols)
        if key not in self._rope:
            ids = torch.zeros(1, n_txt + rows * cols, 3)
            r, c = torch.meshgrid(torch.arange(rows), torch.arange(cols), indexing="ij")
            ids[0, n_txt:, 1] = r.reshape(-1).float()
            ids[0, n_txt:, 2] = c.reshape(-1).float()
            self._rope[key] = rope_tables(ids, self.cfg["axes_dim"], self.cfg["theta"])
        return self._rope[key]

    def forward(self, img, txt, y, t, cos, sin, guidance=None):
        img = self.img_in(img)
        vec = self.time_in(timestep_embedding(t))
        if self.cfg["guidance_embed"]:
            vec = vec + self.guidance_in(timestep_embedding(guidance))
        vec = vec + self.vector_in(y)
        txt = self.txt_in(txt)
        for b in self.double_blocks:
            img, txt = b(img, txt, vec, cos, sin)
        x = torch.cat([txt, img], 1)
        for b in self.single_blocks:
            x = b(x, vec, cos, sin)
        img = x[:, txt.shape[1]:]
        shift, scale = (c[:, None] for c in self.final_layer.adaLN_modulation(vec).chunk(2, dim=-1))
        return self.final_layer.linear((1 + scale) * _ln(img) + shift)

    def init_weights(self, gen=None):
        """Xavier-uniform linears with zero bias; adaLN-Zero: modulations and the output layer start at
        zero, so every block starts as the identity."""
        with torch.no_grad():
            for m in self.modules():
                if isinstance(m, nn.Linear):
                    bound = math.sqrt(6.0 / (m.in_features + m.out_features))
                    m.weight.uniform_(-bound, bound, generator=gen)
                    if m.bias is not None:
                        m.bias.zero_()
            for m in self.modules():
                if isinstance(m, _Modulation):
                    m.lin.weight.zero_()
                    m.lin.bias.zero_()
            self.final_layer.adaLN_modulation[1].weight.zero_()
            self.final_layer.adaLN_modulation[1].bias.zero_()
            self.final_layer.linear.weight.zero_()
            self.final_layer.linear.bias.zero_()
            for e in (self.time_in, self.vector_in):
                e.in_layer.weight.normal_(0, 0.02, generator=gen)
                e.out_layer.weight.normal_(0, 0.02, generator=gen)


def count_params(module):
    return sum(p.numel() for p in module.state_dict().values())
