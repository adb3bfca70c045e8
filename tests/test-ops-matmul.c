/* Matmul (x·wᵀ + bias, activation, accumulate) against the CPU reference, on every variant. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>

#include "sinopia-test-vk.h"

/* Tolerance, per element: 1e-5 · (Σ_k |x||w| + |bias| + |y before|) + 1e-6.
 * The shader accumulates in f32 with FMAs in a different order than the double reference;
 * the rounding error of such a sum is about √K·2^-24 of Σ|x||w| (K·2^-24 at worst), which
 * for K ≤ 260 stays far below 1e-5 of it. Weights are rounded to f16/bf16 on upload and the
 * reference widens the same rounded values, so every dtype gets the same tolerance. The
 * activations change an error by at most 1.13× and add a few ulp of their own. A wrong or
 * missing term costs about Σ|x||w|/K, hundreds of times the tolerance. */
#define TOL_SCALE 1e-5
#define TOL_ABS 1e-6

static const char *const variants[] = { "texel", "scalar", "tiled" };
static const SinopiaDType dtypes[] = { SINOPIA_DTYPE_F32, SINOPIA_DTYPE_F16, SINOPIA_DTYPE_BF16 };

typedef struct {
  uint32_t M, K, N;
} Shape;

/* Includes M, N below the register blocks and tiles, K not a multiple of 4 or 8 (im2col-like 3
 * and 27; these take the scalar reads even under "texel"), and several tiles with ragged
 * edges along every axis (33×136×70 on the vector path). */
static const Shape shapes[] = {
  { 1, 4, 1 }, { 1, 64, 3 }, { 5, 12, 7 }, { 4, 3, 5 }, { 9, 27, 20 },
  { 17, 36, 33 }, { 64, 64, 64 }, { 33, 136, 70 }, { 70, 260, 130 },
};

/* Padding around the views, in elements: x, w and y are column slices of wider buffers. */
typedef struct {
  uint32_t x_left, x_right, w_left, w_right, y_left, y_right;
} Padding;

static void
set_variant (const char *variant)
{
  if (variant)
    g_setenv ("SINOPIA_MATMUL_VARIANT", variant, TRUE);
  else
    g_unsetenv ("SINOPIA_MATMUL_VARIANT");
}

/* The weights as the device stores them: f32 values, or f16/bf16 bit patterns.
 * (transfer full): g_free. */
static void *
stored_weights (SinopiaDType dtype, const float *w, gsize n)
{
  if (dtype == SINOPIA_DTYPE_F32)
    return g_memdup2 (w, n * sizeof (float));
  uint16_t *bits = g_new (uint16_t, n);
  for (gsize i = 0; i < n; i++)
    bits[i] = dtype == SINOPIA_DTYPE_F16 ? sinopia_ref_f32_to_f16 (w[i]) : sinopia_ref_f32_to_bf16 (w[i]);
  return bits;
}

static double
stored_weight (SinopiaDType dtype, const void *w, gsize i)
{
  if (dtype == SINOPIA_DTYPE_F16)
    return sinopia_ref_f16_to_f32 (((const uint16_t *) w)[i]);
  if (dtype == SINOPIA_DTYPE_BF16)
    return sinopia_ref_bf16_to_f32 (((const uint16_t *) w)[i]);
  return ((const float *) w)[i];
}

/* Copies a dense rows×cols matrix into a wider one (row stride `stride`, starting at column `col`). */
static void
embed (float *wide, uint32_t stride, uint32_t col, const float *dense, uint32_t rows, uint32_t cols)
{
  for (uint32_t r = 0; r < rows; r++)
    memcpy (wide + (size_t) r * stride + col, dense + (size_t) r * cols, cols * sizeof (float));
}

/* Runs all 16 combinations of activation × bias × accumulate, and the gated residual with and
 * without bias (combinations 16 and 17), for one variant, weight dtype, shape and view layout,
 * in one submission, and checks every element of every output buffer: the view against the
 * reference, the padding around it unchanged. */
