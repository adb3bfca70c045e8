#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_EXT_control_flow_attributes : require
// Direct 2-D convolution, y[co, oy, ox] = bias[co] + Σ w[co, ci, ky, kx] · x[ci, iy, ix].
// One invocation computes CO output channels × PIX consecutive output pixels of one row
// (a "strip"). For each input channel and kernel row it loads the input columns the strip
// touches once and reuses them for every kx and every output channel. On lavapipe the
// texel fetches, not the FMAs, are what costs (machine-feasibility.md §3), so the blocks
// are large (up to 8 × 32 accumulators, spilled to the stack) and there is no shared memory;
// GPUs run conv2d-tiled.comp instead.
//   XW:     input columns per texel: 4 (RGBA32F) or 2 (RG32UI bit patterns) when width,
//           offset and stride are multiples of XW and the padding is small; else 1 (R32F).
//   W_VEC4: weights are fetched four at a time, CIB input channels per iteration
//           (cin, offset and stride divisible by 4); else one texel per weight.
//   W_BF16: weights are bf16 bit patterns (R16_UINT, or RG32_UINT for W_VEC4).
#include "common.glsl"
#include "conv2d-push.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const int KS = 3;    // kernel size
layout(constant_id = 2) const int ST = 1;    // stride
layout(constant_id = 3) const int PIX = 8;   // output pixels per invocation
layout(constant_id = 4) const int CO = 4;    // output channels per invocation
layout(constant_id = 5) const int PADL = 1;  // left padding (XW > 1 only)
layout(constant_id = 6) const bool PARTIAL = false; // the last strip of a row is short (XW > 1)
layout(constant_id = 7) const int CIB = 4;   // input channels per iteration (W_VEC4; divides cin)

const int KK = KS * KS;
const int WQ = CIB * KK / 4;   // weight texels per output channel and iteration (W_VEC4)
#if XW > 1
// Segment element e holds input column ST·ox0 − ALIGN + e: the segment starts on a texel
// boundary ALIGN columns left of the strip, so the first tap of pixel j is element E0 + ST·j.
const int ALIGN = (PADL + XW - 1) / XW * XW;
const int E0 = ALIGN - PADL;
const int NV = (E0 + ST * (PIX - 1) + KS + XW - 1) / XW;
const int NE = NV * XW;
#else
const int E0 = 0;
const int NE = ST * (PIX - 1) + KS;
#endif

#if XW == 2
layout(binding = 0) uniform usamplerBuffer x;
#else
layout(binding = 0) uniform samplerBuffer x;
#endif
#if XW == 4
#define XSW xyzw
#elif XW == 2
#define XSW xy
#endif

#if W_BF16
layout(binding = 1) uniform usamplerBuffer wt;
#else
layout(binding = 1) uniform samplerBuffer wt;
#endif
layout(binding = 2) uniform samplerBuffer bias;
layout(binding = 3) buffer Y { float y[]; };

#if W_VEC4
vec4 weight4(int i)
{
#if W_BF16
    uvec2 b = texelFetch(wt, i).xy;
    return uintBitsToFloat(uvec4(b.x << 16, b.x & 0xffff0000u, b.y << 16, b.y & 0xffff0000u));
#else
    return texelFetch(wt, i);
#endif
}
#else
float weight(int i)
{
#if W_BF16
    return sinopia_bf16(texelFetch(wt, i).x);
#else
    return texelFetch(wt, i).x;
#endif
}
#endif

#if XW > 1
int vcol[NV];
bool vok[NV];
#else
int col[NE];
bool cok[NE];
#endif

// The input columns of the strip in channel row `xr` (texel units); columns outside the
// image read a clamped texel and become zero, as does the whole row when !row_ok.
void load_segment(int xr, bool row_ok, out float seg[NE])
{
#if XW > 1
    [[unroll]] for (int v = 0; v < NV; v++) {
#if XW == 4
        vec4 t = texelFetch(x, xr + vcol[v]);
#else
        vec2 t = uintBitsToFloat(texelFetch(x, xr + vcol[v]).xy);
#endif
        // with whole strips only the outermost texels can fall outside the image
        if (PARTIAL || v < ALIGN / XW || v == NV - 1)
            t = vok[v] ? t : vec4(0.0).XSW;
        t = row_ok ? t : vec4(0.0).XSW;
        [[unroll]] for (int i = 0; i < XW; i++)
            seg[XW * v + i] = t[i];
    }
#else
    [[unroll]] for (int e = 0; e < NE; e++) {
        float t = texelFetch(x, xr + col[e]).x;
        seg[e] = cok[e] && row_ok ? t : 0.0;
    }
#endif
}

