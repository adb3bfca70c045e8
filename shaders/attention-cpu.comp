#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Attention for CPU drivers (lavapipe). One invocation owns QB queries of one head and streams
// the keys KB at a time with an online softmax, so the scores never leave registers and each
// K/V texel fetched serves QB queries. No shared memory: llvmpipe scalarises its loads, while
// RGBA32F texel fetches stay vectorised. HEAD_DIM is the largest head size this build serves;
// smaller multiples of 4 skip the unused vec4 columns (p.head_dim is uniform).
#include "common.glsl"
#include "attention-push.glsl"

layout(local_size_x_id = 0) in;
// The mask options are a specialisation constant: llvmpipe runs every branch body under a lane
// mask even when no lane takes it, so run-time flags cost plain attention the region-bit, key-bias
// and relative-bias reads of every key.
layout(constant_id = 1) const uint FLAGS = 0u;
#define ATTN_FLAGS FLAGS
layout(binding = 0) uniform samplerBuffer q4;
layout(binding = 1) uniform samplerBuffer k4;
layout(binding = 2) uniform samplerBuffer v4;
#include "attention-mask.glsl"
layout(binding = 8) buffer Out { float o[]; };

#define D4 (HEAD_DIM / 4)

void main()
{
    uint n_blocks = (p.lq + QB - 1u) / QB;
    uint id = sinopia_linear_id();
    if (id >= n_blocks * p.n_heads)
        return;
    uint h = id / n_blocks;
    uint i0 = (id % n_blocks) * QB;
    uint col = h * p.head_dim;
    uint d4n = p.head_dim / 4u;

    vec4 q[QB][D4];
    vec4 acc[QB][D4];
    uint qbits[QB];
    float m[QB], l[QB];
    [[unroll]] for (uint a = 0u; a < QB; a++) {
        uint i = min(i0 + a, p.lq - 1u);
        int base = int((p.q_off + i * p.q_stride + col) / 4u);
        [[unroll]] for (uint d = 0u; d < D4; d++) {
            q[a][d] = d < d4n ? texelFetch(q4, base + int(d)) * p.scale : vec4(0.0);
            acc[a][d] = vec4(0.0);
        }
        qbits[a] = attn_query_bits(i);
        m[a] = ATTN_NEG_INF;
        l[a] = 0.0;
    }

    // Causal: no query of this block sees a key past its last query.
    uint k_end = (ATTN_FLAGS & ATTN_CAUSAL) != 0u ? min(p.lk, min(i0 + QB, p.lq)) : p.lk;
    for (uint j0 = 0u; j0 < k_end; j0 += KB) {
        int kbase[KB], vbase[KB];
        float s[QB][KB];
        [[unroll]] for (uint b = 0u; b < KB; b++) {
            uint j = min(j0 + b, p.lk - 1u);
            kbase[b] = int((p.k_off + j * p.k_stride + col) / 4u);
            vbase[b] = int((p.v_off + j * p.v_stride + col) / 4u);
            [[unroll]] for (uint a = 0u; a < QB; a++)
                s[a][b] = 0.0;
        }
        [[unroll]] for (uint d = 0u; d < D4; d++) {
            if (d < d4n) {
                vec4 kv[KB];
                [[unroll]] for (uint b = 0u; b < KB; b++)
                    kv[b] = texelFetch(k4, kbase[b] + int(d));
                [[unroll]] for (uint a = 0u; a < QB; a++)
                    [[unroll]] for (uint b = 0u; b < KB; b++)
                        s[a][b] = fma(q[a][d].w, kv[b].w, fma(q[a][d].z, kv[b].z,
                                  fma(q[a][d].y, kv[b].y, fma(q[a][d].x, kv[b].x, s[a][b]))));
            }
        }
        if (ATTN_FLAGS != 0u || j0 + KB > k_end) {
            [[unroll]] for (uint b = 0u; b < KB; b++) {
                uint j = j0 + b;
                uint jc = min(j, p.lk - 1u);
                uint kbits = attn_key_bits(jc);
                float kbias = attn_key_bias(jc);
                [[unroll]] for (uint a = 0u; a < QB; a++) {
                    uint i = min(i0 + a, p.lq - 1u);
                    s[a][b] += j < k_end ? attn_pair_bias(i, jc, h, qbits[a], kbits, kbias) : ATTN_NEG_INF;
                }
            }
        }

        float alpha[QB];
        [[unroll]] for (uint a = 0u; a < QB; a++) {
            float mb = s[a][0];
            [[unroll]] for (uint b = 1u; b < KB; b++)
                mb = max(mb, s[a][b]);
            float mn = max(m[a], mb);
            // Until some key is visible, mn is -inf: subtract 0 instead so nothing becomes NaN.
            float base = mn > ATTN_NEG_INF ? mn : 0.0;
            alpha[a] = exp(m[a] - base);
            float sum = 0.0;
            [[unroll]] for (uint b = 0u; b < KB; b++) {
                s[a][b] = s[a][b] > ATTN_NEG_INF ? exp(s[a][b] - base) : 0.0;
                sum += s[a][b];
            }
            l[a] = fma(l[a], alpha[a], sum);
            m[a] = mn;
        }

        [[unroll]] for (uint d = 0u; d < D4; d++) {
            if (d < d4n) {
                vec4 vv[KB];
                [[unroll]] for (uint b = 0u; b < KB; b++)
                    vv[b] = texelFetch(v4, vbase[b] + int(d));
                [[unroll]] for (uint a = 0u; a < QB; a++) {
                    vec4 t = acc[a][d] * alpha[a];
                    [[unroll]] for (uint b = 0u; b < KB; b++)
                        t = fma(vec4(s[a][b]), vv[b], t);
                    acc[a][d] = t;
                }
            }
        }
    }

    [[unroll]] for (uint a = 0u; a < QB; a++) {
        if (i0 + a < p.lq) {
            float inv = m[a] > ATTN_NEG_INF ? 1.0 / l[a] : 0.0;
            uint out_base = p.o_off + (i0 + a) * p.o_stride + col;
            [[unroll]] for (uint d = 0u; d < D4; d++) {
                if (d < d4n) {
                    vec4 r = acc[a][d] * inv;
                    o[out_base + 4u * d] = r.x;
                    o[out_base + 4u * d + 1u] = r.y;
                    o[out_base + 4u * d + 2u] = r.z;
                    o[out_base + 4u * d + 3u] = r.w;
                }
            }
        }
    }
}
