#version 450
#extension GL_GOOGLE_include_directive : require
// FLUX's QK-norm and RoPE in one pass, in place on the q|k columns of the fused qkv rows:
// each head vector is RMS-normalised with its own scale (query scale for the first half of
// the heads, key scale for the second), then its adjacent pairs are rotated. One invocation
// per (row, head) reads its head once to sum squares and once to write, and no other
// invocation touches it, so input and output may be the same buffer.
// The host picks this when head_dim and every offset and stride are multiples of 4.
#include "common.glsl"
#include "qk-norm-rope-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer q_scale;
layout(binding = 2) uniform samplerBuffer k_scale;
layout(binding = 3) uniform samplerBuffer table;
layout(binding = 4) buffer Y { vec4 y[]; };

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.heads)
        return;
    uint r = i / p.heads, h = i % p.heads;
    bool is_key = h >= p.heads / 2u;
    int base = int(p.x_off + r * p.x_stride + h * p.head_dim) >> 2;
    int quads = int(p.head_dim) >> 2;

    vec4 s = vec4(0.0);
    for (int c = 0; c < quads; c++) {
        vec4 v = texelFetch(x, base + c);
        s += v * v;
    }
    float inv = inversesqrt(((s.x + s.y) + (s.z + s.w)) / float(p.head_dim) + p.eps);

    int t = int(p.table_off + r * p.table_stride) >> 2;
    int q_off = int(r >= p.split ? p.q_scale_off_b : p.q_scale_off);
    int k_off = int(r >= p.split ? p.k_scale_off_b : p.k_scale_off);
    for (int c = 0; c < quads; c++) {
        vec4 w = is_key ? texelFetch(k_scale, (k_off >> 2) + c) : texelFetch(q_scale, (q_off >> 2) + c);
        vec4 v = texelFetch(x, base + c) * inv * w;
        if (p.use_table != 0u) {
            vec4 cs = texelFetch(table, t + c);
            v = vec4(cs.x * v.x - cs.y * v.y, cs.y * v.x + cs.x * v.y,
                     cs.z * v.z - cs.w * v.w, cs.w * v.z + cs.z * v.w);
        }
        y[base + c] = v;
    }
}