static void
check_matmul (const char *variant, SinopiaDType dtype, Shape s, Padding pad)
{
  g_autoptr (GError) error = NULL;
  uint32_t M = s.M, K = s.K, N = s.N;
  uint32_t xs = pad.x_left + K + pad.x_right, ws = pad.w_left + K + pad.w_right;
  uint32_t ys = pad.y_left + N + pad.y_right;
  guint32 seed = M * 7919u + K * 131u + N + dtype * 100003u;
  g_autofree float *x = sinopia_test_random (seed, (gsize) M * K, -1, 1);
  g_autofree float *w = sinopia_test_random (seed + 1, (gsize) N * K, -1, 1);
  g_autofree float *bias = sinopia_test_random (seed + 2, N, -1, 1);
  g_autofree float *gate = sinopia_test_random (seed + 6, N, -1.5f, 1.5f);
  g_autofree float *x_wide = sinopia_test_random (seed + 3, (gsize) M * xs, -1, 1);
  g_autofree float *w_wide = sinopia_test_random (seed + 4, (gsize) N * ws, -1, 1);
  g_autofree float *y_init = sinopia_test_random (seed + 5, (gsize) M * ys, -2, 2);
  g_autofree float *y_dense = g_new (float, (gsize) M * N);
  g_autofree double *scale = g_new0 (double, (gsize) M * N);

  embed (x_wide, xs, pad.x_left, x, M, K);
  embed (w_wide, ws, pad.w_left, w, N, K);
  g_autofree void *w_stored = stored_weights (dtype, w, (gsize) N * K);
  for (uint32_t m = 0; m < M; m++)
    for (uint32_t n = 0; n < N; n++) {
      y_dense[(size_t) m * N + n] = y_init[(size_t) m * ys + pad.y_left + n];
      for (uint32_t k = 0; k < K; k++)
        scale[(size_t) m * N + n] += fabs (x[(size_t) m * K + k] * stored_weight (dtype, w_stored, (gsize) n * K + k));
    }

  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x_wide, (gsize) M * xs);
  SinopiaBuffer *bw = sinopia_test_buffer (dtype, w_wide, (gsize) N * ws);
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, bias, N);
  SinopiaTensor tx = sinopia_tensor_columns (sinopia_tensor (bx, 0, M, xs), pad.x_left, K);
  SinopiaTensor tw = sinopia_tensor_columns (sinopia_tensor (bw, 0, N, ws), pad.w_left, K);
  SinopiaTensor tb = sinopia_tensor (bb, 0, 1, N);
  SinopiaBuffer *bg = sinopia_test_buffer (SINOPIA_DTYPE_F32, gate, N);
  SinopiaTensor tg = sinopia_tensor (bg, 0, 1, N);
  SinopiaBuffer *by[18];

  set_variant (variant);
  SinopiaRecorder *rec = sinopia_test_begin ();
  for (guint c = 0; c < 18; c++) {
    by[c] = sinopia_test_buffer (SINOPIA_DTYPE_F32, y_init, (gsize) M * ys);
    SinopiaTensor ty = sinopia_tensor_columns (sinopia_tensor (by[c], 0, M, ys), pad.y_left, N);
    if (c < 16)
      sinopia_op_matmul (rec, &tx, &tw, c & 4 ? &tb : NULL, c & 3, (c & 8) != 0, &ty, &error);
    else
      sinopia_op_matmul_gated (rec, &tx, &tw, c & 1 ? &tb : NULL, &tg, &ty, &error);
    g_assert_no_error (error);
  }
  sinopia_test_submit (rec);
  set_variant (NULL);

  g_autofree float *want = g_new (float, (gsize) M * N);
  for (guint c = 0; c < 18; c++) {
    gboolean gated = c >= 16;
    gboolean has_bias = gated ? (c & 1) != 0 : (c & 4) != 0, accumulate = gated || (c & 8) != 0;
    SinopiaActivation act = gated ? SINOPIA_ACT_NONE : c & 3;
    g_autofree char *what = g_strdup_printf ("%s %s M=%u K=%u N=%u act=%d bias=%d accumulate=%d gated=%d", variant,
                                             sinopia_dtype_name (dtype), M, K, N, act, has_bias, accumulate, gated);
    if (gated) {
      /* y + gate ⊙ (x·wᵀ + b), from the plain reference */
      sinopia_ref_matmul (x, w_stored, dtype, has_bias ? bias : NULL, act, FALSE, M, K, N, want);
      for (uint32_t m = 0; m < M; m++)
        for (uint32_t n = 0; n < N; n++)
          want[(size_t) m * N + n] = y_dense[(size_t) m * N + n] + gate[n] * want[(size_t) m * N + n];
    } else {
      memcpy (want, y_dense, (gsize) M * N * sizeof (float));
      sinopia_ref_matmul (x, w_stored, dtype, has_bias ? bias : NULL, act, accumulate, M, K, N, want);
    }
    g_autofree float *got = sinopia_test_read (by[c], (gsize) M * ys);
    double max_err = 0;
    for (uint32_t m = 0; m < M; m++)
      for (uint32_t col = 0; col < ys; col++) {
        size_t i = (size_t) m * ys + col;
        if (col < pad.y_left || col >= pad.y_left + N) {
          if (got[i] != y_init[i])
            g_error ("%s: padding element (%u, %u) changed from %g to %g", what, m, col, y_init[i], got[i]);
          continue;
        }
        size_t j = (size_t) m * N + col - pad.y_left;
        double g = gated ? fabs (gate[col - pad.y_left]) : 1.0;
        double tol = TOL_SCALE * (g * (scale[j] + (has_bias ? fabs (bias[col - pad.y_left]) : 0)) +
                                  (accumulate ? fabs (y_dense[j]) : 0)) + TOL_ABS;
        double err = fabs ((double) got[i] - want[j]);
        if (!isfinite (got[i]) || err > tol)
          g_error ("%s: y[%u, %u] is %.9g, expected %.9g (tolerance %.3g)", what, m, col - pad.y_left, got[i],
                   want[j], tol);
        max_err = MAX (max_err, err);
      }
    g_test_message ("%s: max abs error %.3g", what, max_err);
    sinopia_buffer_free (by[c]);
  }
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bw);
  sinopia_buffer_free (bb);
  sinopia_buffer_free (bg);
}

