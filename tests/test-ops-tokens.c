/* RoPE (and the host RoPE table), embedding lookup, gated GELU and transpose against the CPU reference. */
#define G_LOG_DOMAIN "sinopia-test"

#include "sinopia-rope.h"
#include "sinopia-test-views.h"

static const uint32_t test_rows[] = { 1, 7, 64, 300 };
static const uint32_t test_cols[] = { 1, 3, 64, 100, 3072 };

/* RoPE: each output is c·x0 ∓ s·x1 in float against double in the reference, with |x| ≤ 4
 * and |c|, |s| ≤ 1: two products and a sum each round by at most half an ulp of 4 to 8,
 * about 1e-6 in all whatever the cancellation, so an absolute bound. */
#define ROPE_ATOL 2e-6
/* Gated GELU: the shader's exp-based tanh differs from libm by a few ulp (as in the
 * activation test), then one product with |b| ≤ 2. */
#define GELU_ATOL 4e-6
#define GELU_RTOL 1e-5
/* Embedding and transpose move values without arithmetic (f16/bf16 widen exactly): exact. */

/* A table of random angles, cos and sin interleaved per pair: rows × head_dim. */
static float *
random_table (guint32 seed, uint32_t rows, uint32_t head_dim)
{
  g_autofree float *phi = sinopia_test_random (seed, (gsize) rows * head_dim / 2, -20.0f, 20.0f);
  float *t = g_new (float, (gsize) rows * head_dim);
  for (gsize i = 0; i < (gsize) rows * head_dim / 2; i++) {
    t[2 * i] = cosf (phi[i]);
    t[2 * i + 1] = sinf (phi[i]);
  }
  return t;
}

/* The q and k column slices of a fused [L, 3·H·D] qkv buffer rotated in place with separate
 * tables; v must not change. q and its dense table are 4-aligned, so q takes the vec4 shader
 * when D is a multiple of 4; the k table is a misaligned slice of a wider matrix, so k always
 * takes the scalar one. */
static void
check_rope_qk (uint32_t rows, uint32_t heads, uint32_t head_dim, const float *table_q, const float *table_k,
               guint32 seed)
{
  g_autoptr (GError) error = NULL;
  uint32_t width = heads * head_dim, cols = 3 * width;
  gsize n = (gsize) rows * cols, ntq, ntk;
  g_autofree float *qkv = sinopia_test_random (seed, n, -4.0f, 4.0f);
  SinopiaBuffer *bqkv = sinopia_test_buffer (SINOPIA_DTYPE_F32, qkv, n);
  SinopiaTensor all = sinopia_tensor (bqkv, 0, rows, cols);
  SinopiaTensor q = sinopia_tensor_columns (all, 0, width), k = sinopia_tensor_columns (all, width, width);
  SinopiaTensor tq = sinopia_test_embed (table_q, rows, head_dim, 0, 0, head_dim, 0.0f, &ntq);
  SinopiaTensor tk = sinopia_test_embed (table_k, rows, head_dim, 7, 3, head_dim + 6, 0.0f, &ntk);

  const char *shaders[] = { head_dim % 4 == 0 ? "rope_vec4" : "rope", "rope" };
  SinopiaRecorder *rec = sinopia_test_begin_profiled ();
  sinopia_op_rope (rec, &q, &tq, head_dim, &error);
  g_assert_no_error (error);
  sinopia_op_rope (rec, &k, &tk, head_dim, &error);
  g_assert_no_error (error);
  sinopia_test_submit_expecting (rec, shaders, 2);

  g_autofree float *want = g_memdup2 (qkv, n * sizeof (float));
  for (uint32_t r = 0; r < rows; r++) {
    sinopia_ref_rope (want + (gsize) r * cols, 1, width, table_q + (gsize) r * head_dim, head_dim);
    sinopia_ref_rope (want + (gsize) r * cols + width, 1, width, table_k + (gsize) r * head_dim, head_dim);
  }
  g_autofree float *got = sinopia_test_read (bqkv, n);
  g_autofree char *label = g_strdup_printf ("rope %ux%ux%u", rows, heads, head_dim);
  sinopia_test_assert_close (got, want, n, ROPE_ATOL, 0, label);
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 2 * width; c < cols; c++)
      g_assert_cmpfloat (got[(gsize) r * cols + c], ==, qkv[(gsize) r * cols + c]);
  sinopia_buffer_free (bqkv);
  sinopia_buffer_free (tq.buffer);
  sinopia_buffer_free (tk.buffer);
}

