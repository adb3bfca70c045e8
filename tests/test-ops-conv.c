/* conv2d against the CPU reference: every kernel/stride/padding combination over small odd
 * and aligned images, all weight dtypes, bias, accumulation, strided views, bad arguments.
 * Runs each shader variant (SINOPIA_CONV_VARIANT): texel (lavapipe), scalar (its fallback
 * for unaligned views, forced), tiled (GPUs). */
#define G_LOG_DOMAIN "sinopia-test"

#include <string.h>

#include "sinopia-test-vk.h"

static const char *const variants[] = { "texel", "scalar", "tiled" };

typedef struct {
  uint32_t pad_top, pad_left, pad_bottom, pad_right;
} Pad;

static const Pad pads[] = { { 1, 1, 1, 1 }, { 0, 0, 1, 1 }, { 0, 0, 0, 0 } };

static const SinopiaDType dtypes[] = { SINOPIA_DTYPE_F32, SINOPIA_DTYPE_F16, SINOPIA_DTYPE_BF16 };

/* The values a weight buffer of `dtype` really holds. */
static void
round_to_dtype (float *v, gsize n, SinopiaDType dtype)
{
  for (gsize i = 0; i < n; i++)
    if (dtype == SINOPIA_DTYPE_F16)
      v[i] = sinopia_ref_f16_to_f32 (sinopia_ref_f32_to_f16 (v[i]));
    else if (dtype == SINOPIA_DTYPE_BF16)
      v[i] = sinopia_ref_bf16_to_f32 (sinopia_ref_f32_to_bf16 (v[i]));
}

typedef struct {
  uint32_t cin, cout;
  SinopiaConvShape shape;
  SinopiaDType dtype;
  gboolean bias, accumulate;
  /* views inside larger buffers: element offsets and extra row padding */
  uint32_t x_off, x_pad, w_off, w_pad, y_off, y_pad;
  /* the shader the texel variant must pick for f32 weights (NULL: not checked) */
  const char *expect;
} Case;

/* One conv on the device and on the CPU.
 * Tolerance: both sides see the same (already rounded) weights; the device sums cin·k·k
 * products of values in [-1, 1] in f32 in a different order than the double reference, so
 * the error grows at most linearly with the number of taps: 2e-6 per tap, with a relative
 * 1e-5 for the accumulated y. */
