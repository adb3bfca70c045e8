#version 450
#extension GL_GOOGLE_include_directive : require
// RMSNorm of one group of columns (one head, or a whole T5 row) per invocation. Each value
// is read before its own output is written and by no other invocation, so x and y may be
// the same view.
#include "common.glsl"
#include "rms-norm-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer weight;
layout(binding = 2) buffer Y { float y[]; };

float load(int i)
{
    return texelFetch(x, i).x;
}

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.groups)
        return;
    uint r = i / p.groups, g = i % p.groups;
    int base = int(p.x_off + r * p.x_stride + g * p.group);
    int n = int(p.group), n4 = n & ~3;

    vec4 s = vec4(0.0);
    for (int c = 0; c < n4; c += 4) {
        vec4 v = vec4(load(base + c), load(base + c + 1), load(base + c + 2), load(base + c + 3));
        s += v * v;
    }
    float ss = (s.x + s.y) + (s.z + s.w);
    for (int c = n4; c < n; c++) {
        float v = load(base + c);
        ss += v * v;
    }
    float rms = 1.0 / sqrt(ss / float(n) + p.eps);

    uint out_base = p.y_off + r * p.y_stride + g * p.group;
    for (int c = 0; c < n; c++)
        y[out_base + uint(c)] = load(base + c) * rms * texelFetch(weight, int(p.weight_off) + c).x;
}
