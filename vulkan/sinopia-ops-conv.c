/* sinopia-ops-conv.c — 2-D convolution over [C, H·W] tensors (conv2d.comp, conv2d-tiled.comp). */
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
/* conv2d-tiled.comp: 256 invocations per 64 × 64 tile of output channels × pixels */
#define CONV_TILED_WG 256
#define CONV_TILED_TILE 64

/* How one conv is cut into invocations and which shader variant reads it. */
typedef struct {
  uint32_t xw;       /* input columns per texel fetch: 4, 2 or 1 */
  gboolean wvec4;    /* four input channels' weights per texel fetch */
  uint32_t cib;      /* input channels per iteration with wvec4 */
  uint32_t pix;      /* output pixels per invocation (a strip of one row) */
  uint32_t co;       /* output channels per invocation */
  gboolean partial;  /* the last strip of each row is short */
} ConvPlan;

void
sinopia_conv_output_size (const SinopiaConvShape *s, uint32_t *out_height, uint32_t *out_width)
{
  uint64_t h = (uint64_t) s->height + s->pad_top + s->pad_bottom;
  uint64_t w = (uint64_t) s->width + s->pad_left + s->pad_right;
  gboolean ok = s->stride > 0 && s->kernel > 0 && h >= s->kernel && w >= s->kernel;
  *out_height = ok ? (uint32_t) MIN ((h - s->kernel) / s->stride + 1, G_MAXUINT32) : 0;
  *out_width = ok ? (uint32_t) MIN ((w - s->kernel) / s->stride + 1, G_MAXUINT32) : 0;
}

/* Input rows are read `xw` columns at a time when every row starts on such a texel; the
 * shader then only masks the outermost texels, which needs the padding to stay within one
 * texel on the right (and within 4 columns on the left, to bound the segment). */
static uint32_t
input_texel_width (const SinopiaTensor *x, const SinopiaConvShape *s)
{
  static const uint32_t widths[] = { 4, 2 };
  for (guint i = 0; i < G_N_ELEMENTS (widths); i++) {
    uint32_t n = widths[i];
    if (x->offset % n == 0 && (x->rows == 1 || x->stride % n == 0) && s->width % n == 0 &&
        s->pad_left <= 4 && s->pad_right <= n)
      return n;
  }
  return 1;
}

/* Measured on lavapipe (Zen 4, 128–512 channels, 3×3, 16²–128²): 8 output channels × 32
 * pixels per invocation is fastest, ~40 GFLOP per CPU-second; 4 output channels lose ~15 %.
 * Longer strips spill more registers; bf16 weights (unpacked in registers) prefer 16.
 * Each invocation also pays about as much as 4 pixels' worth of work for its weights and the
 * segment's halo, so a row of `out_width` pixels costs ~ceil(out_width / pix)·(pix + 4):
 * take the strip length that minimises that. Strips are multiples of 4 pixels, or of 2 with
 * 2-column texels (widths of 2 mod 4, such as the latents of 16·(2k+1)-pixel images); the
 * coarse steps also bound the number of pipelines to compile. */
static ConvPlan
plan_conv (const SinopiaTensor *x, const SinopiaConvShape *s, const SinopiaTensor *w, uint32_t cout,
           uint32_t out_width, gboolean scalar)
{
  ConvPlan plan = {
    .xw = scalar ? 1 : input_texel_width (x, s),
    .wvec4 = !scalar && x->rows % 4 == 0 && w->offset % 4 == 0 && (w->rows == 1 || w->stride % 4 == 0),
    .co = cout <= 4 ? 4 : 8,
  };
  /* a 1×1 conv loads one input texel per 4·co FMAs rather than per ~12·co: it is bound by
   * those loads, and gains (~15 %) from 8 channels per iteration and 16-pixel strips */
  gboolean pointwise = s->kernel == 1;
  uint32_t max_pix = w->buffer->dtype == SINOPIA_DTYPE_BF16 || pointwise ? 16 : 32;
  uint64_t best = G_MAXUINT64;
  uint32_t step = plan.xw == 2 ? 2 : 4;
  for (uint32_t pix = max_pix; pix >= step; pix -= step) {
    uint64_t cost = ((uint64_t) out_width + pix - 1) / pix * (pix + 4);
    if (cost < best) {
      best = cost;
      plan.pix = pix;
    }
  }
  plan.partial = out_width % plan.pix != 0;
  plan.cib = pointwise && x->rows % 8 == 0 ? 8 : 4;
  return plan;
}

static Conv2dPush
conv_push (const SinopiaTensor *x, const SinopiaConvShape *shape, uint32_t ho, uint32_t wo,
           const SinopiaTensor *w, const SinopiaTensor *bias, gboolean accumulate, const SinopiaTensor *y,
           uint32_t strips_per_row)
{
  return (Conv2dPush) {
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
    .strips_per_row = strips_per_row,
  };
}

