#version 450
#extension GL_GOOGLE_include_directive : require
// Row softmax, one invocation per row in three passes (max, sum of exponentials, write), so
// x may be y: every element is read for the last time just before it is overwritten.
// -inf entries get probability 0, and a row of only -inf becomes zeros (as attention does).
// VEC4 reads the row as RGBA32F texels (cols a multiple of 4, 4-aligned x).
#include "common.glsl"
#include "softmax-push.glsl"

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer x;
layout(binding = 1) buffer Y { float y[]; };

#define NEG_INF (-1.0 / 0.0)

void main()
{
    uint r = sinopia_linear_id();
    if (r >= p.rows)
        return;
    int xb = int(p.x_off + r * p.x_stride);
    uint yb = p.y_off + r * p.y_stride;
#ifdef VEC4
    int n = int(p.cols / 4u);
    vec4 mv = vec4(NEG_INF);
    for (int c = 0; c < n; c++)
        mv = max(mv, texelFetch(x, xb + c));
    float m = max(max(mv.x, mv.y), max(mv.z, mv.w));
    float base = m > NEG_INF ? m : 0.0;
    vec4 sv = vec4(0.0);
    for (int c = 0; c < n; c++) {
        vec4 t = texelFetch(x, xb + c);
        sv += mix(vec4(0.0), exp(t - base), greaterThan(t, vec4(NEG_INF)));
    }
    float sum = sv.x + sv.y + sv.z + sv.w;
    float inv = m > NEG_INF ? 1.0 / sum : 0.0;
    for (int c = 0; c < n; c++) {
        vec4 t = texelFetch(x, xb + c);
        vec4 e = mix(vec4(0.0), exp(t - base) * inv, greaterThan(t, vec4(NEG_INF)));
        y[yb + 4u * uint(c)] = e.x;
        y[yb + 4u * uint(c) + 1u] = e.y;
        y[yb + 4u * uint(c) + 2u] = e.z;
        y[yb + 4u * uint(c) + 3u] = e.w;
    }
#else
    int n = int(p.cols);
    float m = NEG_INF;
    for (int c = 0; c < n; c++)
        m = max(m, texelFetch(x, xb + c).x);
    float base = m > NEG_INF ? m : 0.0;
    float sum = 0.0;
    for (int c = 0; c < n; c++) {
        float t = texelFetch(x, xb + c).x;
        sum += t > NEG_INF ? exp(t - base) : 0.0;
    }
    float inv = m > NEG_INF ? 1.0 / sum : 0.0;
    for (int c = 0; c < n; c++) {
        float t = texelFetch(x, xb + c).x;
        y[yb + uint(c)] = t > NEG_INF ? exp(t - base) * inv : 0.0;
    }
#endif
}
