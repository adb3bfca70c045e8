/* Row softmax against the double-precision reference: vec4 and scalar paths, rows of
 * length 1, large logits, -inf entries, strided views, in place, bad arguments. */
#define G_LOG_DOMAIN "sinopia-test"

#include <math.h>

#include "sinopia-test-vk.h"

/* Tolerance: 1e-7 absolute + 1e-5 relative. Outputs lie in [0, 1]; each is one f32 exp
 * (polynomial on llvmpipe, a few ulp) of x − max, exact in f32, over a sum of ≤ 300 terms
 * accumulated in f32 (relative rounding ≲ 300·6e-8 in the worst order). Observed worst is
 * 1.2e-7 absolute on outputs up to 1. */
#define ATOL 1e-7
#define RTOL 1e-5

typedef struct {
  uint32_t rows, cols;
  float lo, hi;
} Shape;

static void
check_softmax (const float *x, uint32_t rows, uint32_t cols, uint32_t col0, uint32_t stride, gboolean in_place,
               const char *what)
{
  g_autoptr (GError) error = NULL;
  gsize n = (gsize) rows * stride;
  g_autofree float *want = g_memdup2 (x, n * sizeof (float));
  g_autofree float *dense = g_new (float, (gsize) rows * cols);
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++)
      dense[r * cols + c] = x[r * stride + col0 + c];
  sinopia_ref_softmax (dense, rows, cols, dense);
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++)
      want[r * stride + col0 + c] = dense[r * cols + c];

  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, n);
  SinopiaBuffer *by = in_place ? bx : sinopia_test_buffer (SINOPIA_DTYPE_F32, x, n);
  SinopiaTensor tx = sinopia_tensor_columns (sinopia_tensor (bx, 0, rows, stride), col0, cols);
  SinopiaTensor ty = sinopia_tensor_columns (sinopia_tensor (by, 0, rows, stride), col0, cols);
  SinopiaRecorder *rec = sinopia_test_begin ();
  sinopia_op_softmax (rec, &tx, &ty, &error);
  g_assert_no_error (error);
  sinopia_test_submit (rec);

  g_autofree float *got = sinopia_test_read (by, n);
  sinopia_test_assert_close (got, want, n, ATOL, RTOL, what);
  if (!in_place)
    sinopia_buffer_free (by);
  sinopia_buffer_free (bx);
}

static void
test_shapes (void)
{
  static const Shape shapes[] = {
    { 1, 1, -1, 1 }, { 7, 1, -80, 80 }, { 1, 4, -3, 3 }, { 5, 7, -3, 3 }, { 33, 64, -10, 10 },
    { 17, 130, -80, 80 }, { 3, 300, -80, 80 }, { 64, 16, 70, 80 },
  };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    uint32_t rows = shapes[s].rows, cols = shapes[s].cols;
    g_autofree float *x = sinopia_test_random (10 + s, (gsize) rows * cols, shapes[s].lo, shapes[s].hi);
    g_autofree char *what = g_strdup_printf ("softmax %u×%u in [%g, %g)", rows, cols, shapes[s].lo, shapes[s].hi);
    check_softmax (x, rows, cols, 0, cols, FALSE, what);
  }
}

/* Column slices: a 4-aligned one (vec4 path) and an odd one (scalar path), in place and not. */
static void
test_strided (void)
{
  g_autofree float *x = sinopia_test_random (30, 9 * 44, -80, 80);
  check_softmax (x, 9, 32, 8, 44, FALSE, "softmax aligned slice");
  check_softmax (x, 9, 32, 8, 44, TRUE, "softmax aligned slice in place");
  check_softmax (x, 9, 29, 3, 44, FALSE, "softmax odd slice");
  check_softmax (x, 9, 29, 3, 44, TRUE, "softmax odd slice in place");
  check_softmax (x, 44 * 9 / 12, 12, 0, 12, TRUE, "softmax dense in place");
}

/* -inf logits get probability 0; a row of only -inf becomes zeros instead of NaN. */
static void
test_masked (void)
{
  for (guint cols = 5; cols <= 8; cols += 3) {
    g_autofree float *x = sinopia_test_random (40 + cols, 4 * cols, -5, 5);
    for (uint32_t c = 0; c < cols; c++)
      x[1 * cols + c] = -INFINITY;
    x[2 * cols + 1] = -INFINITY;
    x[3 * cols] = -INFINITY;
    check_softmax (x, 4, cols, 0, cols, FALSE, cols % 4 ? "softmax -inf scalar" : "softmax -inf vec4");
  }
}

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *zeros = g_new0 (float, 64);
  static const uint32_t ids[4] = { 0 };
  SinopiaBuffer *b = sinopia_test_buffer (SINOPIA_DTYPE_F32, zeros, 64);
  SinopiaBuffer *bu = sinopia_test_buffer_u32 (ids, 4);
  SinopiaTensor x = sinopia_tensor (b, 0, 4, 8), y = sinopia_tensor (b, 32, 4, 8);
  SinopiaTensor wrong = sinopia_tensor (b, 32, 8, 4), shifted = sinopia_tensor (b, 4, 4, 8);
  SinopiaTensor past = sinopia_tensor (b, 100, 4, 8), u = sinopia_tensor (bu, 0, 1, 4);
  SinopiaTensor none = sinopia_tensor (NULL, 0, 4, 8);
  SinopiaRecorder *rec = sinopia_test_begin ();

  g_assert_true (sinopia_op_softmax (rec, &x, &y, &error));
  g_assert_true (sinopia_op_softmax (rec, &x, &x, &error));
  g_assert_no_error (error);
  g_assert_false (sinopia_op_softmax (NULL, &x, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_softmax (rec, &x, &wrong, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_softmax (rec, &x, &shifted, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_softmax (rec, &past, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_softmax (rec, &u, &u, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_softmax (rec, &none, &y, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_softmax (rec, &x, NULL, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 2);
  sinopia_test_submit (rec);
  sinopia_buffer_free (b);
  sinopia_buffer_free (bu);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/softmax/shapes", test_shapes);
  g_test_add_func ("/ops/softmax/strided", test_strided);
  g_test_add_func ("/ops/softmax/masked", test_masked);
  g_test_add_func ("/ops/softmax/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
