#version 450
#extension GL_GOOGLE_include_directive : require
// T5 v1.1 gated feed-forward activation: y = gelu_tanh(a) · b per element.
//
// VEC4: four columns per invocation through RGBA32F views and vec4 stores; the host picks it
// when cols and all offsets and strides are multiples of 4.
#include "common.glsl"
#include "gated-gelu-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer a;
layout(binding = 1) uniform samplerBuffer b;
#ifdef VEC4
layout(binding = 2) buffer Y { vec4 y[]; };
#define WIDTH 4u
#else
layout(binding = 2) buffer Y { float y[]; };
#define WIDTH 1u
#endif

void main()
{
    uint i = sinopia_linear_id();
    uint per_row = p.cols / WIDTH;
    if (i >= p.rows * per_row)
        return;
    uint r = i / per_row, c = (i % per_row) * WIDTH;
    int ia = int(p.a_off + r * p.a_stride + c), ib = int(p.b_off + r * p.b_stride + c);
    uint iy = p.y_off + r * p.y_stride + c;
#ifdef VEC4
    vec4 va = texelFetch(a, ia >> 2), vb = texelFetch(b, ib >> 2);
    y[iy >> 2] = vec4(sinopia_gelu_tanh(va.x), sinopia_gelu_tanh(va.y),
                      sinopia_gelu_tanh(va.z), sinopia_gelu_tanh(va.w)) * vb;
#else
    y[iy] = sinopia_gelu_tanh(texelFetch(a, ia).x) * texelFetch(b, ib).x;
#endif
}