static void
test_shapes (gconstpointer data)
{
  const char *variant = data;
  Padding dense = { 0 };
  for (guint d = 0; d < G_N_ELEMENTS (dtypes); d++)
    for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
      check_matmul (variant, dtypes[d], shapes[s], dense);
}

/* Column slices: aligned to 8 elements (the vector paths still apply), and misaligned
 * (the texel variant must fall back to scalar reads). y is written into the middle of rows. */
static void
test_strided (gconstpointer data)
{
  const char *variant = data;
  static const Padding pads[] = {
    { 8, 8, 8, 16, 3, 2 },
    { 1, 2, 0, 0, 0, 5 },
    { 0, 0, 3, 1, 7, 0 },
  };
  static const Shape strided_shapes[] = { { 1, 16, 5 }, { 10, 64, 20 }, { 17, 36, 33 } };
  for (guint d = 0; d < G_N_ELEMENTS (dtypes); d++)
    for (guint p = 0; p < G_N_ELEMENTS (pads); p++)
      for (guint s = 0; s < G_N_ELEMENTS (strided_shapes); s++)
        check_matmul (variant, dtypes[d], strided_shapes[s], pads[p]);
}

/* Two streams in one call: rows before the split take weight/bias/gate A, the rest B, all A/B
 * pairs stacked in one buffer each, as FLUX's double blocks load them. Every split row is
 * checked against the reference of its own stream, plain (GELU, bias) and gated; `dispatches`
 * says how many the call must record (1 when one dispatch can take both streams). */
