/* group_norm and upsample_nearest2x against the CPU references: AE shapes (32 groups),
 * odd pixel counts, large-magnitude inputs, strided and in-place views, bad arguments. */
#define G_LOG_DOMAIN "sinopia-test"

#include <float.h>
#include <math.h>
#include <string.h>

#include "sinopia-test-vk.h"

/* The largest |x|/σ over the groups: how far f32 rounding of x − mean can move a result,
 * measured in units of the group's standard deviation. */
static double
spread_ratio (const float *x, uint32_t channels, uint32_t pixels, uint32_t groups)
{
  size_t n = (size_t) channels / groups * pixels;
  double worst = 0.0;
  for (uint32_t g = 0; g < groups; g++) {
    double mean = 0.0, var = 0.0, big = 0.0;
    for (size_t i = 0; i < n; i++)
      mean += x[g * n + i];
    mean /= (double) n;
    for (size_t i = 0; i < n; i++) {
      var += (x[g * n + i] - mean) * (x[g * n + i] - mean);
      big = MAX (big, fabs (x[g * n + i]));
    }
    worst = MAX (worst, big / sqrt (var / (double) n + 1e-6));
  }
  return worst;
}

typedef struct {
  uint32_t channels, groups, pixels;
  gboolean silu, affine;
  float lo, hi;                    /* input range */
  uint32_t x_off, x_pad, y_off, y_pad;
  gboolean in_place;
} NormCase;

/* Tolerance: the statistics are f32 sums of at most a few thousand terms (relative error
 * ~1e-6 of σ); the exp in SiLU differs from libm by a few ulp; and x − mean is rounded to
 * f32, which costs up to 2^-24·|x|/σ of a normalised value — dominant for inputs whose mean
 * dwarfs their spread. So atol = 2e-5 + 4·FLT_EPSILON·(|x|/σ)·max|weight|, rtol 1e-5. */
static void
run_norm (const NormCase *c, guint32 seed)
{
  g_autoptr (GError) error = NULL;
  uint32_t ch = c->channels, px = c->pixels;
  uint32_t xs = px + c->x_pad, ys = px + c->y_pad;
  gsize nx = c->x_off + (gsize) ch * xs, ny = c->y_off + (gsize) ch * ys;
  g_autofree float *x = sinopia_test_random (seed, nx, c->lo, c->hi);
  g_autofree float *w = sinopia_test_random (seed + 1, ch, -2, 2);
  g_autofree float *b = sinopia_test_random (seed + 2, ch, -1, 1);
  g_autofree float *y0 = sinopia_test_random (seed + 3, ny, -1, 1);
  g_autofree float *dx = g_new (float, (gsize) ch * px);
  g_autofree float *want = g_new (float, (gsize) ch * px);
  for (uint32_t i = 0; i < ch; i++)
    memcpy (dx + (gsize) i * px, x + c->x_off + (gsize) i * xs, px * sizeof (float));

  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, nx);
  SinopiaBuffer *bw = sinopia_test_buffer (SINOPIA_DTYPE_F32, w, ch);
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, b, ch);
  SinopiaBuffer *by = c->in_place ? NULL : sinopia_test_buffer (SINOPIA_DTYPE_F32, y0, ny);
  SinopiaTensor tx = { bx, c->x_off, ch, px, xs };
  SinopiaTensor ty = c->in_place ? tx : (SinopiaTensor) { by, c->y_off, ch, px, ys };
  SinopiaTensor tw = sinopia_tensor (bw, 0, 1, ch), tb = sinopia_tensor (bb, 0, 1, ch);

  SinopiaRecorder *rec = sinopia_test_begin ();
  sinopia_op_group_norm (rec, &tx, c->groups, c->affine ? &tw : NULL, c->affine ? &tb : NULL, 1e-6f,
                         c->silu, &ty, &error);
  g_assert_no_error (error);
  sinopia_test_submit (rec);

  sinopia_ref_group_norm (dx, ch, px, c->groups, c->affine ? w : NULL, c->affine ? b : NULL, 1e-6f, c->silu,
                          want);
  gsize n_all = c->in_place ? nx : ny;
  g_autofree float *all = sinopia_test_read (c->in_place ? bx : by, n_all);
  g_autofree float *got = g_new (float, (gsize) ch * px);
  g_autofree float *outside = g_memdup2 (c->in_place ? x : y0, n_all * sizeof (float));
  for (uint32_t i = 0; i < ch; i++) {
    gsize at = ty.offset + (gsize) i * ty.stride;
    memcpy (got + (gsize) i * px, all + at, px * sizeof (float));
    memcpy (outside + at, all + at, px * sizeof (float));
  }
  sinopia_test_assert_close (all, outside, n_all, 0, 0, "group_norm: outside the output view");

  double atol = 2e-5 + 4 * FLT_EPSILON * spread_ratio (dx, ch, px, c->groups) * (c->affine ? 2.0 : 1.0);
  g_autofree char *what = g_strdup_printf ("group_norm %u channels / %u groups × %u px, x in [%g, %g)%s%s%s",
                                           ch, c->groups, px, c->lo, c->hi, c->silu ? " silu" : "",
                                           c->affine ? " affine" : "", c->in_place ? " in place" : "");
  sinopia_test_assert_close (got, want, (gsize) ch * px, atol, 1e-5, what);
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bw);
  sinopia_buffer_free (bb);
  if (by)
    sinopia_buffer_free (by);
}

