#version 450
#extension GL_GOOGLE_include_directive : require
// Rotary embedding on adjacent pairs (FLUX's layout, not NeoX's rotate-half), in place:
// each invocation reads and rewrites its own pair only.
#include "common.glsl"
#include "rope-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer table;
layout(binding = 2) buffer Y { float y[]; };

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.pairs)
        return;
    uint r = i / p.pairs, q = i % p.pairs, j = q % p.half_dim;
    uint at = p.x_off + r * p.x_stride + 2u * q;
    int t = int(p.table_off + r * p.table_stride + 2u * j);
    float c = texelFetch(table, t).x, s = texelFetch(table, t + 1).x;
    float x0 = texelFetch(x, int(at)).x, x1 = texelFetch(x, int(at) + 1).x;
    y[at] = c * x0 - s * x1;
    y[at + 1u] = s * x0 + c * x1;
}