static void
check_split (const char *variant, SinopiaDType dtype, uint32_t M, uint32_t K, uint32_t N, uint32_t split_row,
             guint dispatches)
{
  g_autoptr (GError) error = NULL;
  guint32 seed = M * 31u + split_row * 7u + dtype;
  g_autofree float *x = sinopia_test_random (seed, (gsize) M * K, -1, 1);
  g_autofree float *w = sinopia_test_random (seed + 1, (gsize) 2 * N * K, -1, 1);
  g_autofree float *bias = sinopia_test_random (seed + 2, 2 * N, -1, 1);
  g_autofree float *gate = sinopia_test_random (seed + 3, 3 * N, -1.5f, 1.5f);
  g_autofree float *y_init = sinopia_test_random (seed + 4, (gsize) M * N, -2, 2);
  g_autofree void *w_stored = stored_weights (dtype, w, (gsize) 2 * N * K);
  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, (gsize) M * K);
  SinopiaBuffer *bw = sinopia_test_buffer (dtype, w, (gsize) 2 * N * K);
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, bias, 2 * N);
  SinopiaBuffer *bg = sinopia_test_buffer (SINOPIA_DTYPE_F32, gate, 3 * N);
  SinopiaBuffer *by[2] = { sinopia_test_buffer (SINOPIA_DTYPE_F32, y_init, (gsize) M * N),
                           sinopia_test_buffer (SINOPIA_DTYPE_F32, y_init, (gsize) M * N) };
  SinopiaTensor tx = sinopia_tensor (bx, 0, M, K);
  SinopiaTensor wa = sinopia_tensor (bw, 0, N, K), wb = sinopia_tensor (bw, (uint64_t) N * K, N, K);
  SinopiaTensor ba = sinopia_tensor (bb, 0, 1, N), bb_ = sinopia_tensor (bb, N, 1, N);
  /* the gates sit apart in their buffer, as two streams' columns of a modulation row do */
  SinopiaTensor ga = sinopia_tensor (bg, 0, 1, N), gb = sinopia_tensor (bg, 2 * N, 1, N);
  SinopiaStreamSplit plain = { .row = split_row, .w = &wb, .bias = &bb_ };
  SinopiaStreamSplit gated = { .row = split_row, .w = &wb, .bias = &bb_, .gate = &gb };
  SinopiaTensor ty0 = sinopia_tensor (by[0], 0, M, N), ty1 = sinopia_tensor (by[1], 0, M, N);

  set_variant (variant);
  SinopiaRecorder *rec = sinopia_test_begin ();
  g_assert_true (sinopia_op_matmul_split (rec, &tx, &wa, &ba, SINOPIA_ACT_GELU_TANH, &plain, &ty0, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, dispatches);
  g_assert_true (sinopia_op_matmul_gated_split (rec, &tx, &wa, &ba, &ga, &gated, &ty1, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 2 * dispatches);
  sinopia_test_submit (rec);
  set_variant (NULL);

  g_autofree float *want = g_new (float, (gsize) M * N);
  for (guint c = 0; c < 2; c++) {
    g_autofree float *got = sinopia_test_read (by[c], (gsize) M * N);
    for (uint32_t m = 0; m < M; m++) {
      guint st = m >= split_row;
      const uint8_t *ws = (const uint8_t *) w_stored + (gsize) st * N * K * sinopia_dtype_size (dtype);
      const float *g = gate + 2 * st * N, *b = bias + st * N;
      sinopia_ref_matmul (x + (gsize) m * K, ws, dtype, b, c ? SINOPIA_ACT_NONE : SINOPIA_ACT_GELU_TANH, FALSE, 1,
                          K, N, want);
      for (uint32_t n = 0; n < N; n++) {
        double sum = fabs (b[n]);
        for (uint32_t k = 0; k < K; k++)
          sum += fabs (x[(gsize) m * K + k] * stored_weight (dtype, w_stored, ((gsize) st * N + n) * K + k));
        float y0 = y_init[(gsize) m * N + n];
        double expect = c ? y0 + g[n] * want[n] : want[n];
        double tol = TOL_SCALE * (c ? fabs (g[n]) * sum + fabs (y0) : sum) + TOL_ABS;
        float v = got[(gsize) m * N + n];
        if (!isfinite (v) || fabs (v - expect) > tol)
          g_error ("%s %s split at %u of %u, %s: y[%u, %u] is %.9g, expected %.9g (stream %u)", variant,
                   sinopia_dtype_name (dtype), split_row, M, c ? "gated" : "plain", m, n, v, expect, st);
      }
    }
    sinopia_buffer_free (by[c]);
  }
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bw);
  sinopia_buffer_free (bb);
  sinopia_buffer_free (bg);
}