static void
test_rope_random (void)
{
  static const struct { uint32_t heads, head_dim; } layouts[] = { { 1, 2 }, { 3, 8 }, { 2, 50 }, { 24, 128 } };
  for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      guint32 seed = 600 + 10 * r + l;
      uint32_t rows = test_rows[r], hd = layouts[l].head_dim;
      g_autofree float *table_q = random_table (seed + 1, rows, hd);
      g_autofree float *table_k = random_table (seed + 2, rows, hd);
      check_rope_qk (rows, layouts[l].heads, hd, table_q, table_k, seed);
    }
}

/* FLUX's layout end to end: 4 text tokens at (0,0,0) then a 4×5 grid of image tokens at
 * (0, row, col), axes (16, 56, 56), two heads of 128; the text rows' rotation is the identity. */
static void
test_rope_flux_table (void)
{
  static const uint32_t axes[] = { 16, 56, 56 };
  uint32_t n_txt = 4, L = n_txt + 20, hd = 128;
  g_autofree float *ids = g_new0 (float, (gsize) L * 3);
  for (uint32_t t = 0; t < 20; t++) {
    ids[(n_txt + t) * 3 + 1] = (float) (t / 5);
    ids[(n_txt + t) * 3 + 2] = (float) (t % 5);
  }
  g_autofree float *table = g_new (float, (gsize) L * hd);
  sinopia_rope_table (ids, L, axes, 3, 10000.0, table);
  for (uint32_t i = 0; i < n_txt * hd; i++)
    g_assert_cmpfloat (table[i], ==, i % 2 ? 0.0f : 1.0f);
  check_rope_qk (L, 2, hd, table, table, 700);
}

/* Values worked out by hand (cos and sin of the stated angles, to 10 digits). */
static void
test_rope_table_values (void)
{
  static const uint32_t small_axes[] = { 2, 4 };
  /* row 0 at (3, 5): axis 0 has ω = 1; axis 1 has ω = 1 and 10000^(−2/4) = 0.01. Row 1 at the origin. */
  static const float small_ids[] = { 3.0f, 5.0f, 0.0f, 0.0f };
  static const double small_want[] = {
    -0.9899924966, 0.1411200081,   /* cos 3, sin 3 */
    0.2836621855, -0.9589242747,   /* cos 5, sin 5 */
    0.9987502604, 0.0499791693,    /* cos 0.05, sin 0.05 */
    1, 0, 1, 0, 1, 0,
  };
  float small[12];
  sinopia_rope_table (small_ids, 2, small_axes, 2, 10000.0, small);
  for (guint i = 0; i < 12; i++)
    g_assert_cmpfloat_with_epsilon (small[i], small_want[i], 1e-7);

  /* FLUX: token at (2.5, 7, 11), axes (16, 56, 56), θ = 10000. */
  static const uint32_t flux_axes[] = { 16, 56, 56 };
  static const float flux_ids[] = { 2.5f, 7.0f, 11.0f };
  static const struct { guint at; double want; } flux_want[] = {
    { 0, -0.8011436155 }, { 1, 0.5984721441 },   /* pair 0, axis 0 j 0: φ = 2.5 */
    { 2, 0.7034407157 }, { 3, 0.7107539373 },    /* pair 1, axis 0 j 1: φ = 2.5·10000^(−2/16) = 0.790569 */
    { 16, 0.7539022543 }, { 17, 0.6569865987 },  /* pair 8, axis 1 j 0: φ = 7 */
    { 70, 0.9999995270 }, { 71, 0.0009726467 },  /* pair 35, axis 1 j 27: φ = 7·10000^(−54/56) = 9.72647e-4 */
    { 74, -0.0625199681 }, { 75, 0.9980437133 }, /* pair 37, axis 2 j 1: φ = 11·10000^(−2/56) = 7.916542 */
  };
  float flux[128];
  sinopia_rope_table (flux_ids, 1, flux_axes, 3, 10000.0, flux);
  for (guint i = 0; i < G_N_ELEMENTS (flux_want); i++)
    g_assert_cmpfloat_with_epsilon (flux[flux_want[i].at], flux_want[i].want, 1e-7);
}