static void
test_group_norm (void)
{
  /* pixel counts: one pixel, odd (scalar path), multiples of 4 (vec4 path), a 32×32 tile */
  static const uint32_t pixels[] = { 1, 5, 104, 64, 1024 };
  guint n = 0;
  for (uint32_t ch = 32; ch <= 64; ch += 32)
    for (guint p = 0; p < G_N_ELEMENTS (pixels); p++)
      for (int silu = 0; silu < 2; silu++) {
        NormCase c = { ch, 32, pixels[p], silu, .affine = TRUE, .lo = -3, .hi = 3 };
        run_norm (&c, 10 + n++);
      }
}

/* Offsets far larger than the spread (the shifted first pass keeps the mean exact enough)
 * and a wide range (large squares), with and without SiLU. */
static void
test_group_norm_large (void)
{
  static const NormCase cases[] = {
    { 32, 32, 256, FALSE, TRUE, 1000.0f, 1001.0f },
    { 64, 32, 100, TRUE, TRUE, -20000.0f, -19990.0f },
    { 64, 32, 64, TRUE, TRUE, -30000.0f, 30000.0f },
    { 32, 32, 13, FALSE, FALSE, 5e5f, 5e5f + 64.0f },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_norm (&cases[i], 50 + i);
}

/* Other group counts, no affine, strided views (aligned and not) and in place. */
static void
test_group_norm_views (void)
{
  static const NormCase cases[] = {
    { 6, 3, 16, TRUE, FALSE, -1, 1 },
    { 8, 1, 12, FALSE, TRUE, -1, 1 },
    { 5, 5, 7, TRUE, TRUE, -1, 1 },
    { 32, 32, 16, TRUE, TRUE, -1, 1, .x_off = 4, .x_pad = 8, .y_off = 8, .y_pad = 4 },
    { 32, 32, 16, FALSE, TRUE, -1, 1, .x_off = 1, .x_pad = 3, .y_off = 2, .y_pad = 1 },
    { 64, 32, 24, TRUE, TRUE, -1, 1, .x_off = 4, .x_pad = 4, .in_place = TRUE },
    { 32, 32, 9, FALSE, TRUE, -1, 1, .in_place = TRUE },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    run_norm (&cases[i], 70 + i);
}

static void
expect_invalid (gboolean ok, GError **error, const char *what)
{
  if (ok || !g_error_matches (*error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT))
    g_error ("%s: expected an invalid-argument error, got %s", what, ok ? "success" : (*error)->message);
  g_test_message ("%s: %s", what, (*error)->message);
  g_clear_error (error);
}

static void
test_group_norm_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *v = sinopia_test_random (90, 2048, -1, 1);
  SinopiaBuffer *buf = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 2048);
  SinopiaTensor x = sinopia_tensor (buf, 0, 32, 16), y = sinopia_tensor (buf, 1024, 32, 16);
  SinopiaTensor w = sinopia_tensor (buf, 600, 1, 32), b = sinopia_tensor (buf, 700, 1, 32);
  SinopiaRecorder *rec = sinopia_test_begin ();

  g_assert_true (sinopia_op_group_norm (rec, &x, 32, &w, &b, 1e-6f, TRUE, &y, &error));
  g_assert_no_error (error);

  SinopiaTensor t = sinopia_tensor (buf, 0, 33, 16), t2 = sinopia_tensor (buf, 1024, 33, 16);
  expect_invalid (sinopia_op_group_norm (rec, &t, 32, NULL, NULL, 1e-6f, FALSE, &t2, &error), &error,
                  "33 channels in 32 groups");
  expect_invalid (sinopia_op_group_norm (rec, &x, 0, &w, &b, 1e-6f, FALSE, &y, &error), &error, "0 groups");
  expect_invalid (sinopia_op_group_norm (rec, &x, 64, &w, &b, 1e-6f, FALSE, &y, &error), &error,
                  "more groups than channels");
  t = sinopia_tensor (buf, 600, 1, 31);
  expect_invalid (sinopia_op_group_norm (rec, &x, 32, &t, &b, 1e-6f, FALSE, &y, &error), &error, "short weight");
  t = sinopia_tensor (buf, 700, 2, 32);
  expect_invalid (sinopia_op_group_norm (rec, &x, 32, &w, &t, 1e-6f, FALSE, &y, &error), &error, "2-row bias");
  t = sinopia_tensor (buf, 1024, 32, 15);
  expect_invalid (sinopia_op_group_norm (rec, &x, 32, &w, &b, 1e-6f, FALSE, &t, &error), &error, "output shape");
  t = sinopia_tensor (buf, 8, 32, 16);
  expect_invalid (sinopia_op_group_norm (rec, &x, 32, &w, &b, 1e-6f, FALSE, &t, &error), &error,
                  "output shifted over the input");
  expect_invalid (sinopia_op_group_norm (rec, &x, 32, &w, &b, -1.0f, FALSE, &y, &error), &error, "negative eps");
  expect_invalid (sinopia_op_group_norm (rec, &x, 32, &w, &b, NAN, FALSE, &y, &error), &error, "NaN eps");
  t = sinopia_tensor (buf, 2000, 32, 16);
  expect_invalid (sinopia_op_group_norm (rec, &t, 32, &w, &b, 1e-6f, FALSE, &y, &error), &error,
                  "input past the buffer");
  expect_invalid (sinopia_op_group_norm (rec, NULL, 32, &w, &b, 1e-6f, FALSE, &y, &error), &error, "no input");
  expect_invalid (sinopia_op_group_norm (NULL, &x, 32, &w, &b, 1e-6f, FALSE, &y, &error), &error, "no recorder");

  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 1);
  sinopia_test_submit (rec);
  sinopia_buffer_free (buf);
}

