/* LayerNorm (affine, AdaLN modulation) and grouped RMSNorm against the CPU reference. */
#define G_LOG_DOMAIN "sinopia-test"

#include "sinopia-test-views.h"

static const uint32_t test_rows[] = { 1, 7, 64, 300 };
static const uint32_t test_cols[] = { 1, 3, 64, 100, 3072 };

/* Tolerances. The reference computes the statistics in double; the shader sums in float
 * (shifted, corrected two-pass, four partial sums), which leaves the mean and 1/std within a
 * few 1e-7 relative even for 3072-wide rows. Normalised values are O(1) and the affine and
 * modulation terms multiply them by at most ~4, so 1e-5 absolute plus 1e-5 relative bounds
 * the error with a wide margin while still catching any wrong statistic (a one-pass variance
 * on the large-magnitude rows below is wrong by more than 100 %). */
#define LN_ATOL 1e-5
#define LN_RTOL 1e-5
/* RMSNorm: y = x·w/rms with the sum of squares in float; only the relative error of rms
 * (≲ 1e-6 for 3072 columns) matters, so a relative bound with a small absolute floor. */
#define RMS_ATOL 1e-6
#define RMS_RTOL 1e-5

/* Rows of values around per-row offsets in [-5, 5] with spread `spread`. */
static float *
random_rows (guint32 seed, uint32_t rows, uint32_t cols, float spread)
{
  float *x = sinopia_test_random (seed, (gsize) rows * cols, -spread, spread);
  g_autofree float *offsets = sinopia_test_random (seed + 1000, rows, -5.0f, 5.0f);
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++)
      x[(gsize) r * cols + c] += offsets[r];
  return x;
}

typedef struct {
  const char *name;
  gboolean affine, modulate;
  float eps;
} LnConfig;

static const LnConfig ln_configs[] = {
  { "plain", FALSE, FALSE, 1e-5f },
  { "clip-affine", TRUE, FALSE, 1e-5f },
  { "flux-adaln", FALSE, TRUE, 1e-6f },
  { "affine+adaln", TRUE, TRUE, 1e-6f },
};

/* Every config on one shape, in one recording. x and y are strided column slices; shift and
 * scale are chunks of one modulation vector [1, 6·cols], as FLUX's Modulation gives them.
 * `aligned` (cols a multiple of 4) puts every view on 4-element boundaries, which selects
 * the vec4 shader; otherwise x starts off a boundary and the scalar shader runs. */
