/* Fused attention against the double-precision reference: shapes, every mask alone and
 * combined, fused-QKV / KV-cache / column-slice layouts, every kernel variant, bad arguments. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>

#include "sinopia-test-vk.h"

/* Tolerance: 2e-6 absolute. Outputs are convex combinations of V ∈ [-1, 1], so an error in
 * the probabilities shows up at most 1:1. Scores are f32 dot products of ≤ 132 terms scaled by
 * 1/√D (|score| ≲ 3, rounding ≲ 1e-6 even in the worst order) and llvmpipe's exp is good to a
 * few ulp, so outputs may be off by ~1e-6; observed worst is 2.4e-7 on every variant. A single
 * wrongly masked key moves an output by ≳ 1e-3, far above this. */
#define ATOL 2e-6
#define RTOL 0.0

typedef enum {
  MASK_REGIONS = 1 << 0,
  MASK_KEY_BIAS = 1 << 1,  /* includes -inf entries */
  MASK_REL = 1 << 2,
  MASK_CAUSAL = 1 << 3,
  MASK_ALL = 15,
} Masks;

typedef enum {
  LAYOUT_SEPARATE,   /* Q, K, V in three dense buffers */
  LAYOUT_FUSED,      /* column slices of one [L, 3·H·D] buffer (Lq = Lk) */
  LAYOUT_CACHE,      /* Q a slice of a fused buffer; K/V slices of another, row-offset cache */
  LAYOUT_UNALIGNED,  /* Q starts at an odd column: no vec4 kernel applies */
} Layout;

typedef struct {
  uint32_t lq, lk, heads, head_dim;
  Masks masks;
  Layout layout;
  gboolean out_slice;  /* out is columns [3, 3 + H·D) of a wider buffer */
} Case;

static const char *const variants[] = { "cpu", "gpu", "scalar" };

#define N_BUCKETS 8

/* Writes src [rows, cols] into dst (row stride `stride`) at row r0, column c0. */
static void
place (float *dst, uint32_t stride, uint32_t r0, uint32_t c0, const float *src, uint32_t rows, uint32_t cols)
{
  for (uint32_t r = 0; r < rows; r++)
    memcpy (dst + (size_t) (r0 + r) * stride + c0, src + (size_t) r * cols, cols * sizeof (float));
}

static void
free_buffer (gpointer b)
{
  sinopia_buffer_free (b);
}

/* A float buffer of `n` values owned by `keep` (freed with it). */
static SinopiaBuffer *
keep_buffer (GPtrArray *keep, const float *values, gsize n)
{
  SinopiaBuffer *b = sinopia_test_buffer (SINOPIA_DTYPE_F32, values, n);
  g_ptr_array_add (keep, b);
  return b;
}

static SinopiaBuffer *
keep_buffer_u32 (GPtrArray *keep, const uint32_t *values, gsize n)
{
  SinopiaBuffer *b = sinopia_test_buffer_u32 (values, n);
  g_ptr_array_add (keep, b);
  return b;
}

