/* sinopia-ref.h — plain-C reference implementations of the ops in sinopia-ops.h.
 * Dense row-major float arrays, no strides; slow and obviously correct, for tests and
 * benchmarks. Each function mirrors the op of the same name; see sinopia-ops.h for the math.
 * Thread-safe (no state). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "sinopia-ops.h"

float sinopia_ref_activate (float x, SinopiaActivation act);
/* Widen stored weights to f32 (f16 and bf16 as in checkpoints). */
float sinopia_ref_f16_to_f32 (uint16_t h);
float sinopia_ref_bf16_to_f32 (uint16_t b);
uint16_t sinopia_ref_f32_to_f16 (float f);
uint16_t sinopia_ref_f32_to_bf16 (float f);

/* y[r,c] = act(scale·a·b + c) with a/b/c rows broadcast when their *_rows is 1; b, c may be NULL. */
void sinopia_ref_mul_add (const float *a, uint32_t a_rows, const float *b, uint32_t b_rows,
                          const float *c, uint32_t c_rows, float scale, SinopiaActivation act,
                          uint32_t rows, uint32_t cols, float *y);

/* ---- matmul ---- */
/* y[m,n] = act(Σ_k x[m,k]·w[n,k] + bias[n]) (+ y[m,n] when accumulate); x [M,K], w [N,K] stored
 * as w_dtype (f32 floats, or f16/bf16 bit patterns as uint16_t), bias [N] or NULL, y [M,N]. */
void sinopia_ref_matmul (const float *x, const void *w, SinopiaDType w_dtype, const float *bias,
                         SinopiaActivation act, gboolean accumulate, uint32_t M, uint32_t K, uint32_t N,
                         float *y);

/* ---- normalisation and token ops ---- */
/* LayerNorm per row of x [rows, cols] (double statistics); weight, bias, shift, scale are
 * [cols] rows or NULL, applied as (x̂·weight + bias)·(1 + scale) + shift. */
void sinopia_ref_layer_norm (const float *x, uint32_t rows, uint32_t cols, const float *weight,
                             const float *bias, const float *shift, const float *scale, float eps,
                             float *y);
/* RMSNorm over each run of `group` columns; weight [group]. x and y may be the same array. */
void sinopia_ref_rms_norm (const float *x, uint32_t rows, uint32_t cols, const float *weight,
                           uint32_t group, float eps, float *y);
/* RoPE in place on x [rows, cols] with table [rows, head_dim] (cos, sin per pair). */
void sinopia_ref_rope (float *x, uint32_t rows, uint32_t cols, const float *table, uint32_t head_dim);
/* y[i,:] = table[ids[i],:] (row 0 for an id >= vocab); table [vocab, dim] of dtype f32 (floats)
 * or f16/bf16 (uint16_t bit patterns). */
void sinopia_ref_embedding (const uint32_t *ids, uint32_t n, const void *table, SinopiaDType dtype,
                            uint32_t vocab, uint32_t dim, float *y);
void sinopia_ref_gated_gelu (const float *a, const float *b, size_t n, float *y);
/* y [cols, rows] = xᵀ, x [rows, cols]. */
void sinopia_ref_transpose (const float *x, uint32_t rows, uint32_t cols, float *y);

/* ---- image ops (conv, group norm, upsample): [C, H·W] dense arrays ---- */
/* y [cout, Ho·Wo] (+)= conv2d(x [cin, H·W], w [cout, cin·k·k]) + bias; bias may be NULL. */
void sinopia_ref_conv2d (const float *x, uint32_t cin, const SinopiaConvShape *s, const float *w,
                         const float *bias, uint32_t cout, gboolean accumulate, float *y);
/* GroupNorm of x [channels, pixels] with double statistics; weight/bias [channels] or NULL. */
void sinopia_ref_group_norm (const float *x, uint32_t channels, uint32_t pixels, uint32_t groups,
                             const float *weight, const float *bias, float eps, gboolean silu, float *y);
/* y [channels, 2H·2W] = nearest ×2 of x [channels, H·W]. */
void sinopia_ref_upsample_nearest2x (const float *x, uint32_t channels, uint32_t height, uint32_t width,
                                     float *y);

/* ---- softmax and attention (sinopia-ref-attention.c) ---- */
/* Row softmax of x [rows, cols] in double; -inf entries get 0 and a row of only -inf gets zeros.
 * x and y may be the same array. */
void sinopia_ref_softmax (const float *x, uint32_t rows, uint32_t cols, float *y);
/* The masks of SinopiaAttentionOptions as dense host arrays (NULL: absent). */
typedef struct {
  uint32_t n_heads, head_dim;
  float scale;
  const uint32_t *q_bits, *k_bits;   /* [lq], [lk]: both or neither */
  const float *key_bias;             /* [lk] */
  const uint32_t *rel_buckets;       /* [lq + lk - 1], with rel_bias_table [n_buckets, n_heads] */
  const float *rel_bias_table;
  uint32_t n_buckets;
  gboolean causal;
} SinopiaRefAttention;
/* out [lq, H·D] = softmax(q kᵀ·scale + bias) v per head, materialising the scores in double;
 * q [lq, H·D], k and v [lk, H·D], dense. A query with no visible key gets zeros. */
void sinopia_ref_attention (const float *q, uint32_t lq, const float *k, const float *v, uint32_t lk,
                            const SinopiaRefAttention *opts, float *out);