static gboolean
conv2d_tiled (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaConvShape *shape, uint32_t ho,
              uint32_t wo, const SinopiaTensor *w, const SinopiaTensor *bias, gboolean accumulate,
              const SinopiaTensor *y, GError **error)
{
  gboolean bf16 = w->buffer->dtype == SINOPIA_DTYPE_BF16;
  Conv2dPush pc = conv_push (x, shape, ho, wo, w, bias, accumulate, y, 0);
  SinopiaDispatch d = {
    .shader = bf16 ? "conv2d_tiled_bf16" : "conv2d_tiled",
    .n_bindings = 4,
    .bindings = {
      sinopia__texel (x, VK_FORMAT_R32_SFLOAT),
      sinopia__texel (w, sinopia__scalar_format (w->buffer->dtype)),
      sinopia__texel (bias, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 3,
    .spec = { CONV_TILED_WG, shape->kernel, shape->stride },
    .push = &pc,
    .push_size = sizeof pc,
  };
  /* one workgroup per pixel tile (x, y) and per channel tile (z) */
  sinopia__grid (((uint64_t) ho * wo + CONV_TILED_TILE - 1) / CONV_TILED_TILE, 1, d.groups);
  d.groups[2] = (y->rows + CONV_TILED_TILE - 1) / CONV_TILED_TILE;
  return sinopia__recorder_dispatch (rec, &d, error);
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

  /* conv2d.comp's big register blocks suit lavapipe; GPUs get the shared-memory tiles of
   * conv2d-tiled.comp. SINOPIA_CONV_VARIANT picks one by name (tests run them all). */
  SinopiaVkContext *ctx = sinopia__recorder_context (rec);
  gboolean tiled_ok = ctx->props.limits.maxComputeWorkGroupInvocations >= CONV_TILED_WG &&
                      ctx->props.limits.maxComputeWorkGroupSize[0] >= CONV_TILED_WG;
  const char *variant = g_getenv ("SINOPIA_CONV_VARIANT");
  if (!variant)
    variant = ctx->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU && tiled_ok ? "tiled" : "texel";
  gboolean scalar = strcmp (variant, "scalar") == 0;
  if (!scalar && strcmp (variant, "texel") != 0 && strcmp (variant, "tiled") != 0)
    return sinopia__invalid (error, op, "unknown SINOPIA_CONV_VARIANT \"%s\" (texel, scalar, tiled)", variant);
  if (strcmp (variant, "tiled") == 0 && tiled_ok)
    return conv2d_tiled (rec, x, shape, ho, wo, w, bias, accumulate, y, error);
  ConvPlan plan = plan_conv (x, shape, w, y->rows, wo, scalar);

  SinopiaDType wdt = w->buffer->dtype;
  VkFormat wformat = sinopia__scalar_format (wdt);
  if (plan.wvec4)
    wformat = wdt == SINOPIA_DTYPE_BF16 ? VK_FORMAT_R32G32_UINT
            : wdt == SINOPIA_DTYPE_F16 ? VK_FORMAT_R16G16B16A16_SFLOAT
            : VK_FORMAT_R32G32B32A32_SFLOAT;
  VkFormat xformat = plan.xw == 4 ? VK_FORMAT_R32G32B32A32_SFLOAT
                   : plan.xw == 2 ? VK_FORMAT_R32G32_UINT
                   : VK_FORMAT_R32_SFLOAT;
  /* [xw 1, 2, 4][wvec4][bf16]; static: the recorder keeps the name for its profile */
  static const char *const shaders[3][2][2] = {
    { { "conv2d_x1", "conv2d_x1_bf16" }, { "conv2d_x1_wv", "conv2d_x1_wv_bf16" } },
    { { "conv2d_x2", "conv2d_x2_bf16" }, { "conv2d_x2_wv", "conv2d_x2_wv_bf16" } },
    { { "conv2d_x4", "conv2d_x4_bf16" }, { "conv2d_x4_wv", "conv2d_x4_wv_bf16" } },
  };
  const char *shader = shaders[plan.xw / 2][plan.wvec4][wdt == SINOPIA_DTYPE_BF16];
  Conv2dPush pc = conv_push (x, shape, ho, wo, w, bias, accumulate, y, (wo + plan.pix - 1) / plan.pix);
  SinopiaDispatch d = {
    .shader = shader,
    .n_bindings = 4,
    .bindings = {
      sinopia__texel (x, xformat),
      sinopia__texel (w, wformat),
      sinopia__texel (bias, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 8,
    .spec = { CONV_WG, shape->kernel, shape->stride, plan.pix, plan.co, plan.xw > 1 ? shape->pad_left : 0,
              plan.xw > 1 && plan.partial, plan.cib },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) ho * pc.strips_per_row, CONV_WG, d.groups);
  d.groups[2] = (y->rows + plan.co - 1) / plan.co;
  return sinopia__recorder_dispatch (rec, &d, error);
}