static void
run_case (const Case *c, guint seed)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) keep = g_ptr_array_new_with_free_func (free_buffer);
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  uint32_t lq = c->lq, lk = c->lk, hd = c->heads * c->head_dim;
  g_autofree float *q = sinopia_test_random (seed + 1, (gsize) lq * hd, -1, 1);
  g_autofree float *k = sinopia_test_random (seed + 2, (gsize) lk * hd, -1, 1);
  g_autofree float *v = sinopia_test_random (seed + 3, (gsize) lk * hd, -1, 1);
  g_autofree uint32_t *q_bits = g_new (uint32_t, lq);
  g_autofree uint32_t *k_bits = g_new (uint32_t, lk);
  g_autofree float *key_bias = g_new (float, lk);
  g_autofree uint32_t *buckets = g_new (uint32_t, lq + lk - 1);
  g_autofree float *table = sinopia_test_random (seed + 4, N_BUCKETS * c->heads, -2, 2);
  SinopiaTensor tq, tk, tv, tout;
  SinopiaTensor t_qbits, t_kbits, t_bias, t_buckets, t_table;

  /* Region bits from three regions; 0 (in no region) leaves a query with no visible key. */
  for (uint32_t i = 0; i < lq; i++)
    q_bits[i] = g_rand_int_range (rand, 0, 8);
  for (uint32_t j = 0; j < lk; j++) {
    k_bits[j] = g_rand_int_range (rand, 0, 8);
    key_bias[j] = j % 7 == 3 ? -INFINITY : (float) g_rand_double_range (rand, -2, 2);
  }
  for (uint32_t b = 0; b < lq + lk - 1; b++)
    buckets[b] = g_rand_int_range (rand, 0, N_BUCKETS);

  switch (c->layout) {
  case LAYOUT_FUSED: {
    g_assert_cmpuint (lq, ==, lk);
    g_autofree float *all = g_new (float, (gsize) lq * 3 * hd);
    place (all, 3 * hd, 0, 0, q, lq, hd);
    place (all, 3 * hd, 0, hd, k, lk, hd);
    place (all, 3 * hd, 0, 2 * hd, v, lk, hd);
    SinopiaTensor t = sinopia_tensor (keep_buffer (keep, all, (gsize) lq * 3 * hd), 0, lq, 3 * hd);
    tq = sinopia_tensor_columns (t, 0, hd);
    tk = sinopia_tensor_columns (t, hd, hd);
    tv = sinopia_tensor_columns (t, 2 * hd, hd);
    break;
  }
  case LAYOUT_CACHE: {
    g_autofree float *fused = sinopia_test_random (seed + 5, (gsize) lq * 3 * hd, -1, 1);
    place (fused, 3 * hd, 0, 0, q, lq, hd);
    tq = sinopia_tensor_columns (sinopia_tensor (keep_buffer (keep, fused, (gsize) lq * 3 * hd), 0, lq, 3 * hd),
                                 0, hd);
    uint32_t stride = 2 * hd + 4, rows = lk + 3;
    g_autofree float *cache = sinopia_test_random (seed + 6, (gsize) rows * stride, -1, 1);
    place (cache, stride, 3, 4, k, lk, hd);
    place (cache, stride, 3, 4 + hd, v, lk, hd);
    SinopiaTensor t = sinopia_tensor_rows (sinopia_tensor (keep_buffer (keep, cache, (gsize) rows * stride), 0,
                                                           rows, stride), 3, lk);
    tk = sinopia_tensor_columns (t, 4, hd);
    tv = sinopia_tensor_columns (t, 4 + hd, hd);
    break;
  }
  case LAYOUT_UNALIGNED: {
    g_autofree float *wide = sinopia_test_random (seed + 7, (gsize) lq * (hd + 3), -1, 1);
    place (wide, hd + 3, 0, 1, q, lq, hd);
    tq = sinopia_tensor_columns (sinopia_tensor (keep_buffer (keep, wide, (gsize) lq * (hd + 3)), 0, lq, hd + 3),
                                 1, hd);
    tk = sinopia_tensor (keep_buffer (keep, k, (gsize) lk * hd), 0, lk, hd);
    tv = sinopia_tensor (keep_buffer (keep, v, (gsize) lk * hd), 0, lk, hd);
    break;
  }
  case LAYOUT_SEPARATE:
  default:
    tq = sinopia_tensor (keep_buffer (keep, q, (gsize) lq * hd), 0, lq, hd);
    tk = sinopia_tensor (keep_buffer (keep, k, (gsize) lk * hd), 0, lk, hd);
    tv = sinopia_tensor (keep_buffer (keep, v, (gsize) lk * hd), 0, lk, hd);
    break;
  }

  t_qbits = sinopia_tensor (keep_buffer_u32 (keep, q_bits, lq), 0, 1, lq);
  t_kbits = sinopia_tensor (keep_buffer_u32 (keep, k_bits, lk), 0, 1, lk);
  t_bias = sinopia_tensor (keep_buffer (keep, key_bias, lk), 0, 1, lk);
  t_buckets = sinopia_tensor (keep_buffer_u32 (keep, buckets, lq + lk - 1), 0, 1, lq + lk - 1);
  t_table = sinopia_tensor (keep_buffer (keep, table, N_BUCKETS * c->heads), 0, N_BUCKETS, c->heads);

  SinopiaAttentionOptions opts = {
    .n_heads = c->heads,
    .head_dim = c->head_dim,
    .scale = 1.0f / sqrtf ((float) c->head_dim),
    .q_region_bits = c->masks & MASK_REGIONS ? &t_qbits : NULL,
    .k_region_bits = c->masks & MASK_REGIONS ? &t_kbits : NULL,
    .key_bias = c->masks & MASK_KEY_BIAS ? &t_bias : NULL,
    .rel_buckets = c->masks & MASK_REL ? &t_buckets : NULL,
    .rel_bias_table = c->masks & MASK_REL ? &t_table : NULL,
    .causal = (c->masks & MASK_CAUSAL) != 0,
  };
  SinopiaRefAttention ref = {
    .n_heads = c->heads,
    .head_dim = c->head_dim,
    .scale = opts.scale,
    .q_bits = opts.q_region_bits ? q_bits : NULL,
    .k_bits = opts.k_region_bits ? k_bits : NULL,
    .key_bias = opts.key_bias ? key_bias : NULL,
    .rel_buckets = opts.rel_buckets ? buckets : NULL,
    .rel_bias_table = table,
    .n_buckets = N_BUCKETS,
    .causal = opts.causal,
  };
  g_autofree float *want = g_new (float, (gsize) lq * hd);
  sinopia_ref_attention (q, lq, k, v, lk, &ref, want);

  uint32_t out_stride = c->out_slice ? hd + 6 : hd, out_col = c->out_slice ? 3 : 0;
  gsize out_n = (gsize) lq * out_stride;
  g_autofree float *expect = sinopia_test_random (seed + 8, out_n, -1, 1);

  for (guint var = 0; var < G_N_ELEMENTS (variants); var++) {
    g_autofree char *what = g_strdup_printf ("attention %s Lq=%u Lk=%u H=%u D=%u masks=%x layout=%d%s", variants[var],
                                             lq, lk, c->heads, c->head_dim, c->masks, c->layout,
                                             c->out_slice ? " out-slice" : "");
    g_autofree float *init = g_memdup2 (expect, out_n * sizeof (float));
    SinopiaBuffer *bo = c->out_slice ? sinopia_test_buffer (SINOPIA_DTYPE_F32, init, out_n) : sinopia_test_output (out_n);
    tout = sinopia_tensor_columns (sinopia_tensor (bo, 0, lq, out_stride), out_col, hd);

    g_setenv ("SINOPIA_ATTENTION_VARIANT", variants[var], TRUE);
    SinopiaRecorder *rec = sinopia_recorder_new (sinopia_test_context (), &error);
    g_assert_no_error (error);
    sinopia_recorder_begin (rec, TRUE, &error);
    g_assert_no_error (error);
    sinopia_op_attention (rec, &tq, &tk, &tv, &opts, &tout, &error);
    g_assert_no_error (error);
    sinopia_recorder_submit (rec, &error);
    g_assert_no_error (error);
    g_unsetenv ("SINOPIA_ATTENTION_VARIANT");
    /* The profile names the kernel that ran: the one asked for, unless it cannot take the shape. */
    guint n_entries;
    const SinopiaProfileEntry *prof = sinopia_recorder_profile (rec, &n_entries);
    if (n_entries > 0) {
      gboolean fallback = c->layout == LAYOUT_UNALIGNED || c->head_dim % 4 != 0 || c->head_dim > 128;
      g_autofree char *kernel = g_strdup_printf ("attention_%s", fallback ? "scalar" : variants[var]);
      g_assert_true (g_str_has_prefix (prof[0].op, kernel));
    }
    sinopia_recorder_free (rec);

    place (init, out_stride, 0, out_col, want, lq, hd);
    g_autofree float *got = sinopia_test_read (bo, out_n);
    sinopia_test_assert_close (got, init, out_n, ATOL, RTOL, what);
    /* A query with no visible key must be exactly zero, not merely small. */
    for (uint32_t i = 0; i < lq * hd; i++)
      if (want[i] == 0.0f)
        g_assert_cmpfloat (got[(i / hd) * out_stride + out_col + i % hd], ==, 0.0f);
    sinopia_buffer_free (bo);
  }
}

