/* sinopia-test-views.h — strided test views: embed dense data as a column slice of a wider
 * matrix, and read a view back while checking nothing outside it was written. Header-only
 * (static inline) so op tests can share it without another library. */
#pragma once

#include <math.h>

#include "sinopia-test-vk.h"

/* A buffer of `lead` filler elements followed by a rows×stride matrix whose columns
 * [col0, col0+cols) hold v (dense rows×cols) and whose other elements hold `fill`.
 * Returns the view of those columns; *n_total receives the elements written.
 * (transfer full): free the view's buffer with sinopia_buffer_free. */
static inline SinopiaTensor
sinopia_test_embed (const float *v, uint32_t rows, uint32_t cols, uint32_t lead, uint32_t col0, uint32_t stride,
                    float fill, gsize *n_total)
{
  gsize n = lead + (gsize) rows * stride;
  g_autofree float *all = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    all[i] = fill;
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++)
      all[lead + (gsize) r * stride + col0 + c] = v[(gsize) r * cols + c];
  *n_total = n;
  SinopiaBuffer *buf = sinopia_test_buffer (SINOPIA_DTYPE_F32, all, n);
  return sinopia_tensor_columns (sinopia_tensor (buf, lead, rows, stride), col0, cols);
}

/* Downloads the buffer behind t (n_total elements, guard checked) and returns t's elements
 * densely; fails the test if an element outside the view no longer holds `fill` (NaN
 * matches NaN). (transfer full): g_free. */
static inline float *
sinopia_test_extract (const SinopiaTensor *t, gsize n_total, float fill)
{
  g_autofree float *all = sinopia_test_read (t->buffer, n_total);
  g_autofree gboolean *inside = g_new0 (gboolean, n_total);
  float *out = g_new (float, (gsize) t->rows * t->cols);
  for (uint32_t r = 0; r < t->rows; r++)
    for (uint32_t c = 0; c < t->cols; c++) {
      gsize at = t->offset + (gsize) r * t->stride + c;
      inside[at] = TRUE;
      out[(gsize) r * t->cols + c] = all[at];
    }
  for (gsize i = 0; i < n_total; i++)
    if (!inside[i] && !(isnan (fill) ? isnan (all[i]) : all[i] == fill))
      g_error ("element %" G_GSIZE_FORMAT " outside the output view was overwritten (%g)", i, all[i]);
  return out;
}

/* n NaNs, the initial content of outputs so that unwritten elements show. (transfer full): g_free. */
static inline float *
sinopia_test_nans (gsize n)
{
  float *v = g_new (float, MAX (n, 1));
  for (gsize i = 0; i < n; i++)
    v[i] = NAN;
  return v;
}

/* A recording with timestamps on, so that sinopia_test_submit_expecting can tell which
 * shader variant each op chose. */
static inline SinopiaRecorder *
sinopia_test_begin_profiled (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaRecorder *rec = sinopia_recorder_new (sinopia_test_context (), &error);
  g_assert_no_error (error);
  sinopia_recorder_begin (rec, TRUE, &error);
  g_assert_no_error (error);
  return rec;
}

/* Submits and frees rec like sinopia_test_submit, then checks that the dispatches ran the
 * `n` named shaders in order (a device without timestamps gives no profile: then only the
 * dispatch count is checked). */
static inline void
sinopia_test_submit_expecting (SinopiaRecorder *rec, const char *const *shaders, guint n)
{
  g_autoptr (GError) error = NULL;
  guint n_entries;
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, n);
  sinopia_recorder_submit (rec, &error);
  g_assert_no_error (error);
  const SinopiaProfileEntry *entries = sinopia_recorder_profile (rec, &n_entries);
  if (n_entries > 0) {
    g_assert_cmpuint (n_entries, ==, n);
    for (guint i = 0; i < n; i++)
      g_assert_cmpstr (entries[i].op, ==, shaders[i]);
  }
  sinopia_recorder_free (rec);
}

/* Asserts that an op call fails with SINOPIA_VK_ERROR_INVALID_ARGUMENT, reported through the
 * `GError *error` in scope, and clears it. */
#define SINOPIA_TEST_ASSERT_INVALID(call)                                      \
  G_STMT_START {                                                               \
    g_assert_false (call);                                                     \
    g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT); \
    g_clear_error (&error);                                                    \
  } G_STMT_END
