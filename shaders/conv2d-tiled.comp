#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Direct 2-D convolution for GPUs, as an implicit GEMM: y[Cout, Ho·Wo] = W[Cout, Cin·k·k] ·
// im2col(x)[Cin·k·k, Ho·Wo]. A workgroup of 256 invocations computes a 64-channel × 64-pixel
// tile, staging 16-deep slices of the weights and of the gathered input columns in shared
// memory; each invocation accumulates 4 channels × 4 pixels. (lavapipe runs conv2d.comp
// instead: shared memory and barriers are slow there, machine-feasibility.md §3.)
//   W_BF16: weights are bf16 bit patterns read through an R16_UINT view.
#include "common.glsl"
#include "conv2d-push.glsl"

layout(local_size_x_id = 0) in;   // 256
layout(constant_id = 1) const int KS = 3;    // kernel size
layout(constant_id = 2) const int ST = 1;    // stride

const int KK = KS * KS;
const int BM = 64;   // output channels per tile
const int BN = 64;   // output pixels per tile
const int BK = 16;   // reduction slice
const int TM = 4;
const int TN = 4;

layout(binding = 0) uniform samplerBuffer x;
#if W_BF16
layout(binding = 1) uniform usamplerBuffer wt;
#else
layout(binding = 1) uniform samplerBuffer wt;
#endif
layout(binding = 2) uniform samplerBuffer bias;
layout(binding = 3) buffer Y { float y[]; };

shared float wtile[BK][BM];
shared float xtile[BK][BN];

float weight(int i)
{
#if W_BF16
    return sinopia_bf16(texelFetch(wt, i).x);
#else
    return texelFetch(wt, i).x;
#endif
}

void main()
{
    int t = int(gl_LocalInvocationID.x);
    int n0 = int(gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x) * BN;
    int m0 = int(gl_WorkGroupID.z) * BM;
    int npix = int(p.out_height * p.out_width);
    if (n0 >= npix)
        return;
    int taps = int(p.cin) * KK;

    // This invocation gathers input column `ln` (one output pixel) of every slice, rows
    // lk + 4i, and weight row `wm` + 16i (one output channel each), column wk.
    int ln = t % BN, lk = t / BN;
    int wk = t % BK, wm = t / BK;
    int n = n0 + ln;
    bool n_ok = n < npix;
    int oy = n_ok ? n / int(p.out_width) : 0;
    int ox = n_ok ? n % int(p.out_width) : 0;
    int iy0 = oy * ST - int(p.pad_top), ix0 = ox * ST - int(p.pad_left);
    int wrow[BM / 16];
    bool wrow_ok[BM / 16];
    [[unroll]] for (int i = 0; i < BM / 16; i++) {
        int co = m0 + wm + 16 * i;
        wrow_ok[i] = co < int(p.cout);
        wrow[i] = int(p.w_off + uint(min(co, int(p.cout) - 1)) * p.w_stride);
    }

    int tm = t / (BN / TN), tn = t % (BN / TN);
    float acc[TM][TN];
    [[unroll]] for (int i = 0; i < TM; i++)
        [[unroll]] for (int j = 0; j < TN; j++)
            acc[i][j] = 0.0;

    for (int k0 = 0; k0 < taps; k0 += BK) {
        [[unroll]] for (int i = 0; i < BK / 4; i++) {
            int kk = k0 + lk + 4 * i;
            int ci = kk / KK, tap = kk - ci * KK;
            int iy = iy0 + tap / KS, ix = ix0 + tap % KS;
            bool ok = n_ok && kk < taps && iy >= 0 && iy < int(p.height) && ix >= 0 && ix < int(p.width);
            int at = int(p.x_off) + ci * int(p.x_stride) + iy * int(p.width) + ix;
            xtile[lk + 4 * i][ln] = ok ? texelFetch(x, ok ? at : 0).x : 0.0;
        }
        [[unroll]] for (int i = 0; i < BM / 16; i++) {
            int kk = k0 + wk;
            bool ok = wrow_ok[i] && kk < taps;
            wtile[wk][wm + 16 * i] = ok ? weight(wrow[i] + kk) : 0.0;
        }
        barrier();
        [[unroll]] for (int k = 0; k < BK; k++) {
            float a[TM], b[TN];
            [[unroll]] for (int i = 0; i < TM; i++)
                a[i] = wtile[k][tm * TM + i];
            [[unroll]] for (int j = 0; j < TN; j++)
                b[j] = xtile[k][tn * TN + j];
            [[unroll]] for (int i = 0; i < TM; i++)
                [[unroll]] for (int j = 0; j < TN; j++)
                    acc[i][j] = fma(a[i], b[j], acc[i][j]);
        }
        barrier();
    }

    [[unroll]] for (int i = 0; i < TM; i++) {
        int co = m0 + tm * TM + i;
        if (co >= int(p.cout))
            break;
        float b = p.has_bias != 0u ? texelFetch(bias, int(p.bias_off) + co).x : 0.0;
        [[unroll]] for (int j = 0; j < TN; j++) {
            int nn = n0 + tn * TN + j;
            if (nn < npix) {
                uint at = p.y_off + uint(co) * p.y_stride + uint(nn);
                float v = acc[i][j] + b;
                if (p.accumulate != 0u)
                    v += y[at];
                y[at] = v;
            }
        }
    }
}