/* Every length pair of interest, cycling heads 1–4 and head sizes 4/16/64, no masks. */
static void
test_shapes (void)
{
  static const uint32_t lens[] = { 1, 5, 16, 33, 77, 130 };
  static const uint32_t dims[] = { 4, 16, 64 };
  guint n = 0;
  for (guint a = 0; a < G_N_ELEMENTS (lens); a++)
    for (guint b = 0; b < G_N_ELEMENTS (lens); b++) {
      /* the diagonal and, off it, every other pair: both Lq < Lk and Lq > Lk are covered */
      if (a != b && (a + b) % 2 == 0)
        continue;
      Case c = { lens[a], lens[b], 1 + n % 4, dims[n % 3], 0, LAYOUT_SEPARATE, FALSE };
      run_case (&c, 100 + n++);
    }
}

/* The other kernel builds and the scalar fallback for head sizes no vec4 kernel takes. */
static void
test_head_sizes (void)
{
  static const Case cases[] = {
    { 33, 33, 2, 128, 0, LAYOUT_SEPARATE, FALSE },
    { 16, 5, 3, 32, MASK_ALL, LAYOUT_SEPARATE, FALSE },
    { 5, 16, 2, 8, MASK_REGIONS | MASK_CAUSAL, LAYOUT_SEPARATE, FALSE },
    { 17, 9, 3, 7, MASK_ALL, LAYOUT_SEPARATE, FALSE },      /* odd head size */
    { 9, 12, 1, 132, MASK_KEY_BIAS, LAYOUT_SEPARATE, FALSE }, /* above the vec4 kernels' 128 */
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_case (&cases[i], 200 + i);
}

/* Enough queries × heads for the 8-query cpu builds (the cases above all take the 4-query ones):
 * a length that is no multiple of 8, every mask. */
static void
test_query_blocks (void)
{
  static const Case cases[] = {
    { 517, 37, 4, 64, MASK_ALL, LAYOUT_SEPARATE, FALSE },
    { 1030, 9, 2, 16, MASK_REL | MASK_KEY_BIAS | MASK_REGIONS, LAYOUT_SEPARATE, FALSE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_case (&cases[i], 250 + i);
}

/* Each mask alone and all together, for Lq = Lk, Lq < Lk and Lq > Lk. */
static void
test_masks (void)
{
  static const Masks masks[] = { MASK_REGIONS, MASK_KEY_BIAS, MASK_REL, MASK_CAUSAL, MASK_ALL };
  static const uint32_t pairs[][2] = { { 33, 33 }, { 16, 77 }, { 77, 16 } };
  guint n = 0;
  for (guint m = 0; m < G_N_ELEMENTS (masks); m++)
    for (guint s = 0; s < G_N_ELEMENTS (pairs); s++) {
      Case c = { pairs[s][0], pairs[s][1], 2 + n % 2, n % 2 ? 16 : 64, masks[m], LAYOUT_SEPARATE, FALSE };
      run_case (&c, 300 + n++);
    }
}

static void
test_layouts (void)
{
  static const Case cases[] = {
    { 77, 77, 4, 16, MASK_ALL, LAYOUT_FUSED, TRUE },
    { 130, 130, 2, 64, MASK_CAUSAL, LAYOUT_FUSED, FALSE },
    { 5, 130, 2, 64, MASK_REGIONS | MASK_KEY_BIAS, LAYOUT_CACHE, TRUE },
    { 33, 1, 3, 16, MASK_REL, LAYOUT_CACHE, FALSE },
    { 33, 16, 2, 16, MASK_ALL, LAYOUT_UNALIGNED, TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_case (&cases[i], 400 + i);
}

/* Rows 0 and 3 share no region with any key; the keys row 2 shares one with have a -inf bias. */
static void
test_fully_masked (void)
{
  g_autoptr (GError) error = NULL;
  const uint32_t lq = 5, lk = 7, hd = 8;
  static const uint32_t q_bits[] = { 0, 1, 2, 8, 1 };
  static const uint32_t k_bits[] = { 1, 1, 2, 3, 1, 1, 1 };
  static const float bias[] = { 0, 0, -INFINITY, -INFINITY, 0, 0, 0 };
  g_autofree float *q = sinopia_test_random (500, lq * hd, -1, 1);
  g_autofree float *kv = sinopia_test_random (501, lk * hd, -1, 1);
  SinopiaBuffer *bq = sinopia_test_buffer (SINOPIA_DTYPE_F32, q, lq * hd);
  SinopiaBuffer *bkv = sinopia_test_buffer (SINOPIA_DTYPE_F32, kv, lk * hd);
  SinopiaBuffer *bqb = sinopia_test_buffer_u32 (q_bits, lq), *bkb = sinopia_test_buffer_u32 (k_bits, lk);
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, bias, lk);
  SinopiaTensor tq = sinopia_tensor (bq, 0, lq, hd), tkv = sinopia_tensor (bkv, 0, lk, hd);
  SinopiaTensor tqb = sinopia_tensor (bqb, 0, 1, lq), tkb = sinopia_tensor (bkb, 0, 1, lk);
  SinopiaTensor tb = sinopia_tensor (bb, 0, 1, lk);
  SinopiaAttentionOptions opts = {
    .n_heads = 2, .head_dim = 4, .scale = 0.5f, .q_region_bits = &tqb, .k_region_bits = &tkb, .key_bias = &tb,
  };
  for (guint var = 0; var < G_N_ELEMENTS (variants); var++) {
    SinopiaBuffer *bo = sinopia_test_output (lq * hd);
    SinopiaTensor to = sinopia_tensor (bo, 0, lq, hd);
    g_setenv ("SINOPIA_ATTENTION_VARIANT", variants[var], TRUE);
    SinopiaRecorder *rec = sinopia_test_begin ();
    sinopia_op_attention (rec, &tq, &tkv, &tkv, &opts, &to, &error);
    g_assert_no_error (error);
    sinopia_test_submit (rec);
    g_unsetenv ("SINOPIA_ATTENTION_VARIANT");
    g_autofree float *got = sinopia_test_read (bo, lq * hd);
    for (uint32_t i = 0; i < lq; i++)
      for (uint32_t c = 0; c < hd; c++) {
        if (i == 0 || i == 2 || i == 3)
          g_assert_cmpfloat (got[i * hd + c], ==, 0.0f);
        else
          g_assert_true (isfinite (got[i * hd + c]) && got[i * hd + c] != 0.0f);
      }
    sinopia_buffer_free (bo);
  }
  sinopia_buffer_free (bq);
  sinopia_buffer_free (bkv);
  sinopia_buffer_free (bqb);
  sinopia_buffer_free (bkb);
  sinopia_buffer_free (bb);
}

#define ASSERT_INVALID(call)                                                \
  G_STMT_START {                                                            \
    g_assert_false (call);                                                  \
    g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT); \
    g_clear_error (&error);                                                 \
  } G_STMT_END

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *zeros = g_new0 (float, 256);
  static const uint32_t bits[16] = { 1 };
  SinopiaBuffer *b = sinopia_test_buffer (SINOPIA_DTYPE_F32, zeros, 256);
  SinopiaBuffer *bo = sinopia_test_buffer (SINOPIA_DTYPE_F32, zeros, 256);
  SinopiaBuffer *bu = sinopia_test_buffer_u32 (bits, 16);
  SinopiaTensor qkv = sinopia_tensor (b, 0, 4, 24);
  SinopiaTensor q = sinopia_tensor_columns (qkv, 0, 8), k = sinopia_tensor_columns (qkv, 8, 8),
                v = sinopia_tensor_columns (qkv, 16, 8);
  SinopiaTensor out = sinopia_tensor (bo, 0, 4, 8), short_out = sinopia_tensor (bo, 0, 3, 8);
  SinopiaTensor k3 = sinopia_tensor_rows (k, 0, 3), past = sinopia_tensor (b, 300, 4, 24);
  SinopiaTensor ubits4 = sinopia_tensor (bu, 0, 1, 4), ubits5 = sinopia_tensor (bu, 0, 1, 5);
  SinopiaTensor fbits4 = sinopia_tensor (bo, 100, 1, 4), buckets7 = sinopia_tensor (bu, 0, 1, 7);
  SinopiaTensor table = sinopia_tensor (bo, 100, 8, 2), table3 = sinopia_tensor (bo, 100, 8, 3);
  SinopiaTensor overlapping = sinopia_tensor_columns (qkv, 12, 8);
  SinopiaAttentionOptions ok = { .n_heads = 2, .head_dim = 4, .scale = 0.5f }, o;
  SinopiaRecorder *rec = sinopia_test_begin ();

  g_assert_true (sinopia_op_attention (rec, &q, &k, &v, &ok, &out, &error));
  g_assert_no_error (error);
  ASSERT_INVALID (sinopia_op_attention (NULL, &q, &k, &v, &ok, &out, &error));
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, NULL, &out, &error));
  ASSERT_INVALID (sinopia_op_attention (rec, NULL, &k, &v, &ok, &out, &error));
  ASSERT_INVALID (sinopia_op_attention (rec, &past, &k, &v, &ok, &out, &error));
  o = ok;
  o.head_dim = 3;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));
  o = ok;
  o.n_heads = 0;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));
  o = ok;
  o.scale = NAN;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k3, &v, &ok, &out, &error));        /* K/V rows differ */
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &ok, &short_out, &error));   /* out rows */
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &ok, &overlapping, &error)); /* out over K, V */
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &ok, &q, &error));           /* out is Q */
  o = ok;
  o.q_region_bits = &ubits4;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* one side only */
  o.k_region_bits = &ubits5;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* wrong length */
  o.k_region_bits = &fbits4;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* f32 bits */
  o = ok;
  o.key_bias = &ubits4;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* u32 bias */
  o = ok;
  o.key_bias = &table;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* not [1, Lk] */
  o = ok;
  o.rel_buckets = &buckets7;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* no table */
  o.rel_bias_table = &table3;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* 3 columns, 2 heads */
  o.rel_bias_table = &table;
  o.rel_buckets = &ubits5;
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));          /* Lq + Lk - 1 = 7 */
  o.rel_buckets = &buckets7;
  g_assert_true (sinopia_op_attention (rec, &q, &k, &v, &o, &out, &error));
  g_assert_no_error (error);

  g_setenv ("SINOPIA_ATTENTION_VARIANT", "tensor-cores", TRUE);
  ASSERT_INVALID (sinopia_op_attention (rec, &q, &k, &v, &ok, &out, &error));
  g_unsetenv ("SINOPIA_ATTENTION_VARIANT");

  /* only the two valid calls recorded anything */
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 2);
  sinopia_test_submit (rec);
  sinopia_buffer_free (b);
  sinopia_buffer_free (bo);
  sinopia_buffer_free (bu);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/attention/shapes", test_shapes);
  g_test_add_func ("/ops/attention/head-sizes", test_head_sizes);
  g_test_add_func ("/ops/attention/query-blocks", test_query_blocks);
  g_test_add_func ("/ops/attention/masks", test_masks);
  g_test_add_func ("/ops/attention/layouts", test_layouts);
  g_test_add_func ("/ops/attention/fully-masked", test_fully_masked);
  g_test_add_func ("/ops/attention/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
