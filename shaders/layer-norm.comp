#version 450
#extension GL_GOOGLE_include_directive : require
// LayerNorm of one row per invocation, then optional affine and AdaLN modulation.
//
// The statistics are a shifted, corrected two-pass over the row: every value is first
// taken relative to the row's first element, which is exact for values near it, so a row
// of large values with a small spread (a residual stream around 1e3) keeps its precision;
// the second pass adds back the residual mean error of the first. A one-pass E[x²]-E[x]²
// in float would lose every digit of such a row's variance.
#include "common.glsl"
#include "layer-norm-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer weight;
layout(binding = 2) uniform samplerBuffer bias;
layout(binding = 3) uniform samplerBuffer shift;
layout(binding = 4) uniform samplerBuffer scale;
layout(binding = 5) buffer Y { float y[]; };

float load(int i)
{
    return texelFetch(x, i).x;
}

void main()
{
    uint r = sinopia_linear_id();
    if (r >= p.rows)
        return;
    int base = int(p.x_off + r * p.x_stride);
    int n = int(p.cols), n4 = n & ~3;
    float k = load(base);

    // Four independent sums per pass: more work per loop iteration on lavapipe, and
    // shorter addition chains.
    vec4 s = vec4(0.0);
    for (int c = 0; c < n4; c += 4)
        s += vec4(load(base + c), load(base + c + 1), load(base + c + 2), load(base + c + 3)) - k;
    float sum = (s.x + s.y) + (s.z + s.w);
    for (int c = n4; c < n; c++)
        sum += load(base + c) - k;
    float m = sum / float(n);

    vec4 d1 = vec4(0.0), d2 = vec4(0.0);
    for (int c = 0; c < n4; c += 4) {
        vec4 d = vec4(load(base + c), load(base + c + 1), load(base + c + 2), load(base + c + 3)) - k - m;
        d1 += d;
        d2 += d * d;
    }
    float e1 = (d1.x + d1.y) + (d1.z + d1.w), e2 = (d2.x + d2.y) + (d2.z + d2.w);
    for (int c = n4; c < n; c++) {
        float d = load(base + c) - k - m;
        e1 += d;
        e2 += d * d;
    }
    float err = e1 / float(n);
    float var = max(e2 / float(n) - err * err, 0.0);
    float mean = m + err;
    float rstd = 1.0 / sqrt(var + p.eps);

    uint out_base = p.y_off + r * p.y_stride;
    for (int c = 0; c < n; c++) {
        float v = (load(base + c) - k - mean) * rstd;
        if (p.has_weight != 0u)
            v *= texelFetch(weight, int(p.weight_off) + c).x;
        if (p.has_bias != 0u)
            v += texelFetch(bias, int(p.bias_off) + c).x;
        if (p.has_scale != 0u)
            v *= 1.0 + texelFetch(scale, int(p.scale_off) + c).x;
        if (p.has_shift != 0u)
            v += texelFetch(shift, int(p.shift_off) + c).x;
        y[out_base + uint(c)] = v;
    }
}