static void
test_split (gconstpointer data)
{
  const char *variant = data;
  gboolean texel = g_str_equal (variant, "texel"), tiled = g_str_equal (variant, "tiled");
  for (guint d = 0; d < G_N_ELEMENTS (dtypes); d++) {
    /* texel blocks are 8 rows, scalar ones 4; the tiled kernel always takes two dispatches */
    check_split (variant, dtypes[d], 40, 64, 70, 16, tiled ? 2 : 1);
    check_split (variant, dtypes[d], 40, 64, 70, 12, texel || tiled ? 2 : 1);
    check_split (variant, dtypes[d], 21, 16, 9, 5, 2);
    check_split (variant, dtypes[d], 21, 16, 9, 0, 1);
    check_split (variant, dtypes[d], 21, 16, 9, 21, 1);
    check_split (variant, dtypes[d], 9, 12, 5, 4, tiled ? 2 : 1);
  }
}

/* Which shader runs, seen through the profiler's per-dispatch names. */
static const char *
shader_for (const char *variant, SinopiaDType dtype, Shape s, uint32_t x_offset)
{
  g_autoptr (GError) error = NULL;
  gsize nx = (gsize) s.M * s.K + x_offset, nw = (gsize) s.N * s.K;
  g_autofree float *zeros = g_new0 (float, MAX (nx, nw));
  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, zeros, nx);
  SinopiaBuffer *bw = sinopia_test_buffer (dtype, zeros, nw);
  SinopiaBuffer *by = sinopia_test_output ((gsize) s.M * s.N);
  SinopiaTensor tx = sinopia_tensor (bx, x_offset, s.M, s.K), tw = sinopia_tensor (bw, 0, s.N, s.K);
  SinopiaTensor ty = sinopia_tensor (by, 0, s.M, s.N);
  SinopiaRecorder *rec = sinopia_recorder_new (sinopia_test_context (), &error);
  g_assert_no_error (error);
  sinopia_recorder_begin (rec, TRUE, &error);
  g_assert_no_error (error);
  set_variant (variant);
  sinopia_op_matmul (rec, &tx, &tw, NULL, SINOPIA_ACT_NONE, FALSE, &ty, &error);
  set_variant (NULL);
  g_assert_no_error (error);
  sinopia_recorder_submit (rec, &error);
  g_assert_no_error (error);
  guint n = 0;
  const SinopiaProfileEntry *prof = sinopia_recorder_profile (rec, &n);
  const char *shader = n == 1 ? prof[0].op : NULL;
  sinopia_recorder_free (rec);
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bw);
  sinopia_buffer_free (by);
  return shader;
}

static void
test_variant_choice (void)
{
  if (!sinopia_vk_context_device_info (sinopia_test_context ())->timestamps) {
    g_test_skip ("the device has no timestamps, so the profiler cannot name the shaders");
    return;
  }
  Shape s = { 3, 16, 5 }, odd_k = { 3, 12, 5 };
  gboolean cpu = g_str_equal (sinopia_vk_context_device_info (sinopia_test_context ())->type, "cpu");
  g_assert_cmpstr (shader_for (NULL, SINOPIA_DTYPE_F32, s, 0), ==, cpu ? "matmul_f32" : "matmul_tiled_f32");
  g_assert_cmpstr (shader_for ("texel", SINOPIA_DTYPE_F16, s, 0), ==, "matmul_f16");
  g_assert_cmpstr (shader_for ("texel", SINOPIA_DTYPE_BF16, s, 0), ==, "matmul_bf16");
  /* the vector loop takes 8 elements of K per step, so K = 12 falls back to scalar reads;
   * so does an x offset of 2 */
  g_assert_cmpstr (shader_for ("texel", SINOPIA_DTYPE_BF16, odd_k, 0), ==, "matmul_scalar_bf16");
  g_assert_cmpstr (shader_for ("texel", SINOPIA_DTYPE_F32, odd_k, 0), ==, "matmul_scalar_f32");
  g_assert_cmpstr (shader_for ("texel", SINOPIA_DTYPE_F32, s, 2), ==, "matmul_scalar_f32");
  g_assert_cmpstr (shader_for ("SCALAR", SINOPIA_DTYPE_F16, s, 0), ==, "matmul_scalar_f16");
  g_assert_cmpstr (shader_for ("tiled", SINOPIA_DTYPE_BF16, s, 0), ==, "matmul_tiled_bf16");
}

