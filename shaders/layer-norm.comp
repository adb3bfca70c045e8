#version 450
#extension GL_GOOGLE_include_directive : require
// LayerNorm of one row per invocation, then optional affine and AdaLN modulation.
//
// The statistics are a shifted, corrected two-pass over the row: every value is first
// taken relative to the row's first element, which is exact for values near it, so a row
// of large values with a small spread (a residual stream around 1e3) keeps its precision;
// the second pass adds back the residual mean error of the first. A one-pass E[x²]-E[x]²
// in float would lose every digit of such a row's variance.
//
// VEC4: every operand and the output are read and written four columns at a time (RGBA32F
// views, vec4 stores); the host picks it when cols and all offsets and strides are
// multiples of 4. Otherwise quads are gathered from R32F texels and stored one by one.
#include "common.glsl"
#include "layer-norm-push.glsl"

// Row sums run in blocks of SUM_BLOCK columns, each block summed on its own before it joins
// the total, so a sum's rounding grows with SUM_BLOCK/4 + n/SUM_BLOCK additions, not n/4.
#define SUM_BLOCK 64

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer weight;
layout(binding = 2) uniform samplerBuffer bias;
layout(binding = 3) uniform samplerBuffer shift;
layout(binding = 4) uniform samplerBuffer scale;
#ifdef VEC4
layout(binding = 5) buffer Y { vec4 y[]; };
#else
layout(binding = 5) buffer Y { float y[]; };
#endif

// Columns [c, c+4) of an operand whose row starts at element `at` (a multiple of 4 with VEC4).
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
    uint r = sinopia_linear_id();
    if (r >= p.rows)
        return;
    int base = int(p.x_off + r * p.x_stride);
    int n = int(p.cols), n4 = n & ~3;
#ifdef VEC4
    float k = texelFetch(x, base >> 2).x;
#else
    float k = texelFetch(x, base).x;
#endif

    // Four independent sums per pass (more work per loop iteration on lavapipe), each summed
    // in blocks.
    vec4 s = vec4(0.0);
    for (int c0 = 0; c0 < n4; c0 += SUM_BLOCK) {
        vec4 b = vec4(0.0);
        for (int c = c0; c < min(c0 + SUM_BLOCK, n4); c += 4)
            b += quad(x, base, c) - k;
        s += b;
    }
    float sum = (s.x + s.y) + (s.z + s.w);
#ifndef VEC4
    for (int c = n4; c < n; c++)
        sum += texelFetch(x, base + c).x - k;
#endif
    float m = sum / float(n);

    vec4 d1 = vec4(0.0), d2 = vec4(0.0);
    for (int c0 = 0; c0 < n4; c0 += SUM_BLOCK) {
        vec4 b1 = vec4(0.0), b2 = vec4(0.0);
        for (int c = c0; c < min(c0 + SUM_BLOCK, n4); c += 4) {
            vec4 d = quad(x, base, c) - k - m;
            b1 += d;
            b2 += d * d;
        }
        d1 += b1;
        d2 += b2;
    }
    float e1 = (d1.x + d1.y) + (d1.z + d1.w), e2 = (d2.x + d2.y) + (d2.z + d2.w);
#ifndef VEC4
    for (int c = n4; c < n; c++) {
        float d = texelFetch(x, base + c).x - k - m;
        e1 += d;
        e2 += d * d;
    }
#endif
    float err = e1 / float(n);
    float var = max(e2 / float(n) - err * err, 0.0);
    float mean = m + err;
    float rstd = 1.0 / sqrt(var + p.eps);

    int out_base = int(p.y_off + r * p.y_stride);
    int shift_off = int(r >= p.split ? p.shift_off_b : p.shift_off);
    int scale_off = int(r >= p.split ? p.scale_off_b : p.scale_off);
#ifdef VEC4
    for (int c = 0; c < n; c += 4) {
        vec4 v = (quad(x, base, c) - k - mean) * rstd;
        if (p.has_weight != 0u)
            v *= quad(weight, int(p.weight_off), c);
        if (p.has_bias != 0u)
            v += quad(bias, int(p.bias_off), c);
        if (p.has_scale != 0u)
            v *= 1.0 + quad(scale, scale_off, c);
        if (p.has_shift != 0u)
            v += quad(shift, shift_off, c);
        y[(out_base + c) >> 2] = v;
    }
#else
    for (int c = 0; c < n; c++) {
        float v = (texelFetch(x, base + c).x - k - mean) * rstd;
        if (p.has_weight != 0u)
            v *= texelFetch(weight, int(p.weight_off) + c).x;
        if (p.has_bias != 0u)
            v += texelFetch(bias, int(p.bias_off) + c).x;
        if (p.has_scale != 0u)
            v *= 1.0 + texelFetch(scale, scale_off + c).x;
        if (p.has_shift != 0u)
            v += texelFetch(shift, shift_off + c).x;
        y[out_base + c] = v;
    }
#endif
}
