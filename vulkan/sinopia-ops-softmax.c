/* sinopia-ops-softmax.c — row softmax (softmax.comp), in place allowed. */
#define G_LOG_DOMAIN "sinopia-ops"

#include "sinopia-ops-private.h"

/* Mirrors shaders/softmax-push.glsl field by field. */
typedef struct {
  uint32_t rows, cols;
  uint32_t x_off, x_stride, y_off, y_stride;
} SoftmaxPush;
G_STATIC_ASSERT (sizeof (SoftmaxPush) == 6 * 4);

/* Rows are independent and short next to the work per element, so one invocation per row
 * with a small workgroup keeps both CPU threads busy even for a few dozen rows. */
#define SOFTMAX_WG 8

static gboolean
same_view (const SinopiaTensor *a, const SinopiaTensor *b)
{
  return a->buffer == b->buffer && a->offset == b->offset && a->rows == b->rows && a->cols == b->cols &&
         (a->rows == 1 || a->stride == b->stride);
}

static gboolean
spans_overlap (const SinopiaTensor *a, const SinopiaTensor *b)
{
  uint64_t a_end = a->offset + (uint64_t) (a->rows - 1) * a->stride + a->cols;
  uint64_t b_end = b->offset + (uint64_t) (b->rows - 1) * b->stride + b->cols;
  return a->buffer == b->buffer && a->offset < b_end && b->offset < a_end;
}

gboolean
sinopia_op_softmax (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *y, GError **error)
{
  const guint f32 = SINOPIA_DT (SINOPIA_DTYPE_F32);

  if (!rec)
    return sinopia__invalid (error, "softmax", "no recorder");
  if (!sinopia__check_tensor (x, "softmax", "the input", f32, error) ||
      !sinopia__check_tensor (y, "softmax", "the output", f32, error) ||
      !sinopia__check_shape (y, x->rows, x->cols, "softmax", "the output", error))
    return FALSE;
  /* In place works row by row; a shifted overlap would read elements another row already wrote. */
  if (!same_view (x, y) && spans_overlap (x, y))
    return sinopia__invalid (error, "softmax", "the output partly overlaps the input");

  gboolean vec4 = x->cols % 4 == 0 && x->offset % 4 == 0 && (x->rows == 1 || x->stride % 4 == 0);
  SoftmaxPush pc = {
    .rows = x->rows,
    .cols = x->cols,
    .x_off = (uint32_t) (vec4 ? x->offset / 4 : x->offset),
    .x_stride = vec4 ? x->stride / 4 : x->stride,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
  };
  SinopiaDispatch d = {
    .shader = vec4 ? "softmax_vec4" : "softmax",
    .n_bindings = 2,
    .bindings = {
      sinopia__texel (x, vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SOFTMAX_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid (x->rows, SOFTMAX_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}