static void
run_case (const Case *c, guint32 seed)
{
  g_autoptr (GError) error = NULL;
  const SinopiaConvShape *s = &c->shape;
  uint32_t ho, wo, k = s->kernel, hw = s->height * s->width;
  sinopia_conv_output_size (s, &ho, &wo);
  g_assert_cmpuint (ho, >, 0);
  uint32_t taps = c->cin * k * k, ohw = ho * wo;
  uint32_t xs = hw + c->x_pad, ws = taps + c->w_pad, ys = ohw + c->y_pad;
  gsize nx = c->x_off + (gsize) c->cin * xs, nw = c->w_off + (gsize) c->cout * ws;
  gsize ny = c->y_off + (gsize) c->cout * ys;

  g_autofree float *x = sinopia_test_random (seed, nx, -1, 1);
  g_autofree float *w = sinopia_test_random (seed + 1, nw, -1, 1);
  g_autofree float *b = sinopia_test_random (seed + 2, c->cout, -1, 1);
  g_autofree float *y0 = sinopia_test_random (seed + 3, ny, -1, 1);
  round_to_dtype (w, nw, c->dtype);

  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, nx);
  SinopiaBuffer *bw = sinopia_test_buffer (c->dtype, w, nw);
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, b, c->cout);
  SinopiaBuffer *by = c->accumulate || c->y_pad || c->y_off ? sinopia_test_buffer (SINOPIA_DTYPE_F32, y0, ny)
                                                            : sinopia_test_output (ny);
  SinopiaTensor tx = { bx, c->x_off, c->cin, hw, xs };
  SinopiaTensor tw = { bw, c->w_off, c->cout, taps, ws };
  SinopiaTensor tb = sinopia_tensor (bb, 0, 1, c->cout);
  SinopiaTensor ty = { by, c->y_off, c->cout, ohw, ys };

  /* profiled, for the name of the shader that ran */
  SinopiaRecorder *rec = sinopia_recorder_new (sinopia_test_context (), &error);
  g_assert_no_error (error);
  sinopia_recorder_begin (rec, TRUE, &error);
  g_assert_no_error (error);
  sinopia_op_conv2d (rec, &tx, s, &tw, c->bias ? &tb : NULL, c->accumulate, &ty, &error);
  g_assert_no_error (error);
  sinopia_recorder_submit (rec, &error);
  g_assert_no_error (error);
  guint n_profile = 0;
  const SinopiaProfileEntry *profile = sinopia_recorder_profile (rec, &n_profile);
  if (c->expect && c->dtype == SINOPIA_DTYPE_F32 && n_profile == 1 &&
      g_strcmp0 (g_getenv ("SINOPIA_CONV_VARIANT"), "texel") == 0)
    g_assert_cmpstr (profile[0].op, ==, c->expect);
  if (n_profile == 1 && g_strcmp0 (g_getenv ("SINOPIA_CONV_VARIANT"), "scalar") == 0)
    g_assert_true (g_str_has_prefix (profile[0].op, "conv2d_x1") && !strstr (profile[0].op, "_wv"));
  if (n_profile == 1 && g_strcmp0 (g_getenv ("SINOPIA_CONV_VARIANT"), "tiled") == 0)
    g_assert_true (g_str_has_prefix (profile[0].op, "conv2d_tiled"));
  sinopia_recorder_free (rec);

  /* dense copies for the reference */
  g_autofree float *dx = g_new (float, (gsize) c->cin * hw);
  g_autofree float *dw = g_new (float, (gsize) c->cout * taps);
  g_autofree float *want = g_new (float, (gsize) c->cout * ohw);
  for (uint32_t i = 0; i < c->cin; i++)
    memcpy (dx + (gsize) i * hw, x + c->x_off + (gsize) i * xs, hw * sizeof (float));
  for (uint32_t i = 0; i < c->cout; i++) {
    memcpy (dw + (gsize) i * taps, w + c->w_off + (gsize) i * ws, taps * sizeof (float));
    memcpy (want + (gsize) i * ohw, y0 + c->y_off + (gsize) i * ys, ohw * sizeof (float));
  }
  sinopia_ref_conv2d (dx, c->cin, s, dw, c->bias ? b : NULL, c->cout, c->accumulate, want);

  g_autofree float *all = sinopia_test_read (by, ny);
  g_autofree float *got = g_new (float, (gsize) c->cout * ohw);
  for (uint32_t i = 0; i < c->cout; i++)
    memcpy (got + (gsize) i * ohw, all + c->y_off + (gsize) i * ys, ohw * sizeof (float));
  /* what lies between the rows of a strided output must be untouched */
  if (c->y_pad || c->y_off) {
    g_autofree float *untouched = g_memdup2 (y0, ny * sizeof (float));
    g_autofree float *seen = g_memdup2 (all, ny * sizeof (float));
    for (uint32_t i = 0; i < c->cout; i++) {
      memset (untouched + c->y_off + (gsize) i * ys, 0, ohw * sizeof (float));
      memset (seen + c->y_off + (gsize) i * ys, 0, ohw * sizeof (float));
    }
    sinopia_test_assert_close (seen, untouched, ny, 0, 0, "conv2d: outside the output view");
  }
  g_autofree char *what = g_strdup_printf ("conv2d %s cin %u cout %u %ux%u k%u s%u pad (%u,%u,%u,%u) %s%s%s",
                                           g_getenv ("SINOPIA_CONV_VARIANT"), c->cin, c->cout, s->height,
                                           s->width, k, s->stride, s->pad_top, s->pad_left, s->pad_bottom,
                                           s->pad_right, sinopia_dtype_name (c->dtype),
                                           c->bias ? " bias" : "", c->accumulate ? " accumulate" : "");
  sinopia_test_assert_close (got, want, (gsize) c->cout * ohw, 2e-6 * taps, 1e-5, what);
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bw);
  sinopia_buffer_free (bb);
  sinopia_buffer_free (by);
}

