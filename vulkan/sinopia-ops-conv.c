/* sinopia-ops-conv.c — 2-D convolution over [C, H·W] tensors (conv2d.comp). */
#define G_LOG_DOMAIN "sinopia-ops"

#include <string.h>

#include "sinopia-ops-private.h"

/* Mirrors shaders/conv2d-push.glsl field by field. */
typedef struct {
  uint32_t cin, cout;
  uint32_t height, width, out_height, out_width;
  uint32_t pad_top, pad_left;
  uint32_t x_off, x_stride, w_off, w_stride, bias_off, y_off, y_stride;
  uint32_t has_bias, accumulate;
  uint32_t strips_per_row;
} Conv2dPush;
G_STATIC_ASSERT (sizeof (Conv2dPush) == 18 * 4);
G_STATIC_ASSERT (sizeof (Conv2dPush) <= 128);

#define CONV_WG 64
/* Output channels per invocation: every loaded input value feeds CONV_CO × kernel FMAs. */
#define CONV_CO 4

void
sinopia_conv_output_size (const SinopiaConvShape *s, uint32_t *out_height, uint32_t *out_width)
{
  uint64_t h = (uint64_t) s->height + s->pad_top + s->pad_bottom;
  uint64_t w = (uint64_t) s->width + s->pad_left + s->pad_right;
  gboolean ok = s->stride > 0 && s->kernel > 0 && h >= s->kernel && w >= s->kernel;
  *out_height = ok ? (uint32_t) MIN ((h - s->kernel) / s->stride + 1, G_MAXUINT32) : 0;
  *out_width = ok ? (uint32_t) MIN ((w - s->kernel) / s->stride + 1, G_MAXUINT32) : 0;
}

static gboolean
aligned4 (uint64_t v)
{
  return v % 4 == 0;
}

/* The vec4 path reads whole aligned texels of every input row, so rows must start on a
 * texel and whole strips of `pix` pixels must tile each output row. */
static uint32_t
vec4_strip (const SinopiaTensor *x, const SinopiaConvShape *s, uint32_t out_width)
{
  static const uint32_t candidates[] = { 16, 8, 4 };
  if (!aligned4 (x->offset) || (x->rows > 1 && !aligned4 (x->stride)) || !aligned4 (s->width) ||
      s->pad_left > 4 || s->pad_right > 4)
    return 0;
  for (guint i = 0; i < G_N_ELEMENTS (candidates); i++)
    if (out_width % candidates[i] == 0)
      return candidates[i];
  return 0;
}

