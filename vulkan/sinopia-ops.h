/* sinopia-ops.h — the GPU operations a FLUX transformer, its text encoders and its
 * autoencoder are written with. Each op records one (rarely a few) dispatches into a
 * recorder; nothing runs until sinopia_recorder_submit. Barriers are inserted by the
 * recorder, so ops can be chained freely.
 *
 * Tensors are 2-D strided views of a buffer (batch 1 everywhere). Activations are f32;
 * matmul weights may be f32, f16 or bf16 (as stored in checkpoints). Every op validates
 * its arguments and returns FALSE with SINOPIA_VK_ERROR_INVALID_ARGUMENT on mismatched
 * shapes, missing buffers or views outside their buffer. A plain-C reference of each op
 * lives in sinopia-ops-ref.h.
 *
 * Ownership: ops borrow the buffers; the buffers must outlive the submit.
 */
#pragma once

#include "sinopia-vk.h"

G_BEGIN_DECLS

typedef struct {
  SinopiaBuffer *buffer;
  uint64_t offset;  /* first element, in elements of the buffer's dtype */
  uint32_t rows;
  uint32_t cols;
  uint32_t stride;  /* elements from one row to the next (>= cols) */
} SinopiaTensor;

/* A dense rows×cols view starting at element `offset`. */
SinopiaTensor sinopia_tensor (SinopiaBuffer *buffer, uint64_t offset, uint32_t rows, uint32_t cols);
/* A view of columns [col, col+cols) of every row of `t`. */
SinopiaTensor sinopia_tensor_columns (SinopiaTensor t, uint32_t col, uint32_t cols);
/* A view of rows [row, row+rows) of `t`. */
SinopiaTensor sinopia_tensor_rows (SinopiaTensor t, uint32_t row, uint32_t rows);

typedef enum {
  SINOPIA_ACT_NONE,
  SINOPIA_ACT_GELU_TANH,
  SINOPIA_ACT_SILU,
  SINOPIA_ACT_QUICK_GELU,
} SinopiaActivation;

/* y[m,n] = act( sum_k x[m,k] * w[n,k] + bias[n] )   (torch Linear: w is [out, in])
 * x: f32 [M,K]; w: f32/f16/bf16 [N,K]; bias: f32 [1,N] or NULL; y: f32 [M,N].
 * `accumulate`: y += result instead of y = result (used for residual adds). */
gboolean sinopia_op_matmul (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                            const SinopiaTensor *bias, SinopiaActivation act, gboolean accumulate,
                            const SinopiaTensor *y, GError **error);

/* y += gate ⊙ (x·wᵀ + bias), gate f32 [1, N]: FLUX's gated residual in the matmul's epilogue. */
gboolean sinopia_op_matmul_gated (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                                  const SinopiaTensor *bias, const SinopiaTensor *gate, const SinopiaTensor *y,
                                  GError **error);

/* Two streams in one dispatch (FLUX's double blocks run their text and image streams this
 * way): rows [row, rows) of the input take these parameters, the rows before it the op's
 * own. Each view here has the shape of its counterpart and lies in the same buffer; the op
 * reads only the fields it takes. Where one dispatch cannot serve both, the op records two,
 * with the same results. */
typedef struct {
  uint32_t row;
  const SinopiaTensor *w, *bias, *gate;       /* the matmuls */
  const SinopiaTensor *shift, *scale;         /* sinopia_op_layer_norm_split */
  const SinopiaTensor *q_scale, *k_scale;     /* sinopia_op_qk_norm_rope_split */
} SinopiaStreamSplit;

/* sinopia_op_matmul (accumulate FALSE) and sinopia_op_matmul_gated with a second stream. */
gboolean sinopia_op_matmul_split (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                                  const SinopiaTensor *bias, SinopiaActivation act, const SinopiaStreamSplit *split,
                                  const SinopiaTensor *y, GError **error);
gboolean sinopia_op_matmul_gated_split (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                                        const SinopiaTensor *bias, const SinopiaTensor *gate,
                                        const SinopiaStreamSplit *split, const SinopiaTensor *y, GError **error);

/* y = act(x), elementwise, same shape. act may be NONE (a strided copy). */
gboolean sinopia_op_activation (SinopiaRecorder *rec, const SinopiaTensor *x, SinopiaActivation act,
                                const SinopiaTensor *y, GError **error);

