#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// y = act(x·wᵀ + bias) (+ y) for real GPUs: a workgroup of 16×16 invocations computes a
// 64×64 tile of y, staging 16-deep slices of x and w through shared memory with coalesced
// loads; each invocation accumulates 4×4 outputs spaced 16 apart (conflict-free shared reads).
// Operands are scalar texel reads, so any K, offset, stride and weight dtype works.
// Defines: W_F32 | W_F16 | W_BF16. The workgroup size (constant 0) must be 256.
#include "common.glsl"
#include "matmul-push.glsl"

#define T 16
#define BM 64
#define BN 64
#define BK 16

layout(local_size_x_id = 0) in;
layout(binding = 0) uniform samplerBuffer X;
#ifdef W_BF16
layout(binding = 1) uniform usamplerBuffer W;
#else
layout(binding = 1) uniform samplerBuffer W;
#endif
layout(binding = 2) uniform samplerBuffer B;
layout(binding = 3) buffer Y { float y[]; };
layout(binding = 5) uniform samplerBuffer G;

float matmul_bias(uint n)
{
    return p.has_bias != 0u ? texelFetch(B, int(p.b_off + n)).x : 0.0;
}

// y[m, n] = act(v) (+ y[m, n]); v already holds the bias.
void matmul_store(uint m, uint n, float v)
{
    v = sinopia_activate(v, p.act);
    if (p.has_gate != 0u)
        v *= texelFetch(G, int(p.g_off + n)).x;
    uint i = p.y_off + m * p.y_stride + n;
    if (p.accumulate != 0u)
        v += y[i];
    y[i] = v;
}

shared float xs[BK][BM + 1];
shared float ws[BK][BN + 1];

float w_scalar(int i)
{
#ifdef W_BF16
    return sinopia_bf16(texelFetch(W, i).x);
#else
    return texelFetch(W, i).x;
#endif
}

void main()
{
    uint wg = gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x;
    uint tm = wg / p.tiles_n, tn = wg % p.tiles_n;
    // uniform per workgroup, so no invocation skips a barrier
    if (tm * BM >= p.M)
        return;
    uint lid = gl_LocalInvocationIndex;
    uint tx = lid % T, ty = lid / T;
    uint m0 = tm * BM, n0 = tn * BN;

    float acc[4][4];
    [[unroll]] for (int i = 0; i < 4; i++)
        [[unroll]] for (int j = 0; j < 4; j++)
            acc[i][j] = 0.0;

    for (uint k0 = 0; k0 < p.K; k0 += BK) {
        [[unroll]] for (uint q = 0; q < BM * BK / (T * T); q++) {
            uint e = lid + q * T * T, r = e / BK, kk = e % BK, k = k0 + kk;
            uint m = m0 + r, n = n0 + r;
            xs[kk][r] = m < p.M && k < p.K ? texelFetch(X, int(p.x_off + m * p.x_stride + k)).x : 0.0;
            ws[kk][r] = n < p.N && k < p.K ? w_scalar(int(p.w_off + n * p.w_stride + k)) : 0.0;
        }
        barrier();
        [[unroll]] for (uint kk = 0; kk < BK; kk++) {
            float a[4], b[4];
            [[unroll]] for (int i = 0; i < 4; i++)
                a[i] = xs[kk][ty + i * T];
            [[unroll]] for (int j = 0; j < 4; j++)
                b[j] = ws[kk][tx + j * T];
            [[unroll]] for (int i = 0; i < 4; i++)
                [[unroll]] for (int j = 0; j < 4; j++)
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }

    [[unroll]] for (int j = 0; j < 4; j++) {
        uint n = n0 + tx + j * T;
        float bias = matmul_bias(min(n, p.N - 1u));
        [[unroll]] for (int i = 0; i < 4; i++) {
            uint m = m0 + ty + i * T;
            if (m < p.M && n < p.N)
                matmul_store(m, n, acc[i][j] + bias);
        }
    }
}
