/* qk_norm_rope against rms_norm + rope references, on the q|k columns of fused qkv rows. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>
#include <string.h>

#include "sinopia-test-vk.h"

/* qkv rows of `stride` columns with q|k at column `col`; the rest must stay untouched. With
 * split_row < rows, the rows from it on take a second pair of scales (stacked after the first
 * in the same buffers, as the double blocks load them) through qk_norm_rope_split, which must
 * record `dispatches`. */
static void
check_split (uint32_t rows, uint32_t heads, uint32_t hd, uint32_t col, uint32_t stride, gboolean with_table,
             guint32 seed, uint32_t split_row, guint dispatches)
{
  g_autoptr (GError) error = NULL;
  uint32_t cols = 2 * heads * hd;
  gsize n = (gsize) rows * stride;
  g_autofree float *x = sinopia_test_random (seed, n, -3, 3);
  g_autofree float *qs = sinopia_test_random (seed + 1, 2 * hd, 0.5f, 1.5f);
  g_autofree float *ks = sinopia_test_random (seed + 2, 2 * hd, 0.5f, 1.5f);
  g_autofree float *table = g_new (float, (gsize) rows * hd);
  g_autofree float *angles = sinopia_test_random (seed + 3, (gsize) rows * hd / 2, -10, 10);
  for (gsize i = 0; i < (gsize) rows * hd / 2; i++) {
    table[2 * i] = cosf (angles[i]);
    table[2 * i + 1] = sinf (angles[i]);
  }

  /* reference on a dense copy of the q|k block */
  g_autofree float *block = g_new (float, (gsize) rows * cols);
  g_autofree float *normed = g_new (float, (gsize) rows * cols);
  for (uint32_t r = 0; r < rows; r++)
    memcpy (block + (gsize) r * cols, x + (gsize) r * stride + col, cols * sizeof (float));
  g_autofree float *q = g_new (float, (gsize) rows * cols / 2);
  g_autofree float *k = g_new (float, (gsize) rows * cols / 2);
  g_autofree float *qn = g_new (float, (gsize) rows * cols / 2);
  g_autofree float *kn = g_new (float, (gsize) rows * cols / 2);
  for (uint32_t r = 0; r < rows; r++) {
    memcpy (q + (gsize) r * cols / 2, block + (gsize) r * cols, cols / 2 * sizeof (float));
    memcpy (k + (gsize) r * cols / 2, block + (gsize) r * cols + cols / 2, cols / 2 * sizeof (float));
  }
  for (guint st = 0; st < 2; st++) {
    uint32_t r0 = st ? split_row : 0, nr = st ? rows - split_row : split_row;
    gsize o = (gsize) r0 * cols / 2;
    if (nr) {
      sinopia_ref_rms_norm (q + o, nr, cols / 2, qs + st * hd, hd, 1e-6f, qn + o);
      sinopia_ref_rms_norm (k + o, nr, cols / 2, ks + st * hd, hd, 1e-6f, kn + o);
    }
  }
  for (uint32_t r = 0; r < rows; r++) {
    memcpy (normed + (gsize) r * cols, qn + (gsize) r * cols / 2, cols / 2 * sizeof (float));
    memcpy (normed + (gsize) r * cols + cols / 2, kn + (gsize) r * cols / 2, cols / 2 * sizeof (float));
  }
  if (with_table)
    sinopia_ref_rope (normed, rows, cols, table, hd);
  g_autofree float *want = g_memdup2 (x, n * sizeof (float));
  for (uint32_t r = 0; r < rows; r++)
    memcpy (want + (gsize) r * stride + col, normed + (gsize) r * cols, cols * sizeof (float));

  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, n);
  SinopiaBuffer *bq = sinopia_test_buffer (SINOPIA_DTYPE_F32, qs, 2 * hd);
  SinopiaBuffer *bk = sinopia_test_buffer (SINOPIA_DTYPE_F32, ks, 2 * hd);
  SinopiaBuffer *bt = sinopia_test_buffer (SINOPIA_DTYPE_F32, table, (gsize) rows * hd);
  SinopiaTensor tqk = sinopia_tensor_columns (sinopia_tensor (bx, 0, rows, stride), col, cols);
  SinopiaTensor tq = sinopia_tensor (bq, 0, 1, hd), tk = sinopia_tensor (bk, 0, 1, hd);
  SinopiaTensor tt = sinopia_tensor (bt, 0, rows, hd);
  SinopiaTensor tq_b = sinopia_tensor (bq, hd, 1, hd), tk_b = sinopia_tensor (bk, hd, 1, hd);
  SinopiaStreamSplit split = { .row = split_row, .q_scale = &tq_b, .k_scale = &tk_b };
  SinopiaRecorder *rec = sinopia_test_begin ();
  if (split_row < rows) {
    sinopia_op_qk_norm_rope_split (rec, &tqk, &tq, &tk, &split, with_table ? &tt : NULL, hd, 1e-6f, &error);
    g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, dispatches);
  } else {
    sinopia_op_qk_norm_rope (rec, &tqk, &tq, &tk, with_table ? &tt : NULL, hd, 1e-6f, &error);
  }
  g_assert_no_error (error);
  sinopia_test_submit (rec);
  g_autofree float *got = sinopia_test_read (bx, n);
  /* normalised values are O(scale ≤ 1.5 · √hd-bounded) and rotation adds two products:
   * a few float ulps of 4, so 2e-6 absolute plus 1e-5 relative */
  sinopia_test_assert_close (got, want, n, 2e-6, 1e-5, "qk_norm_rope");
  sinopia_buffer_free (bx);
  sinopia_buffer_free (bq);
  sinopia_buffer_free (bk);
  sinopia_buffer_free (bt);
}