gboolean
sinopia_op_conv2d (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaConvShape *shape,
                   const SinopiaTensor *w, const SinopiaTensor *bias, gboolean accumulate,
                   const SinopiaTensor *y, GError **error)
{
  const char *op = "conv2d";
  const guint wmask = SINOPIA_DT (SINOPIA_DTYPE_F32) | SINOPIA_DT (SINOPIA_DTYPE_F16) |
                      SINOPIA_DT (SINOPIA_DTYPE_BF16);
  uint32_t ho, wo;

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!shape)
    return sinopia__invalid (error, op, "no shape");
  if (!sinopia__check_tensor (x, op, "the input", SINOPIA_DT (SINOPIA_DTYPE_F32), error) ||
      !sinopia__check_tensor (w, op, "the weights", wmask, error) ||
      !sinopia__check_tensor (y, op, "the output", SINOPIA_DT (SINOPIA_DTYPE_F32), error) ||
      (bias && !sinopia__check_tensor (bias, op, "the bias", SINOPIA_DT (SINOPIA_DTYPE_F32), error)))
    return FALSE;
  if (shape->kernel != 1 && shape->kernel != 3)
    return sinopia__invalid (error, op, "kernel size %u (only 1 and 3 are supported)", shape->kernel);
  if (shape->stride != 1 && shape->stride != 2)
    return sinopia__invalid (error, op, "stride %u (only 1 and 2 are supported)", shape->stride);
  if (shape->height == 0 || shape->width == 0)
    return sinopia__invalid (error, op, "empty input image %u×%u", shape->height, shape->width);
  if ((uint64_t) shape->height * shape->width != x->cols)
    return sinopia__invalid (error, op, "the input has %u columns, not %u×%u pixels", x->cols,
                             shape->height, shape->width);
  /* generous bounds that keep every index in the shader inside int32 */
  if (shape->pad_top > 1024 || shape->pad_left > 1024 || shape->pad_bottom > 1024 || shape->pad_right > 1024)
    return sinopia__invalid (error, op, "padding (%u, %u, %u, %u) is larger than 1024", shape->pad_top,
                             shape->pad_left, shape->pad_bottom, shape->pad_right);
  sinopia_conv_output_size (shape, &ho, &wo);
  if (ho == 0 || wo == 0)
    return sinopia__invalid (error, op, "a %u×%u kernel does not fit the padded %u×%u input", shape->kernel,
                             shape->kernel, shape->height, shape->width);
  uint64_t taps = (uint64_t) x->rows * shape->kernel * shape->kernel;
  if (w->rows != y->rows || w->cols != taps)
    return sinopia__invalid (error, op, "the weights are %u×%u, expected %u×%" G_GUINT64_FORMAT
                             " (out channels × in channels·%u·%u)", w->rows, w->cols, y->rows, taps,
                             shape->kernel, shape->kernel);
  if ((uint64_t) ho * wo != y->cols)
    return sinopia__invalid (error, op, "the output has %u columns, not %u×%u pixels", y->cols, ho, wo);
  if (bias && !sinopia__check_shape (bias, 1, y->rows, op, "the bias", error))
    return FALSE;
  if (x->buffer == y->buffer) {
    uint64_t x_end = x->offset + (uint64_t) (x->rows - 1) * x->stride + x->cols;
    uint64_t y_end = y->offset + (uint64_t) (y->rows - 1) * y->stride + y->cols;
    if (x->offset < y_end && y->offset < x_end)
      return sinopia__invalid (error, op, "the input and the output overlap");
  }

  const char *variant = g_getenv ("SINOPIA_CONV_VARIANT");
  gboolean force_scalar = variant && strcmp (variant, "scalar") == 0;
  if (variant && !force_scalar && strcmp (variant, "texel") != 0)
    return sinopia__invalid (error, op, "unknown SINOPIA_CONV_VARIANT \"%s\" (texel, scalar)", variant);
  uint32_t pix = force_scalar ? 0 : vec4_strip (x, shape, wo);
  gboolean vec4 = pix != 0;
  if (!vec4)
    pix = wo <= 4 ? 4 : 8;

  /* four input channels' weights are one aligned texel */
  gboolean wvec4 = !force_scalar && x->rows % 4 == 0 && aligned4 (w->offset) && aligned4 (w->stride);
  gboolean bf16 = w->buffer->dtype == SINOPIA_DTYPE_BF16;
  VkFormat wformat = sinopia__scalar_format (w->buffer->dtype);
  if (wvec4)
    wformat = bf16 ? VK_FORMAT_R32G32_UINT
            : w->buffer->dtype == SINOPIA_DTYPE_F16 ? VK_FORMAT_R16G16B16A16_SFLOAT
            : VK_FORMAT_R32G32B32A32_SFLOAT;
  Conv2dPush pc = {
    .cin = x->rows,
    .cout = y->rows,
    .height = shape->height,
    .width = shape->width,
    .out_height = ho,
    .out_width = wo,
    .pad_top = shape->pad_top,
    .pad_left = shape->pad_left,
    .x_off = (uint32_t) x->offset,
    .x_stride = x->stride,
    .w_off = (uint32_t) w->offset,
    .w_stride = w->stride,
    .bias_off = bias ? (uint32_t) bias->offset : 0,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
    .has_bias = bias != NULL,
    .accumulate = accumulate != FALSE,
    .strips_per_row = (wo + pix - 1) / pix,
  };
  static const char *const shaders[2][2][2] = {
    { { "conv2d", "conv2d_bf16" }, { "conv2d_wv", "conv2d_wv_bf16" } },
    { { "conv2d_xv", "conv2d_xv_bf16" }, { "conv2d_xv_wv", "conv2d_xv_wv_bf16" } },
  };
  SinopiaDispatch d = {
    .shader = shaders[vec4][wvec4][bf16],
    .n_bindings = 4,
    .bindings = {
      sinopia__texel (x, vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT),
      sinopia__texel (w, wformat),
      sinopia__texel (bias, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 6,
    .spec = { CONV_WG, shape->kernel, shape->stride, pix, CONV_CO, vec4 ? shape->pad_left : 0 },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) ho * pc.strips_per_row, CONV_WG, d.groups);
  d.groups[2] = (y->rows + CONV_CO - 1) / CONV_CO;
  return sinopia__recorder_dispatch (rec, &d, error);
}
