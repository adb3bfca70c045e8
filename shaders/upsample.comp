#version 450
#extension GL_GOOGLE_include_directive : require
// Nearest-neighbour ×2 of [C, H·W] into [C, 2H·2W]: one invocation per input value writes
// its 2×2 block. VEC4 (width, offsets and strides multiples of 4): one invocation per four
// input values writes four vec4s, since every SSBO store is a per-lane loop on lavapipe.
#include "common.glsl"
#include "upsample-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
#if VEC4
layout(binding = 1) buffer Y { vec4 y[]; };
#else
layout(binding = 1) buffer Y { float y[]; };
#endif

void main()
{
    uint i = sinopia_linear_id();
#if VEC4
    uint w = p.width / 4u;      // texels per input row
#else
    uint w = p.width;
#endif
    uint hw = p.height * w;
    if (i >= p.channels * hw)
        return;
    uint c = i / hw, r = (i % hw) / w, col = i % w;
#if VEC4
    vec4 v = texelFetch(x, int(p.x_off / 4u + c * (p.x_stride / 4u) + r * w + col));
    uint o = p.y_off / 4u + c * (p.y_stride / 4u) + 2u * r * (2u * w) + 2u * col;
    vec4 lo = v.xxyy, hi = v.zzww;
    y[o] = lo;
    y[o + 1u] = hi;
    y[o + 2u * w] = lo;
    y[o + 2u * w + 1u] = hi;
#else
    float v = texelFetch(x, int(p.x_off + c * p.x_stride + r * w + col)).x;
    uint w2 = 2u * w;
    uint o = p.y_off + c * p.y_stride + 2u * r * w2 + 2u * col;
    y[o] = v;
    y[o + 1u] = v;
    y[o + w2] = v;
    y[o + w2 + 1u] = v;
#endif
}