/* y = a ⊙ b' + c'  elementwise over y's shape, where b and c are optional (NULL: b=1, c=0)
 * and each of a, b, c is either the full shape or a single row [1,cols] broadcast over rows.
 * Covers add (b=NULL), mul (c=NULL) and scaled copies via `scale`: y = scale·(a⊙b) + c. */
gboolean sinopia_op_mul_add (SinopiaRecorder *rec, const SinopiaTensor *a, const SinopiaTensor *b,
                             const SinopiaTensor *c, float scale, const SinopiaTensor *y,
                             GError **error);

/* x += gate ⊙ y, gate a [1,cols] row broadcast over rows (FLUX's gated residual). */
gboolean sinopia_op_gated_add (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *gate,
                               const SinopiaTensor *y, GError **error);

/* LayerNorm over each row, biased variance:
 *   y = (x - mean)/sqrt(var + eps) * (weight or 1) + (bias or 0)
 * then, if shift/scale are given ([1,cols] rows), AdaLN modulation y = y*(1+scale)+shift.
 * FLUX: eps 1e-6, no affine, with modulation. CLIP: eps 1e-5 with weight and bias. */
gboolean sinopia_op_layer_norm (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *weight,
                                const SinopiaTensor *bias, const SinopiaTensor *shift,
                                const SinopiaTensor *scale, float eps, const SinopiaTensor *y,
                                GError **error);

/* LayerNorm without affine, modulated by (shift, scale) on the first stream's rows and by
 * the split's on the rest. */
gboolean sinopia_op_layer_norm_split (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *shift,
                                      const SinopiaTensor *scale, const SinopiaStreamSplit *split, float eps,
                                      const SinopiaTensor *y, GError **error);

/* RMSNorm in groups of `group` columns (QK-norm: group = head_dim; T5: group = cols):
 *   y = x * rsqrt(mean(x²) + eps) * weight[col % group]      weight: [1,group] */
gboolean sinopia_op_rms_norm (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *weight,
                              uint32_t group, float eps, const SinopiaTensor *y, GError **error);

/* RoPE on adjacent pairs, in place on x [L, H·D]: for each row r, head h, pair j < D/2,
 *   (x[2j], x[2j+1]) ← (c·x[2j] − s·x[2j+1], s·x[2j] + c·x[2j+1])
 * with c = table[r, 2j], s = table[r, 2j+1]; table: f32 [L, D] (cos, sin interleaved).
 * Query and key rows take separate tables (KV-Edit mixes positions). */
gboolean sinopia_op_rope (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *table,
                          uint32_t head_dim, GError **error);

/* FLUX's QK-norm then RoPE, in place, in one pass: qk [L, 2·H·D] holds the query heads then
 * the key heads (the first two thirds of a fused qkv row); each head is RMS-normalised
 * (eps) and scaled by q_scale or k_scale ([1, D]), then rotated with table [L, D] as
 * sinopia_op_rope does (table NULL: no rotation). */
gboolean sinopia_op_qk_norm_rope (SinopiaRecorder *rec, const SinopiaTensor *qk, const SinopiaTensor *q_scale,
                                  const SinopiaTensor *k_scale, const SinopiaTensor *table, uint32_t head_dim,
                                  float eps, GError **error);
/* The same with the split's scales on rows [split->row, rows). */
gboolean sinopia_op_qk_norm_rope_split (SinopiaRecorder *rec, const SinopiaTensor *qk, const SinopiaTensor *q_scale,
                                        const SinopiaTensor *k_scale, const SinopiaStreamSplit *split,
                                        const SinopiaTensor *table, uint32_t head_dim, float eps, GError **error);

/* Row softmax, in place allowed (x and y may be the same view). */
gboolean sinopia_op_softmax (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *y,
                             GError **error);

