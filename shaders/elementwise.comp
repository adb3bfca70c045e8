#version 450
#extension GL_GOOGLE_include_directive : require
// y = act(scale * a * b + c) per element; b and c optional, any operand row-broadcast.
#include "common.glsl"
#include "elementwise-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer a;
layout(binding = 1) uniform samplerBuffer b;
layout(binding = 2) uniform samplerBuffer c;
layout(binding = 3) buffer Y { float y[]; };

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.cols)
        return;
    uint r = i / p.cols, col = i % p.cols;
    float v = texelFetch(a, int(p.a_off + r * p.a_stride + col)).x;
    if (p.has_b != 0u)
        v *= texelFetch(b, int(p.b_off + r * p.b_stride + col)).x;
    v *= p.scale;
    if (p.has_c != 0u)
        v += texelFetch(c, int(p.c_off + r * p.c_stride + col)).x;
    y[p.y_off + r * p.y_stride + col] = sinopia_activate(v, p.act);
}