static void
test_embedding (void)
{
  static const SinopiaDType dtypes[] = { SINOPIA_DTYPE_F32, SINOPIA_DTYPE_F16, SINOPIA_DTYPE_BF16 };
  static const uint32_t dims[] = { 1, 3, 64, 100, 3072 };
  const uint32_t vocab = 50;
  for (guint t = 0; t < G_N_ELEMENTS (dtypes); t++)
    for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
      for (guint d = 0; d < G_N_ELEMENTS (dims); d++) {
        g_autoptr (GError) error = NULL;
        uint32_t n = test_rows[r], dim = dims[d], stride = dim + 3;
        guint32 seed = 800 + 100 * t + 10 * r + d;
        gsize ny;
        /* the table is the columns [2, 2+dim) of a vocab × (dim+3) matrix after 5 leading elements */
        g_autofree float *values = sinopia_test_random (seed, 5 + (gsize) vocab * stride, -3.0f, 3.0f);
        g_autofree uint16_t *bits = g_new (uint16_t, 5 + (gsize) vocab * stride);
        g_autofree float *dense = g_new (float, (gsize) vocab * dim);
        for (gsize i = 0; i < 5 + (gsize) vocab * stride; i++)
          bits[i] = dtypes[t] == SINOPIA_DTYPE_F16 ? sinopia_ref_f32_to_f16 (values[i])
                                                   : sinopia_ref_f32_to_bf16 (values[i]);
        g_autofree uint16_t *dense_bits = g_new (uint16_t, (gsize) vocab * dim);
        for (uint32_t v = 0; v < vocab; v++)
          for (uint32_t c = 0; c < dim; c++) {
            dense[v * dim + c] = values[5 + v * stride + 2 + c];
            dense_bits[v * dim + c] = bits[5 + v * stride + 2 + c];
          }
        g_autofree uint32_t *ids = g_new (uint32_t, n);
        g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
        for (uint32_t i = 0; i < n; i++)
          ids[i] = (uint32_t) g_rand_int_range (rand, 0, vocab);
        if (n > 1)
          ids[n - 1] = vocab + 9;   /* past the table: the device reads row 0 */
        SinopiaBuffer *btable = sinopia_test_buffer (dtypes[t], values, 5 + (gsize) vocab * stride);
        SinopiaBuffer *bids = sinopia_test_buffer_u32 (ids, n);
        SinopiaTensor ttable = sinopia_tensor_columns (sinopia_tensor (btable, 5, vocab, stride), 2, dim);
        SinopiaTensor tids = sinopia_tensor (bids, 0, 1, n);
        g_autofree float *nans = sinopia_test_nans ((gsize) n * dim);
        SinopiaTensor ty = sinopia_test_embed (nans, n, dim, 1, 1, dim + 2, NAN, &ny);

        SinopiaRecorder *rec = sinopia_test_begin ();
        sinopia_op_embedding (rec, &tids, &ttable, &ty, &error);
        g_assert_no_error (error);
        sinopia_test_submit (rec);

        g_autofree float *want = g_new (float, (gsize) n * dim);
        sinopia_ref_embedding (ids, n, dtypes[t] == SINOPIA_DTYPE_F32 ? (const void *) dense : dense_bits, dtypes[t],
                               vocab, dim, want);
        g_autofree float *got = sinopia_test_extract (&ty, ny, NAN);
        g_autofree char *label = g_strdup_printf ("embedding %s %ux%u", sinopia_dtype_name (dtypes[t]), n, dim);
        sinopia_test_assert_close (got, want, (gsize) n * dim, 0, 0, label);
        sinopia_buffer_free (btable);
        sinopia_buffer_free (bids);
        sinopia_buffer_free (ty.buffer);
      }
}

/* a and b are the two halves of one fused [rows, 2·cols] projection (T5's wi_0, wi_1); once
 * into a misaligned strided output (scalar shader), once in place over b (vec4 shader when
 * cols is a multiple of 4). */
