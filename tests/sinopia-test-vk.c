/* sinopia-test-vk.c — see sinopia-test-vk.h. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>

#include "sinopia-test-vk.h"

static SinopiaVkContext *shared_ctx;

SinopiaVkContext *
sinopia_test_context (void)
{
  if (!shared_ctx) {
    g_autoptr (GError) error = NULL;
    SinopiaVkOptions opts = { .validation = TRUE };
    shared_ctx = sinopia_vk_context_new (&opts, &error);
    g_assert_no_error (error);
  }
  return shared_ctx;
}

void
sinopia_test_context_finish (void)
{
  if (!shared_ctx)
    return;
  guint messages = sinopia_vk_context_validation_messages (shared_ctx);
  sinopia_vk_context_free (shared_ctx);
  shared_ctx = NULL;
  g_assert_cmpuint (messages, ==, 0);
}

float *
sinopia_test_random (guint32 seed, gsize n, float lo, float hi)
{
  g_autoptr (GRand) rand = g_rand_new_with_seed (seed);
  float *v = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    v[i] = (float) g_rand_double_range (rand, lo, hi);
  return v;
}

static void
upload_checked (SinopiaBuffer *buf, const void *data, gsize bytes)
{
  g_autoptr (GError) error = NULL;
  sinopia_buffer_upload (buf, 0, data, bytes, &error);
  g_assert_no_error (error);
}

SinopiaBuffer *
sinopia_test_buffer (SinopiaDType dtype, const float *values, gsize n)
{
  g_autoptr (GError) error = NULL;
  gsize total = n + SINOPIA_TEST_GUARD;
  SinopiaBuffer *buf = sinopia_buffer_new (sinopia_test_context (), dtype, total, &error);
  g_assert_no_error (error);
  if (dtype == SINOPIA_DTYPE_F32) {
    g_autofree float *all = g_new (float, total);
    memcpy (all, values, n * sizeof (float));
    for (gsize i = n; i < total; i++)
      all[i] = SINOPIA_TEST_SENTINEL;
    upload_checked (buf, all, total * sizeof (float));
  } else if (dtype == SINOPIA_DTYPE_U32) {
    g_autofree uint32_t *all = g_new0 (uint32_t, total);
    for (gsize i = 0; i < n; i++)
      all[i] = (uint32_t) values[i];
    upload_checked (buf, all, total * sizeof (uint32_t));
  } else {
    g_autofree uint16_t *all = g_new0 (uint16_t, total);
    for (gsize i = 0; i < total; i++) {
      float v = i < n ? values[i] : SINOPIA_TEST_SENTINEL;
      all[i] = dtype == SINOPIA_DTYPE_F16 ? sinopia_ref_f32_to_f16 (v) : sinopia_ref_f32_to_bf16 (v);
    }
    upload_checked (buf, all, total * sizeof (uint16_t));
  }
  return buf;
}

SinopiaBuffer *
sinopia_test_buffer_u32 (const uint32_t *values, gsize n)
{
  g_autoptr (GError) error = NULL;
  gsize total = n + SINOPIA_TEST_GUARD;
  SinopiaBuffer *buf = sinopia_buffer_new (sinopia_test_context (), SINOPIA_DTYPE_U32, total, &error);
  g_assert_no_error (error);
  g_autofree uint32_t *all = g_new0 (uint32_t, total);
  memcpy (all, values, n * sizeof (uint32_t));
  upload_checked (buf, all, total * sizeof (uint32_t));
  return buf;
}

SinopiaBuffer *
sinopia_test_output (gsize n)
{
  g_autofree float *nan = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    nan[i] = NAN;
  return sinopia_test_buffer (SINOPIA_DTYPE_F32, nan, n);
}

float *
sinopia_test_read (SinopiaBuffer *buf, gsize n)
{
  g_autoptr (GError) error = NULL;
  gsize total = n + SINOPIA_TEST_GUARD;
  g_assert_cmpuint (sinopia_buffer_n_elements (buf), >=, total);
  g_assert_cmpint (sinopia_buffer_dtype (buf), ==, SINOPIA_DTYPE_F32);
  float *all = g_new (float, total);
  sinopia_buffer_download (buf, 0, all, total * sizeof (float), &error);
  g_assert_no_error (error);
  for (gsize i = n; i < total; i++)
    if (all[i] != SINOPIA_TEST_SENTINEL)
      g_error ("guard element %" G_GSIZE_FORMAT " after an output of %" G_GSIZE_FORMAT
               " elements was overwritten (%g)", i - n, n, all[i]);
  return all;
}

void
sinopia_test_assert_close (const float *got, const float *want, gsize n, double atol, double rtol,
                           const char *what)
{
  gsize worst = 0;
  double worst_excess = -1.0, max_err = 0.0;
  for (gsize i = 0; i < n; i++) {
    if (!isfinite (got[i]))
      g_error ("%s: element %" G_GSIZE_FORMAT " is %g (expected %g)", what, i, got[i], want[i]);
    double err = fabs ((double) got[i] - want[i]);
    double excess = err - (atol + rtol * fabs (want[i]));
    max_err = MAX (max_err, err);
    if (excess > worst_excess) {
      worst_excess = excess;
      worst = i;
    }
  }
  if (worst_excess > 0)
    g_error ("%s: element %" G_GSIZE_FORMAT " is %.9g, expected %.9g (tolerance %g + %g·|x|)",
             what, worst, got[worst], want[worst], atol, rtol);
  g_test_message ("%s: max abs error %.3g over %" G_GSIZE_FORMAT " elements", what, max_err, n);
}

SinopiaRecorder *
sinopia_test_begin (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaRecorder *rec = sinopia_recorder_new (sinopia_test_context (), &error);
  g_assert_no_error (error);
  sinopia_recorder_begin (rec, FALSE, &error);
  g_assert_no_error (error);
  return rec;
}

void
sinopia_test_submit (SinopiaRecorder *rec)
{
  g_autoptr (GError) error = NULL;
  sinopia_recorder_submit (rec, &error);
  g_assert_no_error (error);
  sinopia_recorder_free (rec);
}
