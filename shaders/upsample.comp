#version 450
#extension GL_GOOGLE_include_directive : require
// Nearest-neighbour ×2 of [C, H·W] into [C, 2H·2W]: one invocation per input value writes
// its 2×2 block.
#include "common.glsl"
#include "upsample-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) buffer Y { float y[]; };

void main()
{
    uint i = sinopia_linear_id();
    uint hw = p.height * p.width;
    if (i >= p.channels * hw)
        return;
    uint c = i / hw, r = (i % hw) / p.width, col = i % p.width;
    float v = texelFetch(x, int(p.x_off + c * p.x_stride + r * p.width + col)).x;
    uint w2 = 2u * p.width;
    uint o = p.y_off + c * p.y_stride + 2u * r * w2 + 2u * col;
    y[o] = v;
    y[o + 1u] = v;
    y[o + w2] = v;
    y[o + w2 + 1u] = v;
}
