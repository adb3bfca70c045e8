/* sinopia-ops-norm.c — LayerNorm with AdaLN modulation and grouped RMSNorm (layer-norm.comp, rms-norm.comp). */
#define G_LOG_DOMAIN "sinopia-ops"

#include <math.h>

#include "sinopia-ops-private.h"

/* Mirrors shaders/layer-norm-push.glsl field by field. */
typedef struct {
  uint32_t rows, cols;
  uint32_t x_off, x_stride, y_off, y_stride;
  uint32_t weight_off, bias_off, shift_off, scale_off;
  uint32_t has_weight, has_bias, has_shift, has_scale;
  float eps;
  uint32_t split, shift_off_b, scale_off_b;
} LayerNormPush;
G_STATIC_ASSERT (sizeof (LayerNormPush) == 18 * 4);

/* Mirrors shaders/rms-norm-push.glsl field by field. */
typedef struct {
  uint32_t rows, groups, group;
  uint32_t x_off, x_stride, y_off, y_stride;
  uint32_t weight_off;
  float eps;
} RmsNormPush;
G_STATIC_ASSERT (sizeof (RmsNormPush) == 9 * 4);

#define F32 SINOPIA_DT (SINOPIA_DTYPE_F32)

/* Whether each row of t starts on a 4-element boundary, so it can be read as vec4 texels. */
static gboolean
aligned4 (const SinopiaTensor *t)
{
  return !t || (t->offset % 4 == 0 && (t->rows == 1 || t->stride % 4 == 0));
}

/* An optional per-column row vector: absent, or f32 [1, cols]. `present` may be NULL. */
static gboolean
check_row (const SinopiaTensor *t, uint32_t cols, const char *op, const char *what, uint32_t *off,
           uint32_t *present, GError **error)
{
  if (!t)
    return TRUE;
  if (!sinopia__check_tensor (t, op, what, F32, error) || !sinopia__check_shape (t, 1, cols, op, what, error))
    return FALSE;
  *off = (uint32_t) t->offset;
  if (present)
    *present = 1;
  return TRUE;
}

static gboolean
check_input_output (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *y, float eps,
                    const char *op, GError **error)
{
  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (x, op, "the input", F32, error) ||
      !sinopia__check_tensor (y, op, "the output", F32, error) ||
      !sinopia__check_shape (y, x->rows, x->cols, op, "the output", error))
    return FALSE;
  if (!isfinite (eps) || eps < 0.0f)
    return sinopia__invalid (error, op, "eps %g is not a finite value >= 0", eps);
  return TRUE;
}

