#version 450
#extension GL_GOOGLE_include_directive : require
// Attention fallback for any head size and any alignment: one invocation per output element
// (query i, column c), recomputing that query's scores with an online softmax. It repeats
// the QKᵀ work head_dim times, so the op only takes it when no vec4 kernel fits.
#include "common.glsl"
#include "attention-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer qf;
layout(binding = 1) uniform samplerBuffer kf;
layout(binding = 2) uniform samplerBuffer vf;
#include "attention-mask.glsl"
layout(binding = 8) buffer Out { float o[]; };

void main()
{
    uint cols = p.n_heads * p.head_dim;
    uint id = sinopia_linear_id();
    if (id >= p.lq * cols)
        return;
    uint i = id / cols, c = id % cols;
    uint h = c / p.head_dim, col0 = h * p.head_dim;
    uint q_base = p.q_off + i * p.q_stride + col0;
    uint query_bits = attn_query_bits(i);
    uint k_end = (p.flags & ATTN_CAUSAL) != 0u ? min(p.lk, i + 1u) : p.lk;

    float m = ATTN_NEG_INF, l = 0.0, acc = 0.0;
    for (uint j = 0u; j < k_end; j++) {
        float bias = attn_pair_bias(i, j, h, query_bits, attn_key_bits(j), attn_key_bias(j));
        uint k_base = p.k_off + j * p.k_stride + col0;
        float s = 0.0;
        for (uint d = 0u; d < p.head_dim; d++)
            s = fma(texelFetch(qf, int(q_base + d)).x, texelFetch(kf, int(k_base + d)).x, s);
        s = fma(s, p.scale, bias);
        if (s > ATTN_NEG_INF) {
            float mn = max(m, s);
            float alpha = exp(m - mn);
            float pr = exp(s - mn);
            l = fma(l, alpha, pr);
            acc = fma(acc, alpha, pr * texelFetch(vf, int(p.v_off + j * p.v_stride + c)).x);
            m = mn;
        }
    }
    o[p.o_off + i * p.o_stride + c] = m > ATTN_NEG_INF ? acc / l : 0.0;
}
