#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// y = act(x·wᵀ + bias) (+ y), register-blocked for CPU drivers: each invocation owns RM rows ×
// RN columns of y in registers, every operand comes through a texel buffer and there is no
// shared memory — llvmpipe vectorises texel fetches but scalarises SSBO/shared loads
// (machine-feasibility.md §3 e-v). Each accumulator takes a chain of 4·XV FMAs per loop
// iteration, because llvmpipe masks every register write inside a loop.
//
// Defines: W_F32 | W_F16 | W_BF16 (weight dtype). VEC: x read as RGBA32F texels, w as RGBA32F
// or, for f16/bf16, as RGBA32UI texels of eight 16-bit values; K must be a multiple of 8 and
// offsets/strides whole texels. Without VEC every read is a scalar texel (R32F, R16F, R16UI),
// so any K, offset and stride works. RM and RN must match the host (sinopia-ops-matmul.c).
#include "common.glsl"
#include "matmul-push.glsl"

#ifdef VEC
#define RM 8
#define RN 32
#define XV 2
#else
#define RM 4
#define RN 16
#define XV 1
#endif

layout(local_size_x_id = 0) in;
// The epilogue's options are specialisation constants, not push constants: llvmpipe runs the
// body of every branch under a lane mask even when no lane takes it, so a run-time `if` still
// paid for 256 texel reads of y, 256 exponentials and the bias and gate reads in every
// dispatch. Constants let the compiler drop what a pipeline does not use.
layout(constant_id = 1) const uint HAS_BIAS = 0u;
layout(constant_id = 2) const uint ACT = 0u;
layout(constant_id = 3) const uint HAS_GATE = 0u;
layout(constant_id = 4) const uint ACCUMULATE = 0u;
layout(binding = 0) uniform samplerBuffer X;
#if defined(W_F32) || defined(W_F16) && !defined(VEC)
layout(binding = 1) uniform samplerBuffer W;
#else
layout(binding = 1) uniform usamplerBuffer W;
#endif
layout(binding = 2) uniform samplerBuffer B;
layout(binding = 3) buffer Y { float y[]; };
// y again, read through a texel view when accumulating (cheaper than SSBO loads on llvmpipe)
layout(binding = 4) uniform samplerBuffer Y_IN;
layout(binding = 5) uniform samplerBuffer G;

#define DOT4(acc, a, b) fma((a).w, (b).w, fma((a).z, (b).z, fma((a).y, (b).y, fma((a).x, (b).x, (acc)))))

#ifndef VEC
float w_scalar(int i)
{
#ifdef W_BF16
    return sinopia_bf16(texelFetch(W, i).x);
#else
    return texelFetch(W, i).x;
#endif
}
#endif

vec4 load_x(int row, uint s, int v)
{
#ifdef VEC
    return texelFetch(X, row + int(s) * XV + v);
#else
    int i = row + 4 * (int(s) * XV + v);
    return vec4(texelFetch(X, i).x, texelFetch(X, i + 1).x, texelFetch(X, i + 2).x, texelFetch(X, i + 3).x);
#endif
}

void load_w(int row, uint s, out vec4 b[XV])
{
#if defined(VEC) && defined(W_F32)
    [[unroll]] for (int v = 0; v < XV; v++)
        b[v] = texelFetch(W, row + int(s) * XV + v);
#elif defined(VEC)
    uvec4 u = texelFetch(W, row + int(s));
#ifdef W_BF16
    // little-endian: element 2i is the low half of word i
    b[0] = vec4(uintBitsToFloat(u.x << 16), uintBitsToFloat(u.x & 0xffff0000u),
                uintBitsToFloat(u.y << 16), uintBitsToFloat(u.y & 0xffff0000u));
    b[1] = vec4(uintBitsToFloat(u.z << 16), uintBitsToFloat(u.z & 0xffff0000u),
                uintBitsToFloat(u.w << 16), uintBitsToFloat(u.w & 0xffff0000u));
#else
    b[0] = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
    b[1] = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
#endif
#else
    int i = row + 4 * int(s);
    b[0] = vec4(w_scalar(i), w_scalar(i + 1), w_scalar(i + 2), w_scalar(i + 3));
#endif
}