static void
expect_invalid (gboolean ok, GError **error)
{
  g_assert_false (ok);
  g_assert_error (*error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (error);
}

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  float v[64] = { 0 };
  SinopiaBuffer *f32 = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 64);
  SinopiaBuffer *f16 = sinopia_test_buffer (SINOPIA_DTYPE_F16, v, 64);
  SinopiaBuffer *u32 = sinopia_test_buffer (SINOPIA_DTYPE_U32, v, 64);
  SinopiaTensor x = sinopia_tensor (f32, 0, 2, 8), w = sinopia_tensor (f16, 0, 3, 8);
  SinopiaTensor y = sinopia_tensor (f32, 16, 2, 3), bias = sinopia_tensor (f32, 40, 1, 3);
  SinopiaTensor w_k = sinopia_tensor (f16, 0, 3, 7), y_wide = sinopia_tensor (f32, 16, 2, 4);
  SinopiaTensor x_f16 = sinopia_tensor (f16, 0, 2, 8), w_u32 = sinopia_tensor (u32, 0, 3, 8);
  SinopiaTensor none = sinopia_tensor (NULL, 0, 2, 8), bias_long = sinopia_tensor (f32, 40, 1, 4);
  SinopiaTensor past = sinopia_tensor (f32, 60 + SINOPIA_TEST_GUARD, 2, 8);
  SinopiaRecorder *rec = sinopia_test_begin ();

  expect_invalid (sinopia_op_matmul (rec, &x, &w_k, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x_f16, &w, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x, &w_u32, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &none, &w, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, NULL, &w, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x, NULL, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x, &w, NULL, SINOPIA_ACT_NONE, FALSE, NULL, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x, &w, NULL, SINOPIA_ACT_NONE, FALSE, &y_wide, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x, &w, &bias_long, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &past, &w, NULL, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (rec, &x, &w, &bias, (SinopiaActivation) 9, FALSE, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_gated (rec, &x, &w, &bias, NULL, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_gated (rec, &x, &w, &bias, &bias_long, &y, &error), &error);
  expect_invalid (sinopia_op_matmul (NULL, &x, &w, &bias, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  SinopiaStreamSplit past_rows = { .row = 3, .w = &w }, other_k = { .row = 1, .w = &w_k };
  SinopiaStreamSplit no_bias = { .row = 1, .w = &w }, no_weight = { .row = 1 };
  expect_invalid (sinopia_op_matmul_split (rec, &x, &w, NULL, SINOPIA_ACT_NONE, &past_rows, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_split (rec, &x, &w, NULL, SINOPIA_ACT_NONE, &other_k, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_split (rec, &x, &w, &bias, SINOPIA_ACT_NONE, &no_bias, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_split (rec, &x, &w, NULL, SINOPIA_ACT_NONE, &no_weight, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_split (rec, &x, &w, NULL, SINOPIA_ACT_NONE, NULL, &y, &error), &error);
  expect_invalid (sinopia_op_matmul_gated_split (rec, &x, &w, NULL, NULL, &no_bias, &y, &error), &error);
  set_variant ("fastest");
  expect_invalid (sinopia_op_matmul (rec, &x, &w, &bias, SINOPIA_ACT_NONE, FALSE, &y, &error), &error);
  set_variant (NULL);
  /* invalid arguments record nothing, so the submit itself still succeeds */
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 0);
  sinopia_test_submit (rec);
  sinopia_buffer_free (f32);
  sinopia_buffer_free (f16);
  sinopia_buffer_free (u32);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    g_autofree char *shapes_path = g_strdup_printf ("/ops/matmul/%s/shapes", variants[v]);
    g_autofree char *strided_path = g_strdup_printf ("/ops/matmul/%s/strided", variants[v]);
    g_test_add_data_func (shapes_path, variants[v], test_shapes);
    g_test_add_data_func (strided_path, variants[v], test_strided);
    g_autofree char *split_path = g_strdup_printf ("/ops/matmul/%s/split", variants[v]);
    g_test_add_data_func (split_path, variants[v], test_split);
  }
  g_test_add_func ("/ops/matmul/variant-choice", test_variant_choice);
  g_test_add_func ("/ops/matmul/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