static void
check_layer_norm (uint32_t rows, uint32_t cols, const float *x, guint32 seed, gboolean aligned, const char *what)
{
  g_autoptr (GError) error = NULL;
  gsize nx, nmod, nparams, ny[G_N_ELEMENTS (ln_configs)];
  gsize n = (gsize) rows * cols;
  g_autofree float *mod = sinopia_test_random (seed + 1, 6 * (gsize) cols, -1.0f, 1.0f);
  g_autofree float *params = sinopia_test_random (seed + 2, 2 * (gsize) cols, -2.0f, 2.0f);
  SinopiaTensor tx = aligned ? sinopia_test_embed (x, rows, cols, 4, 4, cols + 8, -7.0f, &nx)
                             : sinopia_test_embed (x, rows, cols, 3, 2, cols + 5, -7.0f, &nx);
  SinopiaTensor tmod = sinopia_test_embed (mod, 1, 6 * cols, 0, 0, 6 * cols, 0.0f, &nmod);
  SinopiaTensor tparams = sinopia_test_embed (params, 1, 2 * cols, 0, 0, 2 * cols, 0.0f, &nparams);
  SinopiaTensor shift = sinopia_tensor_columns (tmod, 3 * cols, cols);
  SinopiaTensor scale = sinopia_tensor_columns (tmod, 4 * cols, cols);
  SinopiaTensor weight = sinopia_tensor_columns (tparams, 0, cols);
  SinopiaTensor bias = sinopia_tensor_columns (tparams, cols, cols);
  SinopiaTensor ty[G_N_ELEMENTS (ln_configs)];
  g_autofree float *nan_rows = sinopia_test_nans (n);
  const char *shaders[G_N_ELEMENTS (ln_configs)];

  g_assert_true (!aligned || cols % 4 == 0);
  SinopiaRecorder *rec = sinopia_test_begin_profiled ();
  for (guint k = 0; k < G_N_ELEMENTS (ln_configs); k++) {
    const LnConfig *cfg = &ln_configs[k];
    ty[k] = aligned ? sinopia_test_embed (nan_rows, rows, cols, 4, 0, cols + 4, NAN, &ny[k])
                    : sinopia_test_embed (nan_rows, rows, cols, 1, 1, cols + 3, NAN, &ny[k]);
    shaders[k] = aligned ? "layer_norm_vec4" : "layer_norm";
    sinopia_op_layer_norm (rec, &tx, cfg->affine ? &weight : NULL, cfg->affine ? &bias : NULL,
                           cfg->modulate ? &shift : NULL, cfg->modulate ? &scale : NULL, cfg->eps, &ty[k], &error);
    g_assert_no_error (error);
  }
  sinopia_test_submit_expecting (rec, shaders, G_N_ELEMENTS (ln_configs));

  g_autofree float *want = g_new (float, n);
  for (guint k = 0; k < G_N_ELEMENTS (ln_configs); k++) {
    const LnConfig *cfg = &ln_configs[k];
    g_autofree char *label = g_strdup_printf ("layer_norm %s %s %s %ux%u", shaders[k], what, cfg->name, rows, cols);
    sinopia_ref_layer_norm (x, rows, cols, cfg->affine ? params : NULL, cfg->affine ? params + cols : NULL,
                            cfg->modulate ? mod + 3 * cols : NULL, cfg->modulate ? mod + 4 * cols : NULL,
                            cfg->eps, want);
    g_autofree float *got = sinopia_test_extract (&ty[k], ny[k], NAN);
    sinopia_test_assert_close (got, want, n, LN_ATOL, LN_RTOL, label);
    sinopia_buffer_free (ty[k].buffer);
  }
  g_autofree float *x_after = sinopia_test_extract (&tx, nx, -7.0f);
  sinopia_test_assert_close (x_after, x, n, 0, 0, "layer_norm input untouched");
  sinopia_buffer_free (tx.buffer);
  sinopia_buffer_free (tmod.buffer);
  sinopia_buffer_free (tparams.buffer);
}

static void
test_layer_norm_shapes (void)
{
  for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
    for (guint c = 0; c < G_N_ELEMENTS (test_cols); c++) {
      guint32 seed = 100 + 10 * r + c;
      g_autofree float *x = random_rows (seed, test_rows[r], test_cols[c], 2.0f);
      check_layer_norm (test_rows[r], test_cols[c], x, seed, FALSE, "random");
      if (test_cols[c] % 4 == 0)
        check_layer_norm (test_rows[r], test_cols[c], x, seed, TRUE, "random");
    }
}

/* A residual stream far from zero with a tiny spread: E[x²]−E[x]² in float would cancel
 * every significant digit here (x² ≈ 1e6 has an ulp of 0.06; the variance is 3e-5). */
static void
test_layer_norm_large_magnitude (void)
{
  static const float centres[] = { 1000.0f, -1000.0f, 3.0e4f, 1000.0f, -250.0f, 8000.0f, 1.0e5f };
  static const float spreads[] = { 0.01f, 0.01f, 1.0f, 0.001f, 0.05f, 0.1f, 2.0f };
  static const uint32_t cols[] = { 3, 100, 3072 };
  uint32_t rows = G_N_ELEMENTS (centres);
  for (guint c = 0; c < G_N_ELEMENTS (cols); c++) {
    g_autofree float *x = sinopia_test_random (200 + c, (gsize) rows * cols[c], -1.0f, 1.0f);
    for (uint32_t r = 0; r < rows; r++)
      for (uint32_t k = 0; k < cols[c]; k++)
        x[(gsize) r * cols[c] + k] = centres[r] + spreads[r] * x[(gsize) r * cols[c] + k];
    check_layer_norm (rows, cols[c], x, 200 + c, FALSE, "large-magnitude");
    if (cols[c] % 4 == 0)
      check_layer_norm (rows, cols[c], x, 200 + c, TRUE, "large-magnitude");
  }
}

