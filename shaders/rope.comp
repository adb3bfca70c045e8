#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary embedding on adjacent pairs (FLUX's layout, not NeoX's rotate-half), in place:
// each invocation reads and rewrites its own pairs only.
//
// VEC4: two pairs per invocation through RGBA32F views and vec4 stores; the host picks it
// when head_dim and all offsets and strides are multiples of 4 (so a quad never straddles
// two heads and its table entries are one texel).
#include "common.glsl"
#include "rope-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer table;
#ifdef VEC4
layout(binding = 2) buffer Y { vec4 y[]; };
#else
layout(binding = 2) buffer Y { float y[]; };
#endif

void main()
{
    uint i = sinopia_linear_id();
#ifdef VEC4
    uint quads = p.pairs / 2u;
    if (i >= p.rows * quads)
        return;
    uint r = i / quads, q = i % quads, j = (2u * q) % p.half_dim;
    int at = int(p.x_off + r * p.x_stride + 4u * q) >> 2;
    vec4 cs = texelFetch(table, int(p.table_off + r * p.table_stride + 2u * j) >> 2);
    vec4 v = texelFetch(x, at);
    y[at] = vec4(cs.x * v.x - cs.y * v.y, cs.y * v.x + cs.x * v.y,
                 cs.z * v.z - cs.w * v.w, cs.w * v.z + cs.z * v.w);
#else
    if (i >= p.rows * p.pairs)
        return;
    uint r = i / p.pairs, q = i % p.pairs, j = q % p.half_dim;
    uint at = p.x_off + r * p.x_stride + 2u * q;
    int t = int(p.table_off + r * p.table_stride + 2u * j);
    float c = texelFetch(table, t).x, s = texelFetch(table, t + 1).x;
    float x0 = texelFetch(x, int(at)).x, x1 = texelFetch(x, int(at) + 1).x;
    y[at] = c * x0 - s * x1;
    y[at + 1u] = s * x0 + c * x1;
#endif
}
