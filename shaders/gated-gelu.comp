#version 450
#extension GL_GOOGLE_include_directive : require
// T5 v1.1 gated feed-forward activation: y = gelu_tanh(a) · b per element.
#include "common.glsl"
#include "gated-gelu-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer a;
layout(binding = 1) uniform samplerBuffer b;
layout(binding = 2) buffer Y { float y[]; };

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.cols)
        return;
    uint r = i / p.cols, c = i % p.cols;
    float va = texelFetch(a, int(p.a_off + r * p.a_stride + c)).x;
    float vb = texelFetch(b, int(p.b_off + r * p.b_stride + c)).x;
    y[p.y_off + r * p.y_stride + c] = sinopia_gelu_tanh(va) * vb;
}
