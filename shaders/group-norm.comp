#version 450
#extension GL_GOOGLE_include_directive : require
// GroupNorm over [C, H·W]: one workgroup per group of per_group channels computes the
// group's mean and variance in two passes over its values, then normalises them, applies
// the per-channel affine and optionally SiLU. The first pass sums x − x₀ (x₀ the group's
// first value), so a mean far larger than the spread does not swamp the f32 sums.
// VEC4: pixels, offsets and strides are multiples of 4; x is read as RGBA32F texels.
#include "common.glsl"
#include "group-norm-push.glsl"

layout(local_size_x_id = 0) in;   // a power of two
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) uniform samplerBuffer weight;
layout(binding = 2) uniform samplerBuffer bias;
#if VEC4
layout(binding = 3) buffer Y { vec4 y[]; };
#define T vec4
#define VEC_SWIZZLE xyzw
#else
layout(binding = 3) buffer Y { float y[]; };
#define T float
#define VEC_SWIZZLE x
#endif

shared float partial[gl_WorkGroupSize.x];

// The workgroup's sum of every invocation's v (a tree over shared memory: a handful of
// barriers per group, next to passes over tens of thousands of values).
float workgroup_sum(float v)
{
    uint t = gl_LocalInvocationID.x;
    partial[t] = v;
    barrier();
    for (uint s = gl_WorkGroupSize.x / 2u; s > 0u; s >>= 1u) {
        if (t < s)
            partial[t] += partial[t + s];
        barrier();
    }
    float total = partial[0];
    barrier();
    return total;
}

float hsum(T v)
{
#if VEC4
    return (v.x + v.y) + (v.z + v.w);
#else
    return v;
#endif
}

void main()
{
    uint g = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    if (g >= p.groups)
        return;
    uint t = gl_LocalInvocationID.x, wg = gl_WorkGroupSize.x;
#if VEC4
    uint units = p.pixels / 4u, xo = p.x_off / 4u, xs = p.x_stride / 4u;
    uint yo = p.y_off / 4u, ys = p.y_stride / 4u;
#else
    uint units = p.pixels, xo = p.x_off, xs = p.x_stride, yo = p.y_off, ys = p.y_stride;
#endif
    uint c0 = g * p.per_group;
    float n = float(p.per_group) * float(p.pixels);

    float shift = texelFetch(x, int(xo + c0 * xs)).x;
    T s = T(0.0);
    for (uint c = c0; c < c0 + p.per_group; c++)
        for (uint i = t; i < units; i += wg)
            s += texelFetch(x, int(xo + c * xs + i)).VEC_SWIZZLE - shift;
    float mean = shift + workgroup_sum(hsum(s)) / n;

    T q = T(0.0);
    for (uint c = c0; c < c0 + p.per_group; c++)
        for (uint i = t; i < units; i += wg) {
            T d = texelFetch(x, int(xo + c * xs + i)).VEC_SWIZZLE - mean;
            q += d * d;
        }
    float rstd = 1.0 / sqrt(workgroup_sum(hsum(q)) / n + p.eps);

    for (uint c = c0; c < c0 + p.per_group; c++) {
        float scale = rstd * (p.has_weight != 0u ? texelFetch(weight, int(p.weight_off + c)).x : 1.0);
        float offset = p.has_bias != 0u ? texelFetch(bias, int(p.bias_off + c)).x : 0.0;
        for (uint i = t; i < units; i += wg) {
            T v = (texelFetch(x, int(xo + c * xs + i)).VEC_SWIZZLE - mean) * scale + offset;
            if (p.silu != 0u)
                v = v / (1.0 + exp(-v));
            y[yo + c * ys + i] = v;
        }
    }
}