typedef struct {
  uint32_t n_heads;
  uint32_t head_dim;
  float scale;                       /* usually 1/sqrt(head_dim) */
  /* (a) region rule: query i may attend key j only if q_bits[i] & k_bits[j] != 0.
   *     u32 [1, Lq] and [1, Lk]; both or neither. */
  const SinopiaTensor *q_region_bits;
  const SinopiaTensor *k_region_bits;
  /* (b) additive bias per key, f32 [1, Lk] (KV-Edit attention scale). */
  const SinopiaTensor *key_bias;
  /* (c) T5 relative-position bias: bias[h, bucket[j - i + Lq - 1]] with
   *     rel_buckets u32 [1, Lq + Lk - 1] and rel_bias_table f32 [n_buckets, n_heads]
   *     (HF's relative_attention_bias.weight layout). Both or neither. */
  const SinopiaTensor *rel_buckets;
  const SinopiaTensor *rel_bias_table;
  /* (d) causal: key j visible to query i only if j <= i. */
  gboolean causal;
} SinopiaAttentionOptions;

/* out = softmax(Q Kᵀ·scale + bias) V per head, never storing the Lq×Lk scores.
 * q: [Lq, H·D], k and v: [Lk, H·D] — any views, so K/V may come from another buffer
 * (a cache) than Q; out: [Lq, H·D], head-major columns. A query whose keys are all
 * masked gets a zero output row. */
gboolean sinopia_op_attention (SinopiaRecorder *rec, const SinopiaTensor *q, const SinopiaTensor *k,
                               const SinopiaTensor *v, const SinopiaAttentionOptions *opts,
                               const SinopiaTensor *out, GError **error);

/* y[i, :] = table[ids[i], :]; ids: u32 [1, n]; table: f32/f16/bf16 [vocab, dim]; y: f32 [n, dim].
 * An id past the table is an error caught on the host (ids are validated when uploaded by
 * the caller) — on the device it reads row 0. */
gboolean sinopia_op_embedding (SinopiaRecorder *rec, const SinopiaTensor *ids, const SinopiaTensor *table,
                               const SinopiaTensor *y, GError **error);

/* Gated GELU (T5 v1.1): y = gelu_tanh(a) ⊙ b, elementwise. */
gboolean sinopia_op_gated_gelu (SinopiaRecorder *rec, const SinopiaTensor *a, const SinopiaTensor *b,
                                const SinopiaTensor *y, GError **error);

/* ---- image ops: tensors are [C, H·W] views (rows = channels) ------------------------ */

typedef struct {
  uint32_t height, width;   /* input spatial size */
  uint32_t kernel;          /* 1 or 3 */
  uint32_t stride;          /* 1 or 2 */
  /* padding: top, left, bottom, right. FLUX's downsample pads (0,0,1,1) with stride 2;
   * a same-size 3×3 conv pads (1,1,1,1). */
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
} SinopiaConvShape;

/* Output size of a convolution of shape s. */
void sinopia_conv_output_size (const SinopiaConvShape *s, uint32_t *out_height, uint32_t *out_width);

/* y = conv2d(x, w) + bias; x: f32 [Cin, H·W]; w: f32/f16/bf16 [Cout, Cin·k·k] (torch's
 * [out, in, kh, kw] flattened); bias [1, Cout] or NULL; y: f32 [Cout, Ho·Wo].
 * `accumulate` adds into y (ResNet shortcut). */
gboolean sinopia_op_conv2d (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaConvShape *shape,
                            const SinopiaTensor *w, const SinopiaTensor *bias, gboolean accumulate,
                            const SinopiaTensor *y, GError **error);

/* GroupNorm over [C, H·W]: `groups` groups of C/groups channels, affine weight/bias [1, C],
 * then optionally SiLU. AE: 32 groups, eps 1e-6. */
gboolean sinopia_op_group_norm (SinopiaRecorder *rec, const SinopiaTensor *x, uint32_t groups,
                                const SinopiaTensor *weight, const SinopiaTensor *bias, float eps,
                                gboolean silu, const SinopiaTensor *y, GError **error);

/* Nearest-neighbour ×2: x [C, H·W] → y [C, 2H·2W]. */
gboolean sinopia_op_upsample_nearest2x (SinopiaRecorder *rec, const SinopiaTensor *x, uint32_t height,
                                        uint32_t width, const SinopiaTensor *y, GError **error);

/* Transpose a [R, C] view into a [C, R] view (token-major ↔ channel-major). */
gboolean sinopia_op_transpose (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *y,
                               GError **error);

G_END_DECLS