void main()
{
    // Neighbouring invocations (the lanes of one SIMD vector) take neighbouring row blocks of
    // the same column block: their weight reads coincide, and a workgroup sweeps down M while
    // its RN weight rows stay in cache. Ordering along N instead is ~25% slower at K = 1024.
    uint id = sinopia_linear_id();
    uint tiles_m = (p.M + RM - 1) / RM;
    uint tm = id % tiles_m, tn = id / tiles_m;
    if (tn >= p.tiles_n)
        return;
    uint m0 = tm * RM, n0 = tn * RN;
    bool second = m0 >= p.split;
    uint w_off = second ? p.w_off_b : p.w_off;
    uint b_off = second ? p.b_off_b : p.b_off;
    uint g_off = second ? p.g_off_b : p.g_off;

    // Edge tiles read the last row/column again instead of branching.
    int xr[RM], wr[RN];
    [[unroll]] for (int i = 0; i < RM; i++)
        xr[i] = int(p.x_off + min(m0 + i, p.M - 1u) * p.x_stride);
    [[unroll]] for (int j = 0; j < RN; j++)
        wr[j] = int(w_off + min(n0 + j, p.N - 1u) * p.w_stride);

    float acc[RM][RN];
    [[unroll]] for (int i = 0; i < RM; i++)
        [[unroll]] for (int j = 0; j < RN; j++)
            acc[i][j] = 0.0;

    for (uint s = 0; s < p.k_steps; s++) {
        vec4 a[RM][XV];
        [[unroll]] for (int i = 0; i < RM; i++)
            [[unroll]] for (int v = 0; v < XV; v++)
                a[i][v] = load_x(xr[i], s, v);
        [[unroll]] for (int j = 0; j < RN; j++) {
            vec4 b[XV];
            load_w(wr[j], s, b);
            [[unroll]] for (int i = 0; i < RM; i++) {
                float t = acc[i][j];
                [[unroll]] for (int v = 0; v < XV; v++)
                    t = DOT4(t, a[i][v], b[v]);
                acc[i][j] = t;
            }
        }
    }
#ifndef VEC
    for (uint k = p.k_steps * 4u; k < p.K; k++) {
        float a[RM];
        [[unroll]] for (int i = 0; i < RM; i++)
            a[i] = texelFetch(X, xr[i] + int(k)).x;
        [[unroll]] for (int j = 0; j < RN; j++) {
            float b = w_scalar(wr[j] + int(k));
            [[unroll]] for (int i = 0; i < RM; i++)
                acc[i][j] = fma(a[i], b, acc[i][j]);
        }
    }
#endif

    // The epilogue branches once per block, not per element: llvmpipe pays for every branch
    // even when all lanes skip it, and 256 per-element ones cost a quarter of the time at K = 256.
    if (HAS_BIAS != 0u)
        [[unroll]] for (int j = 0; j < RN; j++) {
            float bias = texelFetch(B, int(b_off + min(n0 + j, p.N - 1u))).x;
            [[unroll]] for (int i = 0; i < RM; i++)
                acc[i][j] += bias;
        }
    // Every activation is v·sigmoid(a·v + b·v³) (GELU-tanh: 0.5(1 + tanh u) = sigmoid(2u)),
    // so one copy of the code serves them all.
    if (ACT != ACT_NONE) {
        float a = ACT == ACT_GELU_TANH ? 1.5957691216057308 : ACT == ACT_SILU ? 1.0 : 1.702;
        float b = ACT == ACT_GELU_TANH ? 1.5957691216057308 * 0.044715 : 0.0;
        [[unroll]] for (int i = 0; i < RM; i++)
            [[unroll]] for (int j = 0; j < RN; j++) {
                float v = acc[i][j];
                acc[i][j] = v / (1.0 + exp(-(a + b * v * v) * v));
            }
    }

    // Outside y, an accumulator holds exactly the value of the clamped row/column it read
    // (same operands, same order, and with `accumulate` the same old y, all read before any
    // store), so storing it there again is harmless, and cheaper than a guard per element.
    uint yr[RM];
    [[unroll]] for (int i = 0; i < RM; i++)
        yr[i] = p.y_off + min(m0 + i, p.M - 1u) * p.y_stride;
    if (HAS_GATE != 0u)
        [[unroll]] for (int j = 0; j < RN; j++) {
            float g = texelFetch(G, int(g_off + min(n0 + j, p.N - 1u))).x;
            [[unroll]] for (int i = 0; i < RM; i++)
                acc[i][j] *= g;
        }
    if (ACCUMULATE != 0u)
        [[unroll]] for (int i = 0; i < RM; i++)
            [[unroll]] for (int j = 0; j < RN; j++)
                acc[i][j] += texelFetch(Y_IN, int(yr[i] + min(n0 + j, p.N - 1u))).x;
    [[unroll]] for (int i = 0; i < RM; i++)
        [[unroll]] for (int j = 0; j < RN; j++)
            y[yr[i] + min(n0 + j, p.N - 1u)] = acc[i][j];
}
