/* sinopia-ops-image.c — group norm and nearest-neighbour upsampling over [C, H·W] tensors
 * (group-norm.comp, upsample.comp). */
#define G_LOG_DOMAIN "sinopia-ops"

#include <math.h>

#include "sinopia-ops-private.h"

/* Mirrors shaders/group-norm-push.glsl field by field. */
typedef struct {
  uint32_t groups, per_group, pixels;
  uint32_t x_off, x_stride, y_off, y_stride, weight_off, bias_off;
  uint32_t has_weight, has_bias, silu;
  float eps;
} GroupNormPush;
G_STATIC_ASSERT (sizeof (GroupNormPush) == 13 * 4);

/* Mirrors shaders/upsample-push.glsl field by field. */
typedef struct {
  uint32_t channels, height, width;
  uint32_t x_off, x_stride, y_off, y_stride;
} UpsamplePush;
G_STATIC_ASSERT (sizeof (UpsamplePush) == 7 * 4);

/* One workgroup per group; a power of two for the shader's tree reduction. */
#define GROUP_NORM_WG 64

static gboolean
aligned4 (const SinopiaTensor *t)
{
  return t->offset % 4 == 0 && (t->rows == 1 || t->stride % 4 == 0) && t->cols % 4 == 0;
}

gboolean
sinopia_op_group_norm (SinopiaRecorder *rec, const SinopiaTensor *x, uint32_t groups,
                       const SinopiaTensor *weight, const SinopiaTensor *bias, float eps,
                       gboolean silu, const SinopiaTensor *y, GError **error)
{
  const char *op = "group_norm";
  const guint f32 = SINOPIA_DT (SINOPIA_DTYPE_F32);

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (x, op, "the input", f32, error) ||
      !sinopia__check_tensor (y, op, "the output", f32, error) ||
      (weight && !sinopia__check_tensor (weight, op, "the weight", f32, error)) ||
      (bias && !sinopia__check_tensor (bias, op, "the bias", f32, error)) ||
      !sinopia__check_shape (y, x->rows, x->cols, op, "the output", error) ||
      (weight && !sinopia__check_shape (weight, 1, x->rows, op, "the weight", error)) ||
      (bias && !sinopia__check_shape (bias, 1, x->rows, op, "the bias", error)))
    return FALSE;
  if (groups == 0 || x->rows % groups != 0)
    return sinopia__invalid (error, op, "%u channels do not split into %u groups", x->rows, groups);
  /* in place is fine (each value is read before its own write); a partial overlap is not */
  if (x->buffer == y->buffer && (x->offset != y->offset || x->stride != y->stride)) {
    uint64_t x_end = x->offset + (uint64_t) (x->rows - 1) * x->stride + x->cols;
    uint64_t y_end = y->offset + (uint64_t) (y->rows - 1) * y->stride + y->cols;
    if (x->offset < y_end && y->offset < x_end)
      return sinopia__invalid (error, op, "the input and the output partly overlap");
  }
  if (!(eps >= 0.0f) || isinf (eps))
    return sinopia__invalid (error, op, "eps %g is not a finite non-negative number", eps);

  gboolean vec4 = aligned4 (x) && aligned4 (y);
  GroupNormPush pc = {
    .groups = groups,
    .per_group = x->rows / groups,
    .pixels = x->cols,
    .x_off = (uint32_t) x->offset,
    .x_stride = x->stride,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
    .weight_off = weight ? (uint32_t) weight->offset : 0,
    .bias_off = bias ? (uint32_t) bias->offset : 0,
    .has_weight = weight != NULL,
    .has_bias = bias != NULL,
    .silu = silu != FALSE,
    .eps = eps,
  };
  SinopiaDispatch d = {
    .shader = vec4 ? "group_norm_vec4" : "group_norm",
    .n_bindings = 4,
    .bindings = {
      sinopia__texel (x, vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT),
      sinopia__texel (weight, VK_FORMAT_R32_SFLOAT),
      sinopia__texel (bias, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { GROUP_NORM_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  /* one workgroup per group: sinopia__grid counts invocations */
  sinopia__grid (groups, 1, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_upsample_nearest2x (SinopiaRecorder *rec, const SinopiaTensor *x, uint32_t height,
                               uint32_t width, const SinopiaTensor *y, GError **error)
{
  const char *op = "upsample_nearest2x";
  const guint f32 = SINOPIA_DT (SINOPIA_DTYPE_F32);

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (x, op, "the input", f32, error) ||
      !sinopia__check_tensor (y, op, "the output", f32, error))
    return FALSE;
  if ((uint64_t) height * width != x->cols)
    return sinopia__invalid (error, op, "the input has %u columns, not %u×%u pixels", x->cols, height, width);
  if ((uint64_t) height * width * 4 != y->cols || y->rows != x->rows)
    return sinopia__invalid (error, op, "the output is %u×%u, expected %u×%" G_GUINT64_FORMAT, y->rows,
                             y->cols, x->rows, (uint64_t) height * width * 4);
  if (x->buffer == y->buffer) {
    uint64_t x_end = x->offset + (uint64_t) (x->rows - 1) * x->stride + x->cols;
    uint64_t y_end = y->offset + (uint64_t) (y->rows - 1) * y->stride + y->cols;
    if (x->offset < y_end && y->offset < x_end)
      return sinopia__invalid (error, op, "the input and the output overlap");
  }

  gboolean vec4 = width % 4 == 0 && x->offset % 4 == 0 && y->offset % 4 == 0 &&
                  (x->rows == 1 || (x->stride % 4 == 0 && y->stride % 4 == 0));
  UpsamplePush pc = {
    .channels = x->rows,
    .height = height,
    .width = width,
    .x_off = (uint32_t) x->offset,
    .x_stride = x->stride,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
  };
  SinopiaDispatch d = {
    .shader = vec4 ? "upsample_vec4" : "upsample",
    .n_bindings = 2,
    .bindings = {
      sinopia__texel (x, vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) x->rows * x->cols / (vec4 ? 4 : 1), SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}