static gboolean
fits (const SinopiaConvShape *s)
{
  uint32_t ho, wo;
  sinopia_conv_output_size (s, &ho, &wo);
  return ho > 0 && wo > 0;
}

/* Every kernel × stride × padding over all small image sizes; channel counts, dtypes, bias
 * and accumulation rotate through their values so that each appears with each geometry
 * family without running the full product. */
static void
test_geometry (void)
{
  static const uint32_t sizes[] = { 1, 2, 5, 8, 13 };
  static const uint32_t channels[] = { 1, 3, 4, 16, 32, 35 };
  guint n = 0;
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    g_setenv ("SINOPIA_CONV_VARIANT", variants[v], TRUE);
    for (uint32_t k = 1; k <= 3; k += 2)
      for (uint32_t st = 1; st <= 2; st++)
        for (guint p = 0; p < G_N_ELEMENTS (pads); p++)
          for (guint h = 0; h < G_N_ELEMENTS (sizes); h++)
            for (guint wi = 0; wi < G_N_ELEMENTS (sizes); wi++) {
              Case c = {
                .shape = { sizes[h], sizes[wi], k, st, pads[p].pad_top, pads[p].pad_left,
                           pads[p].pad_bottom, pads[p].pad_right },
                .cin = channels[n % G_N_ELEMENTS (channels)],
                .cout = channels[(n / 2 + 3) % G_N_ELEMENTS (channels)],
                .dtype = dtypes[n % G_N_ELEMENTS (dtypes)],
                .bias = n % 2 == 0,
                .accumulate = n % 5 == 1,
              };
              if (!fits (&c.shape))
                continue;
              run_case (&c, 100 + n);
              n++;
            }
  }
  g_unsetenv ("SINOPIA_CONV_VARIANT");
  g_test_message ("%u geometries", n);
}

/* Shapes that take each texel width of the input and of the weights, whole and short strips,
 * the FLUX downsample, 1×1 and partial output-channel blocks; the shader that ran is checked. */