/* FLUX's two streams in one call: rows before `split_row` take the first (shift, scale),
 * the rest the second, both chunks of one modulation row [1, 12·cols] as the double blocks'
 * text and image modulations are. `dispatches`: how many the call must record. */
static void
check_layer_norm_split (uint32_t rows, uint32_t cols, uint32_t split_row, gboolean aligned, guint dispatches)
{
  g_autoptr (GError) error = NULL;
  gsize nx, nmod, ny, n = (gsize) rows * cols;
  guint32 seed = rows * 17u + cols + split_row;
  g_autofree float *x = random_rows (seed, rows, cols, 3.0f);
  g_autofree float *mod = sinopia_test_random (seed + 1, 12 * (gsize) cols, -1.0f, 1.0f);
  g_autofree float *nan_rows = sinopia_test_nans (n);
  SinopiaTensor tx = aligned ? sinopia_test_embed (x, rows, cols, 4, 4, cols + 8, -7.0f, &nx)
                             : sinopia_test_embed (x, rows, cols, 3, 2, cols + 5, -7.0f, &nx);
  SinopiaTensor ty = aligned ? sinopia_test_embed (nan_rows, rows, cols, 4, 0, cols + 4, NAN, &ny)
                             : sinopia_test_embed (nan_rows, rows, cols, 1, 1, cols + 3, NAN, &ny);
  SinopiaTensor tmod = sinopia_test_embed (mod, 1, 12 * cols, 0, 0, 12 * cols, 0.0f, &nmod);
  SinopiaTensor shift = sinopia_tensor_columns (tmod, 0, cols), scale = sinopia_tensor_columns (tmod, cols, cols);
  SinopiaTensor shift_b = sinopia_tensor_columns (tmod, 6 * cols, cols);
  SinopiaTensor scale_b = sinopia_tensor_columns (tmod, 7 * cols, cols);
  SinopiaStreamSplit split = { .row = split_row, .shift = &shift_b, .scale = &scale_b };

  SinopiaRecorder *rec = sinopia_test_begin ();
  g_assert_true (sinopia_op_layer_norm_split (rec, &tx, &shift, &scale, &split, 1e-6f, &ty, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, dispatches);
  sinopia_test_submit (rec);

  g_autofree float *want = g_new (float, n);
  sinopia_ref_layer_norm (x, split_row, cols, NULL, NULL, mod, mod + cols, 1e-6f, want);
  sinopia_ref_layer_norm (x + (gsize) split_row * cols, rows - split_row, cols, NULL, NULL, mod + 6 * cols,
                          mod + 7 * cols, 1e-6f, want + (gsize) split_row * cols);
  g_autofree char *label = g_strdup_printf ("layer_norm_split %ux%u at row %u%s", rows, cols, split_row,
                                            aligned ? " (vec4)" : "");
  g_autofree float *got = sinopia_test_extract (&ty, ny, NAN);
  sinopia_test_assert_close (got, want, n, LN_ATOL, LN_RTOL, label);
  sinopia_buffer_free (tx.buffer);
  sinopia_buffer_free (ty.buffer);
  sinopia_buffer_free (tmod.buffer);
}

static void
test_layer_norm_split (void)
{
  check_layer_norm_split (96, 64, 32, TRUE, 1);
  check_layer_norm_split (7, 100, 3, FALSE, 1);
  check_layer_norm_split (7, 100, 0, TRUE, 1);
  check_layer_norm_split (7, 100, 7, FALSE, 1);
  /* modulations in different buffers take one dispatch each */
  g_autoptr (GError) error = NULL;
  float v[16] = { 0 };
  SinopiaBuffer *a = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 16), *b = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 16);
  SinopiaBuffer *c = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 16);
  SinopiaTensor x = sinopia_tensor (a, 0, 2, 4), y = sinopia_tensor (a, 8, 2, 4), m = sinopia_tensor (b, 0, 1, 4);
  SinopiaTensor m2 = sinopia_tensor (c, 8, 1, 4), wide = sinopia_tensor (b, 0, 1, 8);
  SinopiaStreamSplit other = { .row = 1, .shift = &m2, .scale = &m2 }, bad = { .row = 1, .shift = &wide, .scale = &m };
  SinopiaStreamSplit past = { .row = 3, .shift = &m, .scale = &m }, half = { .row = 1, .shift = &m };
  SinopiaRecorder *rec = sinopia_test_begin ();
  g_assert_true (sinopia_op_layer_norm_split (rec, &x, &m, &m, &other, 1e-6f, &y, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 2);
  g_assert_false (sinopia_op_layer_norm_split (rec, &x, &m, &m, &bad, 1e-6f, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_layer_norm_split (rec, &x, &m, &m, &past, 1e-6f, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_layer_norm_split (rec, &x, &m, &m, &half, 1e-6f, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_layer_norm_split (rec, &x, &m, &m, NULL, 1e-6f, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  sinopia_test_submit (rec);
  sinopia_buffer_free (a);
  sinopia_buffer_free (b);
  sinopia_buffer_free (c);
}

/* T5-style (group = cols) into a separate strided output; `aligned` as for check_layer_norm. */
static void
check_rms_norm_rows (uint32_t rows, uint32_t cols, const float *x, guint32 seed, gboolean aligned, const char *what)
{
  g_autoptr (GError) error = NULL;
  gsize n = (gsize) rows * cols, nx, ny, nw;
  g_autofree float *w = sinopia_test_random (seed + 1, cols, 0.5f, 1.5f);
  g_autofree float *nan_rows = sinopia_test_nans (n);
  const char *shader = aligned ? "rms_norm_vec4" : "rms_norm";
  SinopiaTensor tx, tw, ty;

  g_assert_true (!aligned || cols % 4 == 0);
  if (aligned) {
    tx = sinopia_test_embed (x, rows, cols, 4, 4, cols + 4, -7.0f, &nx);
    tw = sinopia_test_embed (w, 1, cols, 4, 0, cols, 0.0f, &nw);
    ty = sinopia_test_embed (nan_rows, rows, cols, 0, 0, cols + 8, NAN, &ny);
  } else {
    tx = sinopia_test_embed (x, rows, cols, 5, 1, cols + 2, -7.0f, &nx);
    tw = sinopia_test_embed (w, 1, cols, 2, 0, cols, 0.0f, &nw);
    ty = sinopia_test_embed (nan_rows, rows, cols, 0, 3, cols + 4, NAN, &ny);
  }

  SinopiaRecorder *rec = sinopia_test_begin_profiled ();
  sinopia_op_rms_norm (rec, &tx, &tw, cols, 1e-6f, &ty, &error);
  g_assert_no_error (error);
  sinopia_test_submit_expecting (rec, &shader, 1);

  g_autofree float *want = g_new (float, n);
  sinopia_ref_rms_norm (x, rows, cols, w, cols, 1e-6f, want);
  g_autofree float *got = sinopia_test_extract (&ty, ny, NAN);
  g_autofree char *label = g_strdup_printf ("%s %s %ux%u", shader, what, rows, cols);
  sinopia_test_assert_close (got, want, n, RMS_ATOL, RMS_RTOL, label);
  g_autofree float *x_after = sinopia_test_extract (&tx, nx, -7.0f);
  sinopia_test_assert_close (x_after, x, n, 0, 0, "rms_norm input untouched");
  sinopia_buffer_free (tx.buffer);
  sinopia_buffer_free (tw.buffer);
  sinopia_buffer_free (ty.buffer);
}

static void
test_rms_norm_rows (void)
{
  for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
    for (guint c = 0; c < G_N_ELEMENTS (test_cols); c++) {
      guint32 seed = 300 + 10 * r + c;
      g_autofree float *x = random_rows (seed, test_rows[r], test_cols[c], 3.0f);
      check_rms_norm_rows (test_rows[r], test_cols[c], x, seed, FALSE, "random");
      if (test_cols[c] % 4 == 0)
        check_rms_norm_rows (test_rows[r], test_cols[c], x, seed, TRUE, "random");
    }
}

/* Rows around ±1e3 and 3e4 with a spread of 0.01: sum of squares near 3e12, still well
 * inside float range, and only its relative error matters. */
static void
test_rms_norm_large_magnitude (void)
{
  uint32_t rows = 4, cols = 3072;
  gsize n = (gsize) rows * cols;
  g_autofree float *x = sinopia_test_random (500, n, -0.01f, 0.01f);
  for (gsize i = 0; i < n; i++)
    x[i] += (i / cols) % 2 ? -1000.0f : 3.0e4f;
  check_rms_norm_rows (rows, cols, x, 500, FALSE, "large-magnitude");
  check_rms_norm_rows (rows, cols, x, 500, TRUE, "large-magnitude");
}

/* QK-norm as FLUX does it: in place on the q and k column slices of a fused qkv buffer,
 * per head, with separate weights; v must stay as it was. */
static void
test_rms_norm_qk_in_place (void)
{
  static const struct { uint32_t heads, head_dim; } layouts[] = { { 1, 1 }, { 3, 16 }, { 4, 25 }, { 24, 128 } };
  for (guint r = 0; r < G_N_ELEMENTS (test_rows); r++)
    for (guint l = 0; l < G_N_ELEMENTS (layouts); l++) {
      g_autoptr (GError) error = NULL;
      uint32_t rows = test_rows[r], hd = layouts[l].head_dim, width = layouts[l].heads * hd;
      if (rows == 300 && width > 1000)
        continue;
      uint32_t cols = 3 * width;
      gsize n = (gsize) rows * cols;
      guint32 seed = 400 + 10 * r + l;
      g_autofree float *qkv = random_rows (seed, rows, cols, 4.0f);
      g_autofree float *wq = sinopia_test_random (seed + 1, hd, 0.5f, 1.5f);
      g_autofree float *wk = sinopia_test_random (seed + 2, hd, -1.5f, 1.5f);
      SinopiaBuffer *bqkv = sinopia_test_buffer (SINOPIA_DTYPE_F32, qkv, n);
      SinopiaBuffer *bwq = sinopia_test_buffer (SINOPIA_DTYPE_F32, wq, hd);
      SinopiaBuffer *bwk = sinopia_test_buffer (SINOPIA_DTYPE_F32, wk, hd);
      SinopiaTensor all = sinopia_tensor (bqkv, 0, rows, cols);
      SinopiaTensor q = sinopia_tensor_columns (all, 0, width), k = sinopia_tensor_columns (all, width, width);
      SinopiaTensor twq = sinopia_tensor (bwq, 0, 1, hd), twk = sinopia_tensor (bwk, 0, 1, hd);

      const char *shader = hd % 4 == 0 ? "rms_norm_vec4" : "rms_norm";
      const char *shaders[] = { shader, shader };
      SinopiaRecorder *rec = sinopia_test_begin_profiled ();
      sinopia_op_rms_norm (rec, &q, &twq, hd, 1e-6f, &q, &error);
      g_assert_no_error (error);
      sinopia_op_rms_norm (rec, &k, &twk, hd, 1e-6f, &k, &error);
      g_assert_no_error (error);
      sinopia_test_submit_expecting (rec, shaders, 2);

      g_autofree float *want = g_memdup2 (qkv, n * sizeof (float));
      for (uint32_t i = 0; i < rows; i++) {
        float *row = want + (gsize) i * cols;
        sinopia_ref_rms_norm (row, 1, width, wq, hd, 1e-6f, row);
        sinopia_ref_rms_norm (row + width, 1, width, wk, hd, 1e-6f, row + width);
      }
      g_autofree float *got = sinopia_test_read (bqkv, n);
      g_autofree char *label = g_strdup_printf ("%s QK in place %ux%u, head_dim %u", shader, rows, width, hd);
      sinopia_test_assert_close (got, want, n, RMS_ATOL, RMS_RTOL, label);
      for (uint32_t i = 0; i < rows; i++)
        for (uint32_t c = 2 * width; c < cols; c++)
          g_assert_cmpfloat (got[(gsize) i * cols + c], ==, qkv[(gsize) i * cols + c]);
      sinopia_buffer_free (bqkv);
      sinopia_buffer_free (bwq);
      sinopia_buffer_free (bwk);
    }
}

#define INVALID SINOPIA_TEST_ASSERT_INVALID

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  float v[64] = { 0 };
  SinopiaBuffer *buf = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 64);
  SinopiaBuffer *half = sinopia_test_buffer (SINOPIA_DTYPE_F16, v, 64);
  SinopiaTensor x = sinopia_tensor (buf, 0, 4, 8), y = sinopia_tensor (buf, 32, 4, 8);
  SinopiaTensor wrong = sinopia_tensor (buf, 32, 8, 4), past = sinopia_tensor (buf, 120, 4, 8);
  SinopiaTensor row = sinopia_tensor (buf, 0, 1, 8), short_row = sinopia_tensor (buf, 0, 1, 7);
  SinopiaTensor two_rows = sinopia_tensor (buf, 0, 2, 8), group_row = sinopia_tensor (buf, 0, 1, 4);
  SinopiaTensor none = sinopia_tensor (NULL, 0, 4, 8), f16 = sinopia_tensor (half, 0, 4, 8);
  SinopiaRecorder *rec = sinopia_test_begin ();

  INVALID (sinopia_op_layer_norm (NULL, &x, NULL, NULL, NULL, NULL, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, NULL, NULL, NULL, NULL, NULL, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &none, NULL, NULL, NULL, NULL, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, NULL, NULL, NULL, 1e-5f, &wrong, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, NULL, NULL, NULL, 1e-5f, &past, &error));
  INVALID (sinopia_op_layer_norm (rec, &f16, NULL, NULL, NULL, NULL, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, &short_row, NULL, NULL, NULL, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, &two_rows, NULL, NULL, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, NULL, &none, &row, 1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, NULL, &row, &short_row, 1e-6f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, NULL, NULL, NULL, -1e-5f, &y, &error));
  INVALID (sinopia_op_layer_norm (rec, &x, NULL, NULL, NULL, NULL, NAN, &y, &error));

  INVALID (sinopia_op_rms_norm (NULL, &x, &group_row, 4, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, &group_row, 0, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, &group_row, 3, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, &group_row, 16, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, NULL, 4, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, &row, 4, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, &group_row, 4, 1e-6f, &wrong, &error));
  INVALID (sinopia_op_rms_norm (rec, &f16, &group_row, 4, 1e-6f, &y, &error));
  INVALID (sinopia_op_rms_norm (rec, &x, &group_row, 4, INFINITY, &y, &error));

  /* invalid arguments record nothing, so the submit itself still succeeds */
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 0);
  sinopia_test_submit (rec);
  sinopia_buffer_free (buf);
  sinopia_buffer_free (half);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/norm/layer-norm/shapes", test_layer_norm_shapes);
  g_test_add_func ("/ops/norm/layer-norm/large-magnitude", test_layer_norm_large_magnitude);
  g_test_add_func ("/ops/norm/layer-norm/split", test_layer_norm_split);
  g_test_add_func ("/ops/norm/rms-norm/rows", test_rms_norm_rows);
  g_test_add_func ("/ops/norm/rms-norm/qk-in-place", test_rms_norm_qk_in_place);
  g_test_add_func ("/ops/norm/rms-norm/large-magnitude", test_rms_norm_large_magnitude);
  g_test_add_func ("/ops/norm/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