static void
test_gated_gelu (void)
{
  for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
    for (guint c = 0; c < G_N_ELEMENTS (test_cols); c++) {
      g_autoptr (GError) error = NULL;
      uint32_t rows = test_rows[r], cols = test_cols[c];
      gsize n = (gsize) rows * cols, nab, ny;
      guint32 seed = 900 + 10 * r + c;
      g_autofree float *ab = sinopia_test_random (seed, 2 * n, -6.0f, 6.0f);
      for (gsize i = 0; i < n; i++)
        ab[(i / cols) * 2 * cols + cols + i % cols] /= 3.0f;
      g_autofree float *nans = sinopia_test_nans (n);
      SinopiaTensor tab = sinopia_test_embed (ab, rows, 2 * cols, 0, 0, 2 * cols, 0.0f, &nab);
      SinopiaTensor ta = sinopia_tensor_columns (tab, 0, cols), tb = sinopia_tensor_columns (tab, cols, cols);
      SinopiaTensor ty = sinopia_test_embed (nans, rows, cols, 2, 1, cols + 1, NAN, &ny);

      const char *shaders[] = { "gated_gelu", cols % 4 == 0 ? "gated_gelu_vec4" : "gated_gelu" };
      SinopiaRecorder *rec = sinopia_test_begin_profiled ();
      sinopia_op_gated_gelu (rec, &ta, &tb, &ty, &error);
      g_assert_no_error (error);
      sinopia_op_gated_gelu (rec, &ta, &tb, &tb, &error);
      g_assert_no_error (error);
      sinopia_test_submit_expecting (rec, shaders, 2);

      g_autofree float *a = g_new (float, n), *b = g_new (float, n), *want = g_new (float, n);
      for (gsize i = 0; i < n; i++) {
        a[i] = ab[(i / cols) * 2 * cols + i % cols];
        b[i] = ab[(i / cols) * 2 * cols + cols + i % cols];
      }
      sinopia_ref_gated_gelu (a, b, n, want);
      g_autofree char *label = g_strdup_printf ("gated_gelu %ux%u", rows, cols);
      g_autofree float *got = sinopia_test_extract (&ty, ny, NAN);
      sinopia_test_assert_close (got, want, n, GELU_ATOL, GELU_RTOL, label);
      g_autofree float *in_place = sinopia_test_read (tab.buffer, nab);
      for (gsize i = 0; i < n; i++) {
        g_assert_cmpfloat (in_place[(i / cols) * 2 * cols + i % cols], ==, a[i]);
        got[i] = in_place[(i / cols) * 2 * cols + cols + i % cols];
      }
      sinopia_test_assert_close (got, want, n, GELU_ATOL, GELU_RTOL, shaders[1]);
      sinopia_buffer_free (tab.buffer);
      sinopia_buffer_free (ty.buffer);
    }
}

static void
test_transpose (void)
{
  for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
    for (guint c = 0; c < G_N_ELEMENTS (test_cols); c++) {
      g_autoptr (GError) error = NULL;
      uint32_t rows = test_rows[r], cols = test_cols[c];
      gsize n = (gsize) rows * cols, nx, ny;
      g_autofree float *x = sinopia_test_random (1000 + 10 * r + c, n, -1.0f, 1.0f);
      g_autofree float *nans = sinopia_test_nans (n);
      SinopiaTensor tx = sinopia_test_embed (x, rows, cols, 3, 1, cols + 2, -7.0f, &nx);
      SinopiaTensor ty = sinopia_test_embed (nans, cols, rows, 1, 2, rows + 3, NAN, &ny);

      SinopiaRecorder *rec = sinopia_test_begin ();
      sinopia_op_transpose (rec, &tx, &ty, &error);
      g_assert_no_error (error);
      sinopia_test_submit (rec);

      g_autofree float *want = g_new (float, n);
      sinopia_ref_transpose (x, rows, cols, want);
      g_autofree float *got = sinopia_test_extract (&ty, ny, NAN);
      g_autofree char *label = g_strdup_printf ("transpose %ux%u", rows, cols);
      sinopia_test_assert_close (got, want, n, 0, 0, label);
      sinopia_buffer_free (tx.buffer);
      sinopia_buffer_free (ty.buffer);
    }
}

