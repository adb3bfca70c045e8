#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Attention for GPUs, FlashAttention-2's loop: a workgroup owns BQ queries of one head and
// walks the keys in tiles of BK staged in shared memory. Per tile: scores (TPR invocations
// per query row, KPT keys each), an online-softmax update by one invocation per row, then
// P·V into per-invocation accumulators (each of a row's TPR invocations keeps CPT of its
// ≤ DMAX4 vec4 output columns). The workgroup size (spec constant 0) must be BQ·TPR = 128.
#include "common.glsl"
#include "attention-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer q4;
layout(binding = 1) uniform samplerBuffer k4;
layout(binding = 2) uniform samplerBuffer v4;
#include "attention-mask.glsl"
layout(binding = 8) buffer Out { float o[]; };

#define BQ 32u
#define TPR 4u
#define BK 16u
#define DMAX4 32u
#define KPT (BK / TPR)
#define CPT (DMAX4 / TPR)

shared vec4 ks[BK][DMAX4];
shared vec4 vs[BK][DMAX4];
shared float ps[BQ][BK];
shared float row_scale[BQ];

void main()
{
    uint t = gl_LocalInvocationID.x;
    uint r = t / TPR, lane = t % TPR;
    uint h = gl_WorkGroupID.y;
    uint i0 = gl_WorkGroupID.x * BQ;
    uint i = min(i0 + r, p.lq - 1u);
    uint col = h * p.head_dim;
    uint d4n = p.head_dim / 4u;
    int q_base = int((p.q_off + i * p.q_stride + col) / 4u);
    uint query_bits = attn_query_bits(i);

    vec4 acc[CPT];
    [[unroll]] for (uint n = 0u; n < CPT; n++)
        acc[n] = vec4(0.0);
    // The softmax state of row t, kept by invocation t < BQ.
    float m_row = ATTN_NEG_INF, l_row = 0.0;

    uint k_end = (p.flags & ATTN_CAUSAL) != 0u ? min(p.lk, min(i0 + BQ, p.lq)) : p.lk;
    for (uint j0 = 0u; j0 < k_end; j0 += BK) {
        for (uint e = t; e < BK * DMAX4; e += BQ * TPR) {
            uint kr = e / DMAX4, c4 = e % DMAX4, j = j0 + kr;
            vec4 kv = vec4(0.0), vv = vec4(0.0);
            if (j < p.lk && c4 < d4n) {
                kv = texelFetch(k4, int((p.k_off + j * p.k_stride + col) / 4u + c4));
                vv = texelFetch(v4, int((p.v_off + j * p.v_stride + col) / 4u + c4));
            }
            ks[kr][c4] = kv;
            vs[kr][c4] = vv;
        }
        barrier();

        float s[KPT];
        [[unroll]] for (uint n = 0u; n < KPT; n++)
            s[n] = 0.0;
        for (uint d = 0u; d < d4n; d++) {
            vec4 qv = texelFetch(q4, q_base + int(d)) * p.scale;
            [[unroll]] for (uint n = 0u; n < KPT; n++)
                s[n] += dot(qv, ks[lane + TPR * n][d]);
        }
        [[unroll]] for (uint n = 0u; n < KPT; n++) {
            uint j = j0 + lane + TPR * n;
            ps[r][lane + TPR * n] = j < k_end
                ? s[n] + attn_pair_bias(i, j, h, query_bits, attn_key_bits(j), attn_key_bias(j))
                : ATTN_NEG_INF;
        }
        barrier();

        if (t < BQ) {
            float mb = ATTN_NEG_INF;
            [[unroll]] for (uint c = 0u; c < BK; c++)
                mb = max(mb, ps[t][c]);
            float mn = max(m_row, mb);
            // Until some key is visible, mn is -inf: subtract 0 instead so nothing becomes NaN.
            float base = mn > ATTN_NEG_INF ? mn : 0.0;
            float alpha = exp(m_row - base);
            float sum = 0.0;
            [[unroll]] for (uint c = 0u; c < BK; c++) {
                float sc = ps[t][c];
                float e = sc > ATTN_NEG_INF ? exp(sc - base) : 0.0;
                ps[t][c] = e;
                sum += e;
            }
            l_row = fma(l_row, alpha, sum);
            m_row = mn;
            row_scale[t] = alpha;
        }
        barrier();

        float alpha = row_scale[r];
        [[unroll]] for (uint n = 0u; n < CPT; n++) {
            uint c4 = lane + TPR * n;
            if (c4 < d4n) {
                vec4 a = acc[n] * alpha;
                [[unroll]] for (uint c = 0u; c < BK; c++)
                    a = fma(vec4(ps[r][c]), vs[c][c4], a);
                acc[n] = a;
            }
        }
        barrier();
    }

    if (t < BQ)
        row_scale[t] = m_row > ATTN_NEG_INF ? 1.0 / l_row : 0.0;
    barrier();
    if (i0 + r < p.lq) {
        float inv = row_scale[r];
        uint out_base = p.o_off + (i0 + r) * p.o_stride + col;
        [[unroll]] for (uint n = 0u; n < CPT; n++) {
            uint c4 = lane + TPR * n;
            if (c4 < d4n) {
                vec4 res = acc[n] * inv;
                o[out_base + 4u * c4] = res.x;
                o[out_base + 4u * c4 + 1u] = res.y;
                o[out_base + 4u * c4 + 2u] = res.z;
                o[out_base + 4u * c4 + 3u] = res.w;
            }
        }
    }
}