static void
check (uint32_t rows, uint32_t heads, uint32_t hd, uint32_t col, uint32_t stride, gboolean with_table, guint32 seed)
{
  check_split (rows, heads, hd, col, stride, with_table, seed, rows, 1);
}

static void
test_fused (void)
{
  /* FLUX-like: q|k at column 0 of [L, 3·H·D] rows */
  check (1, 1, 4, 0, 3 * 4, TRUE, 1);
  check (23, 4, 16, 0, 3 * 64, TRUE, 2);
  check (70, 2, 64, 0, 3 * 128, TRUE, 3);
  check (33, 3, 128, 0, 3 * 384, FALSE, 4);
}

/* Views the vec4 kernel cannot take go through rms_norm + rope and give the same result. */
static void
test_fallback (void)
{
  check (5, 2, 6, 0, 3 * 12, TRUE, 5);     /* head_dim not a multiple of 4 */
  check (9, 2, 8, 2, 2 + 32 + 3, TRUE, 6); /* odd offset and stride */
}

/* Two streams' scales in one dispatch (and, where the views do not allow it, in four: the
 * rms_norm + rope fallback for each stream's rows). */
static void
test_split (void)
{
  check_split (96, 3, 64, 0, 3 * 192, TRUE, 7, 32, 1);
  check_split (23, 4, 16, 0, 3 * 64, FALSE, 8, 0, 1);
  check_split (9, 2, 6, 0, 3 * 12, TRUE, 9, 4, 6);
}

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  float v[64] = { 0 };
  SinopiaBuffer *b = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 64);
  SinopiaTensor qk = sinopia_tensor (b, 0, 2, 24), s8 = sinopia_tensor (b, 0, 1, 8), s4 = sinopia_tensor (b, 0, 1, 4);
  SinopiaRecorder *rec = sinopia_test_begin ();
  /* 24 columns are not two halves of 8-wide heads */
  g_assert_false (sinopia_op_qk_norm_rope (rec, &qk, &s8, &s8, NULL, 8, 1e-6f, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* scale of the wrong width */
  g_assert_false (sinopia_op_qk_norm_rope (rec, &qk, &s4, &s8, NULL, 6, 1e-6f, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_qk_norm_rope (rec, &qk, NULL, &s8, NULL, 6, 1e-6f, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 0);
  sinopia_test_submit (rec);
  sinopia_buffer_free (b);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/qk-norm-rope/fused", test_fused);
  g_test_add_func ("/ops/qk-norm-rope/fallback", test_fallback);
  g_test_add_func ("/ops/qk-norm-rope/split", test_split);
  g_test_add_func ("/ops/qk-norm-rope/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
