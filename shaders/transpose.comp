#version 450
#extension GL_GOOGLE_include_directive : require
// y[c, r] = x[r, c], one element per invocation in y's order, so consecutive
// invocations write consecutive addresses and gather their reads.
#include "common.glsl"
#include "transpose-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) buffer Y { float y[]; };

void main()
{
    uint i = sinopia_linear_id();
    if (i >= p.rows * p.cols)
        return;
    uint c = i / p.rows, r = i % p.rows;
    y[p.y_off + c * p.y_stride + r] = texelFetch(x, int(p.x_off + r * p.x_stride + c)).x;
}
