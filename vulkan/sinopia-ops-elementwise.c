/* sinopia-ops-elementwise.c — activation, mul_add, gated residual add (elementwise.comp). */
#define G_LOG_DOMAIN "sinopia-ops"

#include "sinopia-ops-private.h"

/* Mirrors shaders/elementwise-push.glsl field by field. */
typedef struct {
  uint32_t rows, cols;
  uint32_t a_off, a_stride, b_off, b_stride, c_off, c_stride, y_off, y_stride;
  uint32_t has_b, has_c, act;
  float scale;
} ElementwisePush;
G_STATIC_ASSERT (sizeof (ElementwisePush) == 14 * 4);

/* An operand is either y's full shape or one row broadcast over y's rows. */
static gboolean
check_operand (const SinopiaTensor *t, const SinopiaTensor *y, const char *op, const char *what,
               uint32_t *off, uint32_t *stride, GError **error)
{
  if (!sinopia__check_tensor (t, op, what, SINOPIA_DT (SINOPIA_DTYPE_F32), error))
    return FALSE;
  if (t->cols != y->cols || (t->rows != y->rows && t->rows != 1))
    return sinopia__invalid (error, op, "%s is %u×%u; it must be %u×%u or 1×%u", what, t->rows, t->cols,
                             y->rows, y->cols, y->cols);
  *off = (uint32_t) t->offset;
  *stride = t->rows == 1 && y->rows != 1 ? 0 : t->stride;
  return TRUE;
}

static gboolean
elementwise (SinopiaRecorder *rec, const char *op, const SinopiaTensor *a, const SinopiaTensor *b,
             const SinopiaTensor *c, float scale, SinopiaActivation act, const SinopiaTensor *y,
             GError **error)
{
  ElementwisePush pc = { .scale = scale, .act = act };

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (y, op, "the output", SINOPIA_DT (SINOPIA_DTYPE_F32), error) ||
      !check_operand (a, y, op, "the first operand", &pc.a_off, &pc.a_stride, error) ||
      (b && !check_operand (b, y, op, "the second operand", &pc.b_off, &pc.b_stride, error)) ||
      (c && !check_operand (c, y, op, "the addend", &pc.c_off, &pc.c_stride, error)))
    return FALSE;
  if ((guint) act > SINOPIA_ACT_QUICK_GELU)
    return sinopia__invalid (error, op, "unknown activation %d", act);
  pc.rows = y->rows;
  pc.cols = y->cols;
  pc.y_off = (uint32_t) y->offset;
  pc.y_stride = y->stride;
  pc.has_b = b != NULL;
  pc.has_c = c != NULL;

  SinopiaDispatch d = {
    .shader = "elementwise",
    .n_bindings = 4,
    .bindings = {
      sinopia__texel (a, VK_FORMAT_R32_SFLOAT),
      sinopia__texel (b, VK_FORMAT_R32_SFLOAT),
      sinopia__texel (c, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) y->rows * y->cols, SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_activation (SinopiaRecorder *rec, const SinopiaTensor *x, SinopiaActivation act,
                       const SinopiaTensor *y, GError **error)
{
  if (x && y && (x->rows != y->rows || x->cols != y->cols))
    return sinopia__invalid (error, "activation", "input %u×%u and output %u×%u differ",
                             x->rows, x->cols, y->rows, y->cols);
  return elementwise (rec, "activation", x, NULL, NULL, 1.0f, act, y, error);
}

gboolean
sinopia_op_mul_add (SinopiaRecorder *rec, const SinopiaTensor *a, const SinopiaTensor *b,
                    const SinopiaTensor *c, float scale, const SinopiaTensor *y, GError **error)
{
  return elementwise (rec, "mul_add", a, b, c, scale, SINOPIA_ACT_NONE, y, error);
}

gboolean
sinopia_op_gated_add (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *gate,
                      const SinopiaTensor *y, GError **error)
{
  if (gate && gate->rows != 1)
    return sinopia__invalid (error, "gated_add", "the gate must be one row, not %u", gate->rows);
  if (x && y && (x->rows != y->rows || x->cols != y->cols))
    return sinopia__invalid (error, "gated_add", "x %u×%u and y %u×%u differ", x->rows, x->cols, y->rows, y->cols);
  return elementwise (rec, "gated_add", gate, y, x, 1.0f, SINOPIA_ACT_NONE, x, error);
}