static gboolean
record_layer_norm (SinopiaRecorder *rec, const char *op, const SinopiaTensor *x, const SinopiaTensor *weight,
                   const SinopiaTensor *bias, const SinopiaTensor *shift, const SinopiaTensor *scale,
                   const SinopiaStreamSplit *split, float eps, const SinopiaTensor *y, GError **error)
{
  LayerNormPush pc = { .eps = eps };
  gboolean one_dispatch = TRUE;

  if (!check_input_output (rec, x, y, eps, op, error) ||
      !check_row (weight, x->cols, op, "the weight", &pc.weight_off, &pc.has_weight, error) ||
      !check_row (bias, x->cols, op, "the bias", &pc.bias_off, &pc.has_bias, error) ||
      !check_row (shift, x->cols, op, "the shift", &pc.shift_off, &pc.has_shift, error) ||
      !check_row (scale, x->cols, op, "the scale", &pc.scale_off, &pc.has_scale, error))
    return FALSE;
  pc.split = x->rows;
  pc.shift_off_b = pc.shift_off;
  pc.scale_off_b = pc.scale_off;
  if (split) {
    if (!sinopia__check_split_row (split, x->rows, op, error) ||
        !check_row (split->shift, x->cols, op, "the second stream's shift", &pc.shift_off_b, NULL, error) ||
        !check_row (split->scale, x->cols, op, "the second stream's scale", &pc.scale_off_b, NULL, error) ||
        !sinopia__check_split_view (shift, split->shift, op, "shift", &one_dispatch, error) ||
        !sinopia__check_split_view (scale, split->scale, op, "scale", &one_dispatch, error))
      return FALSE;
    pc.split = split->row;
    if (!one_dispatch || !aligned4 (split->shift) || !aligned4 (split->scale)) {
      SinopiaTensor xa, xb, ya, yb;
      sinopia__split_rows (x, split->row, &xa, &xb);
      sinopia__split_rows (y, split->row, &ya, &yb);
      return (xa.rows == 0 || record_layer_norm (rec, op, &xa, weight, bias, shift, scale, NULL, eps, &ya, error)) &&
             (xb.rows == 0 ||
              record_layer_norm (rec, op, &xb, weight, bias, split->shift, split->scale, NULL, eps, &yb, error));
    }
  }
  pc.rows = x->rows;
  pc.cols = x->cols;
  pc.x_off = (uint32_t) x->offset;
  pc.x_stride = x->stride;
  pc.y_off = (uint32_t) y->offset;
  pc.y_stride = y->stride;

  /* Quads cut the texel fetches and the (per-lane, on lavapipe) stores by four. */
  gboolean vec4 = x->cols % 4 == 0 && aligned4 (x) && aligned4 (y) && aligned4 (weight) && aligned4 (bias) &&
                  aligned4 (shift) && aligned4 (scale);
  VkFormat format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
  SinopiaDispatch d = {
    .shader = vec4 ? "layer_norm_vec4" : "layer_norm",
    .n_bindings = 6,
    .bindings = {
      sinopia__texel (x, format),
      sinopia__texel (weight, format),
      sinopia__texel (bias, format),
      sinopia__texel (shift, format),
      sinopia__texel (scale, format),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid (x->rows, SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_layer_norm (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *weight,
                       const SinopiaTensor *bias, const SinopiaTensor *shift, const SinopiaTensor *scale,
                       float eps, const SinopiaTensor *y, GError **error)
{
  return record_layer_norm (rec, "layer_norm", x, weight, bias, shift, scale, NULL, eps, y, error);
}

gboolean
sinopia_op_layer_norm_split (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *shift,
                             const SinopiaTensor *scale, const SinopiaStreamSplit *split, float eps,
                             const SinopiaTensor *y, GError **error)
{
  if (!split)
    return sinopia__invalid (error, "layer_norm_split", "the stream split is missing");
  return record_layer_norm (rec, "layer_norm_split", x, NULL, NULL, shift, scale, split, eps, y, error);
}

gboolean
sinopia_op_rms_norm (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *weight,
                     uint32_t group, float eps, const SinopiaTensor *y, GError **error)
{
  const char *op = "rms_norm";
  RmsNormPush pc = { .eps = eps, .group = group };

  if (!check_input_output (rec, x, y, eps, op, error))
    return FALSE;
  if (group == 0 || x->cols % group != 0)
    return sinopia__invalid (error, op, "a group of %u columns does not divide the %u columns", group, x->cols);
  if (!weight)
    return sinopia__invalid (error, op, "the weight is missing");
  if (!check_row (weight, group, op, "the weight", &pc.weight_off, NULL, error))
    return FALSE;
  pc.rows = x->rows;
  pc.groups = x->cols / group;
  pc.x_off = (uint32_t) x->offset;
  pc.x_stride = x->stride;
  pc.y_off = (uint32_t) y->offset;
  pc.y_stride = y->stride;

  /* A group starting on a quad keeps every later group on one: strides and the group are multiples of 4. */
  gboolean vec4 = group % 4 == 0 && aligned4 (x) && aligned4 (y) && aligned4 (weight);
  VkFormat format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
  SinopiaDispatch d = {
    .shader = vec4 ? "rms_norm_vec4" : "rms_norm",
    .n_bindings = 3,
    .bindings = {
      sinopia__texel (x, format),
      sinopia__texel (weight, format),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) pc.rows * pc.groups, SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}