static void
test_aligned (void)
{
  static const Case cases[] = {
    { .cin = 16, .cout = 16, .shape = { 8, 8, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x4_wv" },
    { .cin = 32, .cout = 35, .shape = { 3, 16, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .accumulate = TRUE,
      .expect = "conv2d_x4_wv" },
    { .cin = 4, .cout = 3, .shape = { 2, 32, 3, 1, 1, 1, 1, 1 }, .expect = "conv2d_x4_wv" },
    { .cin = 8, .cout = 8, .shape = { 3, 64, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x4_wv" },
    /* several 64-channel tiles of the tiled variant */
    { .cin = 4, .cout = 72, .shape = { 5, 12, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .accumulate = TRUE,
      .expect = "conv2d_x4_wv" },
    /* short last strips */
    { .cin = 8, .cout = 12, .shape = { 3, 60, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x4_wv" },
    { .cin = 4, .cout = 9, .shape = { 2, 36, 3, 1, 1, 1, 1, 1 }, .expect = "conv2d_x4_wv" },
    /* FLUX downsample */
    { .cin = 16, .cout = 8, .shape = { 8, 16, 3, 2, 0, 0, 1, 1 }, .bias = TRUE, .expect = "conv2d_x4_wv" },
    { .cin = 12, .cout = 20, .shape = { 6, 8, 3, 2, 0, 0, 1, 1 }, .expect = "conv2d_x4_wv" },
    { .cin = 8, .cout = 8, .shape = { 6, 44, 3, 2, 0, 0, 1, 1 }, .expect = "conv2d_x4_wv" },
    /* 1×1 (ResNet shortcut), also strided */
    { .cin = 16, .cout = 16, .shape = { 7, 12, 1, 1, 0, 0, 0, 0 }, .bias = TRUE, .accumulate = TRUE,
      .expect = "conv2d_x4_wv" },
    { .cin = 20, .cout = 9, .shape = { 4, 24, 1, 2, 0, 0, 0, 0 }, .expect = "conv2d_x4_wv" },
    /* uneven padding up to the vec4 path's limits */
    { .cin = 8, .cout = 8, .shape = { 4, 8, 3, 1, 2, 3, 0, 4 }, .expect = "conv2d_x4_wv" },
    /* even widths: two columns per texel */
    { .cin = 8, .cout = 16, .shape = { 5, 18, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x2_wv" },
    { .cin = 4, .cout = 4, .shape = { 6, 10, 3, 2, 0, 0, 1, 1 }, .expect = "conv2d_x2_wv" },
    { .cin = 8, .cout = 8, .shape = { 4, 8, 3, 1, 1, 1, 1, 5 }, .expect = "conv2d_x1_wv" },
    { .cin = 8, .cout = 8, .shape = { 4, 8, 3, 1, 0, 6, 0, 0 }, .expect = "conv2d_x1_wv" },
    /* channels not divisible by 4: one weight per texel */
    { .cin = 35, .cout = 4, .shape = { 3, 16, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x4" },
    { .cin = 3, .cout = 16, .shape = { 4, 20, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x4" },
    /* odd width */
    { .cin = 16, .cout = 4, .shape = { 3, 13, 3, 1, 1, 1, 1, 1 }, .bias = TRUE, .expect = "conv2d_x1_wv" },
  };
  guint n = 0;
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    g_setenv ("SINOPIA_CONV_VARIANT", variants[v], TRUE);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      for (guint d = 0; d < G_N_ELEMENTS (dtypes); d++) {
        /* every dtype on the default variant; one per case, in turn, on the others */
        if (v > 0 && d != (i + v) % G_N_ELEMENTS (dtypes))
          continue;
        Case c = cases[i];
        c.dtype = dtypes[d];
        run_case (&c, 500 + n++);
      }
  }
  g_unsetenv ("SINOPIA_CONV_VARIANT");
}

/* Views inside larger buffers: aligned offsets and strides keep the vec4 paths, odd ones
 * force the scalar paths. */
static void
test_views (void)
{
  static const Case cases[] = {
    { .cin = 8, .cout = 8, .shape = { 4, 8, 3, 1, 1, 1, 1, 1 }, .bias = TRUE,
      .x_off = 4, .x_pad = 8, .w_off = 8, .w_pad = 4, .y_off = 12, .y_pad = 4 },
    { .cin = 8, .cout = 5, .shape = { 4, 8, 3, 1, 1, 1, 1, 1 }, .accumulate = TRUE,
      .x_off = 3, .x_pad = 1, .w_off = 1, .w_pad = 3, .y_off = 5, .y_pad = 7 },
    { .cin = 4, .cout = 4, .shape = { 8, 8, 3, 2, 0, 0, 1, 1 },
      .x_off = 16, .x_pad = 0, .w_off = 2, .w_pad = 2, .y_off = 1, .y_pad = 0 },
  };
  for (guint v = 0; v < G_N_ELEMENTS (variants); v++) {
    g_setenv ("SINOPIA_CONV_VARIANT", variants[v], TRUE);
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      for (guint d = 0; d < G_N_ELEMENTS (dtypes); d++) {
        Case c = cases[i];
        c.dtype = dtypes[d];
        run_case (&c, 700 + 10 * i + d);
      }
  }
  g_unsetenv ("SINOPIA_CONV_VARIANT");
}

/* A ResNet shortcut: a 1×1 projection accumulated onto a 3×3 conv of the same input. */
static void
test_shortcut (void)
{
  g_autoptr (GError) error = NULL;
  const uint32_t cin = 8, cout = 12, h = 5, wd = 8, hw = h * wd;
  SinopiaConvShape s3 = { h, wd, 3, 1, 1, 1, 1, 1 }, s1 = { h, wd, 1, 1, 0, 0, 0, 0 };
  g_autofree float *x = sinopia_test_random (900, cin * hw, -1, 1);
  g_autofree float *w3 = sinopia_test_random (901, cout * cin * 9, -1, 1);
  g_autofree float *w1 = sinopia_test_random (902, cout * cin, -1, 1);
  g_autofree float *b = sinopia_test_random (903, cout, -1, 1);
  g_autofree float *want = g_new (float, cout * hw);
  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, cin * hw);
  SinopiaBuffer *bw3 = sinopia_test_buffer (SINOPIA_DTYPE_F32, w3, cout * cin * 9);
  SinopiaBuffer *bw1 = sinopia_test_buffer (SINOPIA_DTYPE_F32, w1, cout * cin);
  SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, b, cout);
  SinopiaBuffer *by = sinopia_test_output (cout * hw);
  SinopiaTensor tx = sinopia_tensor (bx, 0, cin, hw), tw3 = sinopia_tensor (bw3, 0, cout, cin * 9);
  SinopiaTensor tw1 = sinopia_tensor (bw1, 0, cout, cin), tb = sinopia_tensor (bb, 0, 1, cout);
  SinopiaTensor ty = sinopia_tensor (by, 0, cout, hw);

  SinopiaRecorder *rec = sinopia_test_begin ();
  sinopia_op_conv2d (rec, &tx, &s3, &tw3, &tb, FALSE, &ty, &error);
  g_assert_no_error (error);
  sinopia_op_conv2d (rec, &tx, &s1, &tw1, &tb, TRUE, &ty, &error);
  g_assert_no_error (error);
  sinopia_test_submit (rec);

  sinopia_ref_conv2d (x, cin, &s3, w3, b, cout, FALSE, want);
  sinopia_ref_conv2d (x, cin, &s1, w1, b, cout, TRUE, want);
  g_autofree float *got = sinopia_test_read (by, cout * hw);
  sinopia_test_assert_close (got, want, cout * hw, 2e-6 * cin * 10, 1e-5, "conv2d shortcut");
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bw3);
  sinopia_buffer_free (bw1);
  sinopia_buffer_free (bb);
  sinopia_buffer_free (by);
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
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *v = sinopia_test_random (950, 4096, -1, 1);
  SinopiaBuffer *buf = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 4096);
  SinopiaBuffer *wbuf = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 4096);
  uint32_t u[4] = { 0 };
  SinopiaBuffer *ubuf = sinopia_test_buffer_u32 (u, 4);
  SinopiaConvShape s = { 4, 4, 3, 1, 1, 1, 1, 1 };
  SinopiaTensor x = sinopia_tensor (buf, 0, 2, 16), y = sinopia_tensor (buf, 1024, 3, 16);
  SinopiaTensor w = sinopia_tensor (wbuf, 0, 3, 18), b = sinopia_tensor (wbuf, 100, 1, 3);
  SinopiaRecorder *rec = sinopia_test_begin ();

  /* the arguments above are valid: only one thing is broken in each call below */
  g_assert_true (sinopia_op_conv2d (rec, &x, &s, &w, &b, FALSE, &y, &error));
  g_assert_no_error (error);

  SinopiaTensor t = w;
  t.cols = 17;
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &t, &b, FALSE, &y, &error), &error, "weights short of a tap");
  t = w;
  t.rows = 4;
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &t, &b, FALSE, &y, &error), &error, "weights for 4 outputs");
  t = sinopia_tensor (wbuf, 4150, 3, 18);
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &t, &b, FALSE, &y, &error), &error, "weights past the buffer");
  t = sinopia_tensor (ubuf, 0, 1, 3);
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &w, &t, FALSE, &y, &error), &error, "u32 bias");
  t = sinopia_tensor (wbuf, 100, 1, 4);
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &w, &t, FALSE, &y, &error), &error, "bias of 4");
  t = y;
  t.cols = 15;
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &w, &b, FALSE, &t, &error), &error, "output one pixel short");
  t = sinopia_tensor (buf, 8, 3, 16);
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &w, &b, FALSE, &t, &error), &error, "output over the input");
  t = sinopia_tensor (NULL, 0, 2, 16);
  expect_invalid (sinopia_op_conv2d (rec, &t, &s, &w, &b, FALSE, &y, &error), &error, "no input buffer");
  expect_invalid (sinopia_op_conv2d (rec, NULL, &s, &w, &b, FALSE, &y, &error), &error, "no input");
  expect_invalid (sinopia_op_conv2d (rec, &x, NULL, &w, &b, FALSE, &y, &error), &error, "no shape");
  expect_invalid (sinopia_op_conv2d (NULL, &x, &s, &w, &b, FALSE, &y, &error), &error, "no recorder");

  SinopiaConvShape bad = s;
  bad.width = 5;
  expect_invalid (sinopia_op_conv2d (rec, &x, &bad, &w, &b, FALSE, &y, &error), &error, "5×4 pixels in 16 columns");
  bad = s;
  bad.kernel = 2;
  expect_invalid (sinopia_op_conv2d (rec, &x, &bad, &w, &b, FALSE, &y, &error), &error, "kernel 2");
  bad = s;
  bad.stride = 3;
  expect_invalid (sinopia_op_conv2d (rec, &x, &bad, &w, &b, FALSE, &y, &error), &error, "stride 3");
  bad = s;
  bad.stride = 0;
  expect_invalid (sinopia_op_conv2d (rec, &x, &bad, &w, &b, FALSE, &y, &error), &error, "stride 0");
  /* a 3×3 kernel over a 1×16 image without padding has no output row */
  bad = (SinopiaConvShape) { 1, 16, 3, 1, 0, 0, 0, 0 };
  expect_invalid (sinopia_op_conv2d (rec, &x, &bad, &w, &b, FALSE, &y, &error), &error, "empty output");
  uint32_t ho, wo;
  sinopia_conv_output_size (&bad, &ho, &wo);
  g_assert_cmpuint (ho, ==, 0);
  bad = s;
  bad.pad_right = 5000;
  expect_invalid (sinopia_op_conv2d (rec, &x, &bad, &w, &b, FALSE, &y, &error), &error, "huge padding");

  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 1);
  sinopia_test_submit (rec);

  /* an unknown variant name is an error too */
  g_setenv ("SINOPIA_CONV_VARIANT", "nonsense", TRUE);
  rec = sinopia_test_begin ();
  expect_invalid (sinopia_op_conv2d (rec, &x, &s, &w, &b, FALSE, &y, &error), &error, "unknown variant");
  sinopia_test_submit (rec);
  g_unsetenv ("SINOPIA_CONV_VARIANT");

  sinopia_buffer_free (buf);
  sinopia_buffer_free (wbuf);
  sinopia_buffer_free (ubuf);
}

static void
test_output_size (void)
{
  uint32_t ho, wo;
  SinopiaConvShape down = { 64, 48, 3, 2, 0, 0, 1, 1 };
  sinopia_conv_output_size (&down, &ho, &wo);
  g_assert_cmpuint (ho, ==, 32);
  g_assert_cmpuint (wo, ==, 24);
  SinopiaConvShape same = { 13, 5, 3, 1, 1, 1, 1, 1 };
  sinopia_conv_output_size (&same, &ho, &wo);
  g_assert_cmpuint (ho, ==, 13);
  g_assert_cmpuint (wo, ==, 5);
  SinopiaConvShape odd = { 5, 13, 3, 2, 1, 1, 1, 1 };
  sinopia_conv_output_size (&odd, &ho, &wo);
  g_assert_cmpuint (ho, ==, 3);
  g_assert_cmpuint (wo, ==, 7);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/conv/output-size", test_output_size);
  g_test_add_func ("/ops/conv/geometry", test_geometry);
  g_test_add_func ("/ops/conv/aligned", test_aligned);
  g_test_add_func ("/ops/conv/views", test_views);
  g_test_add_func ("/ops/conv/shortcut", test_shortcut);
  g_test_add_func ("/ops/conv/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