void main()
{
    uint strip = sinopia_linear_id();
    if (strip >= p.out_height * p.strips_per_row)
        return;
    int oy = int(strip / p.strips_per_row);
    int ox0 = int(strip % p.strips_per_row) * PIX;
    int co0 = int(gl_WorkGroupID.z) * CO;
    int width = int(p.width);
    int iy0 = ST * oy - int(p.pad_top);

#if XW > 1
    int vbase = (ST * ox0 - ALIGN) / XW;
    int wt_row = width / XW;
    [[unroll]] for (int v = 0; v < NV; v++) {
        vcol[v] = clamp(vbase + v, 0, wt_row - 1);
        vok[v] = vbase + v >= 0 && vbase + v < wt_row;
    }
    int xbase = int(p.x_off) / XW;
    int xstep = int(p.x_stride) / XW;
    int rstep = wt_row;
#else
    int cbase = ST * ox0 - int(p.pad_left);
    [[unroll]] for (int e = 0; e < NE; e++) {
        col[e] = clamp(cbase + e, 0, width - 1);
        cok[e] = cbase + e >= 0 && cbase + e < width;
    }
    int xbase = int(p.x_off);
    int xstep = int(p.x_stride);
    int rstep = width;
#endif

    int wrow[CO];
    [[unroll]] for (int c = 0; c < CO; c++)
        wrow[c] = int(p.w_off + uint(min(co0 + c, int(p.cout) - 1)) * p.w_stride);

    float acc[CO * PIX];
    [[unroll]] for (int i = 0; i < CO * PIX; i++)
        acc[i] = 0.0;

#if W_VEC4
    // CIB input channels per iteration: their CO·KK·CIB weights are KK·CIB/4 vec4 texels
    // per output channel. All kernel rows are unrolled; rows outside the image are zeroed.
    int xrow[KS];
    bool rok[KS];
    [[unroll]] for (int ky = 0; ky < KS; ky++) {
        rok[ky] = iy0 + ky >= 0 && iy0 + ky < int(p.height);
        xrow[ky] = xbase + clamp(iy0 + ky, 0, int(p.height) - 1) * rstep;
    }
    [[unroll]] for (int c = 0; c < CO; c++)
        wrow[c] /= 4;
    for (int ci0 = 0; ci0 < int(p.cin); ci0 += CIB) {
        vec4 wq[CO * WQ];
        [[unroll]] for (int c = 0; c < CO; c++)
            [[unroll]] for (int i = 0; i < WQ; i++)
                wq[c * WQ + i] = weight4(wrow[c] + ci0 / 4 * KK + i);
        [[unroll]] for (int u = 0; u < CIB; u++)
            [[unroll]] for (int ky = 0; ky < KS; ky++) {
                float seg[NE];
                load_segment(xrow[ky] + (ci0 + u) * xstep, rok[ky], seg);
                [[unroll]] for (int j = 0; j < PIX; j++)
                    [[unroll]] for (int c = 0; c < CO; c++) {
                        float a = acc[c * PIX + j];
                        [[unroll]] for (int kx = 0; kx < KS; kx++) {
                            int t = u * KK + ky * KS + kx;
                            a = fma(wq[c * WQ + t / 4][t % 4], seg[E0 + ST * j + kx], a);
                        }
                        acc[c * PIX + j] = a;
                    }
            }
    }
#else
    // Kernel rows outside the image contribute nothing: skip them.
    int ky_lo = max(0, -iy0);
    int ky_hi = min(KS, int(p.height) - iy0);
    for (int ky = ky_lo; ky < ky_hi; ky++) {
        int xr = xbase + (iy0 + ky) * rstep;
        int wi = ky * KS;
        for (int ci = 0; ci < int(p.cin); ci++) {
            float seg[NE];
            load_segment(xr, true, seg);
            float wv[CO * KS];
            [[unroll]] for (int c = 0; c < CO; c++)
                [[unroll]] for (int kx = 0; kx < KS; kx++)
                    wv[c * KS + kx] = weight(wrow[c] + wi + kx);
            // each accumulator takes its KS FMAs as one chain: one spill load and store
            // per chain on llvmpipe instead of one per FMA
            [[unroll]] for (int j = 0; j < PIX; j++)
                [[unroll]] for (int c = 0; c < CO; c++) {
                    float a = acc[c * PIX + j];
                    [[unroll]] for (int kx = 0; kx < KS; kx++)
                        a = fma(wv[c * KS + kx], seg[E0 + ST * j + kx], a);
                    acc[c * PIX + j] = a;
                }
            xr += xstep;
            wi += KK;
        }
    }
#endif

    int npix = min(PIX, int(p.out_width) - ox0);
    [[unroll]] for (int c = 0; c < CO; c++) {
        int co = co0 + c;
        if (co >= int(p.cout))
            break;
        float b = p.has_bias != 0u ? texelFetch(bias, int(p.bias_off) + co).x : 0.0;
        uint yrow = p.y_off + uint(co) * p.y_stride + uint(oy) * p.out_width + uint(ox0);
        [[unroll]] for (int j = 0; j < PIX; j++) {
            if (j >= npix)
                break;
            float v = acc[c * PIX + j] + b;
            if (p.accumulate != 0u)
                v += y[yrow + uint(j)];
            y[yrow + uint(j)] = v;
        }
    }
}