/* Exact: a copy. Widths divisible by 4 with aligned views take the vec4 shader. */
static void
test_upsample (void)
{
  static const struct { uint32_t channels, height, width, x_off, x_pad, y_off, y_pad; } cases[] = {
    { 1, 1, 1 }, { 3, 2, 5 }, { 16, 13, 8 }, { 4, 5, 13 }, { 35, 8, 8 },
    { 3, 4, 6, 5, 3, 7, 2 },
    /* the vec4 path with strided views, and a width of 4 with views it cannot take */
    { 3, 4, 8, 4, 4, 8, 4 }, { 2, 3, 4, 1, 0, 2, 0 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) error = NULL;
    uint32_t ch = cases[i].channels, h = cases[i].height, wd = cases[i].width, hw = h * wd;
    uint32_t xs = hw + cases[i].x_pad, ys = 4 * hw + cases[i].y_pad;
    gsize nx = cases[i].x_off + (gsize) ch * xs, ny = cases[i].y_off + (gsize) ch * ys;
    g_autofree float *x = sinopia_test_random (200 + i, nx, -5, 5);
    g_autofree float *y0 = sinopia_test_random (300 + i, ny, -5, 5);
    g_autofree float *dx = g_new (float, (gsize) ch * hw);
    g_autofree float *want = g_memdup2 (y0, ny * sizeof (float));
    g_autofree float *dense = g_new (float, (gsize) ch * hw * 4);
    for (uint32_t c = 0; c < ch; c++)
      memcpy (dx + (gsize) c * hw, x + cases[i].x_off + (gsize) c * xs, hw * sizeof (float));
    sinopia_ref_upsample_nearest2x (dx, ch, h, wd, dense);
    for (uint32_t c = 0; c < ch; c++)
      memcpy (want + cases[i].y_off + (gsize) c * ys, dense + (gsize) c * hw * 4, hw * 4 * sizeof (float));

    SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, nx);
    SinopiaBuffer *by = sinopia_test_buffer (SINOPIA_DTYPE_F32, y0, ny);
    SinopiaTensor tx = { bx, cases[i].x_off, ch, hw, xs }, ty = { by, cases[i].y_off, ch, 4 * hw, ys };
    SinopiaRecorder *rec = sinopia_test_begin ();
    sinopia_op_upsample_nearest2x (rec, &tx, h, wd, &ty, &error);
    g_assert_no_error (error);
    sinopia_test_submit (rec);
    g_autofree float *got = sinopia_test_read (by, ny);
    sinopia_test_assert_close (got, want, ny, 0, 0, "upsample_nearest2x");
    sinopia_buffer_free (bx);
    sinopia_buffer_free (by);
  }
}