#define INVALID SINOPIA_TEST_ASSERT_INVALID

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  float v[64] = { 0 };
  uint32_t idv[4] = { 0 };
  SinopiaBuffer *buf = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 64);
  SinopiaBuffer *bids = sinopia_test_buffer_u32 (idv, 4);
  SinopiaTensor x = sinopia_tensor (buf, 0, 4, 8), y = sinopia_tensor (buf, 32, 4, 8);
  SinopiaTensor xt = sinopia_tensor (buf, 32, 8, 4), overlap = sinopia_tensor (buf, 4, 8, 4);
  SinopiaTensor table4 = sinopia_tensor (buf, 32, 4, 4), table3 = sinopia_tensor (buf, 32, 3, 4);
  SinopiaTensor none = sinopia_tensor (NULL, 0, 4, 8);
  SinopiaTensor ids = sinopia_tensor (bids, 0, 1, 4), ids2 = sinopia_tensor (bids, 0, 2, 2);
  SinopiaTensor ids_f32 = sinopia_tensor (buf, 0, 1, 4), ids_past = sinopia_tensor (bids, 100, 1, 4);
  SinopiaTensor vocab = sinopia_tensor (buf, 0, 5, 8), emb_out = sinopia_tensor (buf, 40, 4, 8);
  SinopiaRecorder *rec = sinopia_test_begin ();

  INVALID (sinopia_op_rope (NULL, &x, &table4, 4, &error));
  INVALID (sinopia_op_rope (rec, &none, &table4, 4, &error));
  INVALID (sinopia_op_rope (rec, &x, NULL, 4, &error));
  INVALID (sinopia_op_rope (rec, &x, &table4, 0, &error));
  INVALID (sinopia_op_rope (rec, &x, &table4, 3, &error));
  INVALID (sinopia_op_rope (rec, &x, &table4, 6, &error));
  INVALID (sinopia_op_rope (rec, &x, &table3, 4, &error));
  INVALID (sinopia_op_rope (rec, &x, &table4, 8, &error));

  INVALID (sinopia_op_embedding (NULL, &ids, &vocab, &emb_out, &error));
  INVALID (sinopia_op_embedding (rec, &ids2, &vocab, &emb_out, &error));
  INVALID (sinopia_op_embedding (rec, &ids_f32, &vocab, &emb_out, &error));
  INVALID (sinopia_op_embedding (rec, &ids_past, &vocab, &emb_out, &error));
  INVALID (sinopia_op_embedding (rec, &ids, &ids, &emb_out, &error));
  INVALID (sinopia_op_embedding (rec, &ids, &vocab, &xt, &error));
  INVALID (sinopia_op_embedding (rec, &ids, NULL, &emb_out, &error));

  INVALID (sinopia_op_gated_gelu (NULL, &x, &x, &y, &error));
  INVALID (sinopia_op_gated_gelu (rec, &x, &xt, &y, &error));
  INVALID (sinopia_op_gated_gelu (rec, &x, &x, &xt, &error));
  INVALID (sinopia_op_gated_gelu (rec, &x, &none, &y, &error));
  INVALID (sinopia_op_gated_gelu (rec, &x, &x, &ids, &error));

  INVALID (sinopia_op_transpose (NULL, &x, &xt, &error));
  INVALID (sinopia_op_transpose (rec, &x, &y, &error));
  INVALID (sinopia_op_transpose (rec, &x, &overlap, &error));
  INVALID (sinopia_op_transpose (rec, &x, NULL, &error));

  /* invalid arguments record nothing, so the submit itself still succeeds */
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 0);
  sinopia_test_submit (rec);
  sinopia_buffer_free (buf);
  sinopia_buffer_free (bids);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/tokens/rope/random", test_rope_random);
  g_test_add_func ("/ops/tokens/rope/flux-table", test_rope_flux_table);
  g_test_add_func ("/ops/tokens/rope/table-values", test_rope_table_values);
  g_test_add_func ("/ops/tokens/embedding", test_embedding);
  g_test_add_func ("/ops/tokens/gated-gelu", test_gated_gelu);
  g_test_add_func ("/ops/tokens/transpose", test_transpose);
  g_test_add_func ("/ops/tokens/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
