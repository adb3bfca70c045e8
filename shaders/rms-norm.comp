#version 450
#extension GL_GOOGLE_include_directive : require
// RMSNorm of one group of columns (one head, or a whole T5 row) per invocation. Each value
// is read before its own output is written and by no other invocation, so x and y may be
// the same view.
//
// VEC4: operands and output four columns at a time (RGBA32F views, vec4 stores); the host
// picks it when the group and all offsets and strides are multiples of 4.
#include "common.glsl"
#include "rms-norm-push.glsl"

// Row sums run in blocks of SUM_BLOCK columns, each block summed on its own before it joins
// the total, so a sum's rounding grows with SUM_BLOCK/4 + n/SUM_BLOCK additions, not n/4.
#define SUM_BLOCK 64

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer weight;
#ifdef VEC4
layout(binding = 2) buffer Y { vec4 y[]; };
#else
layout(binding = 2) buffer Y { float y[]; };
#endif

// Columns [c, c+4) of an operand whose group starts at element `at` (a multiple of 4 with VEC4).
vec4 quad(samplerBuffer t, int at, int c)
{
#ifdef VEC4
    return texelFetch(t, (at + c) >> 2);
#else
    return vec4(texelFetch(t, at + c).x, texelFetch(t, at + c + 1).x,
                texelFetch(t, at + c + 2).x, texelFetch(t, at + c + 3).x);
#endif
}

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.groups)
        return;
    uint r = i / p.groups, g = i % p.groups;
    int base = int(p.x_off + r * p.x_stride + g * p.group);
    int n = int(p.group), n4 = n & ~3;

    // Four partial sums, each summed in blocks: T5 rows are 4096 long and
    // the squares all have one sign, so their rounding errors do not cancel.
    vec4 s = vec4(0.0);
    for (int c0 = 0; c0 < n4; c0 += SUM_BLOCK) {
        vec4 b = vec4(0.0);
        for (int c = c0; c < min(c0 + SUM_BLOCK, n4); c += 4) {
            vec4 v = quad(x, base, c);
            b += v * v;
        }
        s += b;
    }
    float ss = (s.x + s.y) + (s.z + s.w);
#ifndef VEC4
    for (int c = n4; c < n; c++) {
        float v = texelFetch(x, base + c).x;
        ss += v * v;
    }
#endif
    float rms = 1.0 / sqrt(ss / float(n) + p.eps);

    int out_base = int(p.y_off + r * p.y_stride + g * p.group);
#ifdef VEC4
    for (int c = 0; c < n; c += 4)
        y[(out_base + c) >> 2] = quad(x, base, c) * rms * quad(weight, int(p.weight_off), c);
#else
    for (int c = 0; c < n; c++)
        y[out_base + c] = texelFetch(x, base + c).x * rms * texelFetch(weight, int(p.weight_off) + c).x;
#endif
}
