/* Elementwise ops (activation, mul_add, gated_add) against the CPU reference. */
#define G_LOG_DOMAIN "sinopia-test"

#include "sinopia-test-vk.h"

typedef struct {
  uint32_t rows, cols;
} Shape;

static const Shape shapes[] = { { 1, 1 }, { 1, 7 }, { 3, 5 }, { 17, 33 }, { 64, 256 }, { 300, 129 } };

static void
test_activations (void)
{
  static const SinopiaActivation acts[] = {
    SINOPIA_ACT_NONE, SINOPIA_ACT_GELU_TANH, SINOPIA_ACT_SILU, SINOPIA_ACT_QUICK_GELU,
  };
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
    for (guint a = 0; a < G_N_ELEMENTS (acts); a++) {
      g_autoptr (GError) error = NULL;
      gsize n = (gsize) shapes[s].rows * shapes[s].cols;
      g_autofree float *x = sinopia_test_random (10 + s, n, -12.0f, 12.0f);
      g_autofree float *want = g_new (float, n);
      SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, n);
      SinopiaBuffer *by = sinopia_test_output (n);
      SinopiaTensor tx = sinopia_tensor (bx, 0, shapes[s].rows, shapes[s].cols);
      SinopiaTensor ty = sinopia_tensor (by, 0, shapes[s].rows, shapes[s].cols);

      SinopiaRecorder *rec = sinopia_test_begin ();
      sinopia_op_activation (rec, &tx, acts[a], &ty, &error);
      g_assert_no_error (error);
      sinopia_test_submit (rec);

      sinopia_ref_mul_add (x, shapes[s].rows, NULL, 0, NULL, 0, 1.0f, acts[a], shapes[s].rows, shapes[s].cols, want);
      g_autofree float *got = sinopia_test_read (by, n);
      /* exp-based GELU/SiLU in the shader differ from libm by a few ulp */
      sinopia_test_assert_close (got, want, n, 1e-6, 1e-5, "activation");
      sinopia_buffer_free (bx);
      sinopia_buffer_free (by);
    }
}

static void
test_mul_add_broadcast (void)
{
  for (guint s = 0; s < G_N_ELEMENTS (shapes); s++) {
    g_autoptr (GError) error = NULL;
    uint32_t rows = shapes[s].rows, cols = shapes[s].cols;
    gsize n = (gsize) rows * cols;
    g_autofree float *a = sinopia_test_random (20 + s, n, -2, 2);
    g_autofree float *b = sinopia_test_random (30 + s, cols, -2, 2);
    g_autofree float *c = sinopia_test_random (40 + s, n, -2, 2);
    g_autofree float *want = g_new (float, n);
    SinopiaBuffer *ba = sinopia_test_buffer (SINOPIA_DTYPE_F32, a, n);
    SinopiaBuffer *bb = sinopia_test_buffer (SINOPIA_DTYPE_F32, b, cols);
    SinopiaBuffer *bc = sinopia_test_buffer (SINOPIA_DTYPE_F32, c, n);
    SinopiaBuffer *by = sinopia_test_output (n);
    SinopiaTensor ta = sinopia_tensor (ba, 0, rows, cols), tb = sinopia_tensor (bb, 0, 1, cols);
    SinopiaTensor tc = sinopia_tensor (bc, 0, rows, cols), ty = sinopia_tensor (by, 0, rows, cols);

    SinopiaRecorder *rec = sinopia_test_begin ();
    sinopia_op_mul_add (rec, &ta, &tb, &tc, 0.5f, &ty, &error);
    g_assert_no_error (error);
    /* gated add in place on c: c += b ⊙ a */
    sinopia_op_gated_add (rec, &tc, &tb, &ta, &error);
    g_assert_no_error (error);
    sinopia_test_submit (rec);

    sinopia_ref_mul_add (a, rows, b, 1, c, rows, 0.5f, SINOPIA_ACT_NONE, rows, cols, want);
    g_autofree float *got = sinopia_test_read (by, n);
    sinopia_test_assert_close (got, want, n, 1e-6, 1e-6, "mul_add");

    sinopia_ref_mul_add (a, rows, b, 1, c, rows, 1.0f, SINOPIA_ACT_NONE, rows, cols, want);
    g_autofree float *gated = sinopia_test_read (bc, n);
    sinopia_test_assert_close (gated, want, n, 1e-6, 1e-6, "gated_add");
    sinopia_buffer_free (ba);
    sinopia_buffer_free (bb);
    sinopia_buffer_free (bc);
    sinopia_buffer_free (by);
  }
}

/* Strided views: write the columns [3, 3+5) of a 4×12 matrix (token concat/split). */
static void
test_strided_copy (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree float *x = sinopia_test_random (50, 4 * 5, -1, 1);
  g_autofree float *init = sinopia_test_random (51, 4 * 12, -1, 1);
  SinopiaBuffer *bx = sinopia_test_buffer (SINOPIA_DTYPE_F32, x, 20);
  SinopiaBuffer *by = sinopia_test_buffer (SINOPIA_DTYPE_F32, init, 48);
  SinopiaTensor tx = sinopia_tensor (bx, 0, 4, 5);
  SinopiaTensor ty = sinopia_tensor_columns (sinopia_tensor (by, 0, 4, 12), 3, 5);

  SinopiaRecorder *rec = sinopia_test_begin ();
  sinopia_op_activation (rec, &tx, SINOPIA_ACT_NONE, &ty, &error);
  g_assert_no_error (error);
  sinopia_test_submit (rec);

  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 5; c++)
      init[r * 12 + 3 + c] = x[r * 5 + c];
  g_autofree float *got = sinopia_test_read (by, 48);
  sinopia_test_assert_close (got, init, 48, 0, 0, "strided copy");
  sinopia_buffer_free (bx);
  sinopia_buffer_free (by);
}

static void
test_bad_arguments (void)
{
  g_autoptr (GError) error = NULL;
  float v[8] = { 0 };
  SinopiaBuffer *small = sinopia_test_buffer (SINOPIA_DTYPE_F32, v, 8);
  SinopiaTensor past = sinopia_tensor (small, 0, 100, 100);
  SinopiaTensor ok = sinopia_tensor (small, 0, 2, 4), other = sinopia_tensor (small, 0, 4, 2);
  SinopiaTensor none = sinopia_tensor (NULL, 0, 2, 4);
  SinopiaRecorder *rec = sinopia_test_begin ();

  g_assert_false (sinopia_op_activation (rec, &past, SINOPIA_ACT_NONE, &ok, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_activation (rec, &ok, SINOPIA_ACT_NONE, &other, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_mul_add (rec, &none, NULL, NULL, 1.0f, &ok, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (sinopia_op_mul_add (rec, NULL, NULL, NULL, 1.0f, &ok, &error));
  g_assert_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* invalid arguments record nothing, so the submit itself still succeeds */
  g_assert_cmpuint (sinopia_recorder_n_dispatches (rec), ==, 0);
  sinopia_test_submit (rec);
  sinopia_buffer_free (small);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ops/elementwise/activations", test_activations);
  g_test_add_func ("/ops/elementwise/mul-add-broadcast", test_mul_add_broadcast);
  g_test_add_func ("/ops/elementwise/strided-copy", test_strided_copy);
  g_test_add_func ("/ops/elementwise/bad-arguments", test_bad_arguments);
  int rc = g_test_run ();
  sinopia_test_context_finish ();
  return rc;
}