static void
test_upsample_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *v = sinopia_test_random (400, 1024, -1, 1);
  SinopiaBuffer *buf = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 1024);
  SinopiaTensor x = sinopia_tensor (buf, 0, 2, 12), y = sinopia_tensor (buf, 100, 2, 48);
  SinopiaRecorder *rec = sinopia_test_begin ();

  g_assert_true (sinopia_op_upsample_nearest2x (rec, &x, 3, 4, &y, &error));
  g_assert_no_error (error);
  expect_invalid (sinopia_op_upsample_nearest2x (rec, &x, 4, 4, &y, &error), &error, "4×4 in 12 columns");
  SinopiaTensor t = sinopia_tensor (buf, 100, 2, 47);
  expect_invalid (sinopia_op_upsample_nearest2x (rec, &x, 3, 4, &t, &error), &error, "short output");
  t = sinopia_tensor (buf, 100, 3, 48);
  expect_invalid (sinopia_op_upsample_nearest2x (rec, &x, 3, 4, &t, &error), &error, "3 output channels");
  t = sinopia_tensor (buf, 4, 2, 48);
  expect_invalid (sinopia_op_upsample_nearest2x (rec, &x, 3, 4, &t, &error), &error, "output over the input");
  t = sinopia_tensor (buf, 1000, 2, 48);
  expect_invalid (sinopia_op_upsample_nearest2x (rec, &x, 3, 4, &t, &error), &error, "output past the buffer");
  expect_invalid (sinopia_op_upsample_nearest2x (rec, &x, 3, 4, NULL, &error), &error, "no output");
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 1);
  sinopia_test_submit (rec);
  sinopia_buffer_free (buf);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/image/group-norm", test_group_norm);
  g_test_add_func ("/ops/image/group-norm-large", test_group_norm_large);
  g_test_add_func ("/ops/image/group-norm-views", test_group_norm_views);
  g_test_add_func ("/ops/image/group-norm-bad-arguments", test_group_norm_bad_arguments);
  g_test_add_func ("/ops/image/upsample", test_upsample);
  g_test_add_func ("/ops/image/upsample-bad-arguments", test_upsample_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
