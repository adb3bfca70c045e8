/* sinopia-ops-matmul.c — y = act(x·wᵀ + bias) (+ y): variant choice and dispatch (matmul*.comp). */
#define G_LOG_DOMAIN "sinopia-ops"

#include "sinopia-ops-private.h"

/* Mirrors shaders/matmul-push.glsl field by field. */
typedef struct {
  uint32_t M, N, K, k_steps;
  uint32_t x_off, x_stride, w_off, w_stride;
  uint32_t b_off, has_bias;
  uint32_t y_off, y_stride;
  uint32_t act, accumulate;
  uint32_t g_off, has_gate;
  uint32_t tiles_n;
  uint32_t split, w_off_b, b_off_b, g_off_b;
} MatmulPush;
G_STATIC_ASSERT (sizeof (MatmulPush) == 21 * 4);

/* Invocations per workgroup of matmul.comp (16 measured best on llvmpipe, 8 and 64 within
 * a few percent), and the output tile and workgroup size of matmul-tiled.comp. */
#define TEXEL_WG 16
#define TILED_BM 64
#define TILED_BN 64
#define TILED_WG 256

typedef enum {
  VARIANT_TEXEL,   /* vec4 texel reads, register-blocked: CPU devices (falls back to SCALAR) */
  VARIANT_SCALAR,  /* register-blocked with scalar texel reads: any alignment */
  VARIANT_TILED,   /* shared-memory tiles: GPUs */
} Variant;

static const char *const variant_names[] = { "texel", "scalar", "tiled" };

/* How a matmul.comp build reads its operands: texels of `x_per`/`w_per` elements,
 * `k_per_step` elements of K per loop iteration, rm × rn outputs per invocation (its RM, RN). */
typedef struct {
  const char *shader;
  VkFormat x_format, w_format;
  uint32_t x_per, w_per, k_per_step;
  uint32_t rm, rn;
} Layout;

#define VEC4_F32 VK_FORMAT_R32G32B32A32_SFLOAT
static const Layout texel_layouts[] = {
  [SINOPIA_DTYPE_F32] = { "matmul_f32", VEC4_F32, VEC4_F32, 4, 4, 8, 8, 32 },
  [SINOPIA_DTYPE_F16] = { "matmul_f16", VEC4_F32, VK_FORMAT_R32G32B32A32_UINT, 4, 8, 8, 8, 32 },
  [SINOPIA_DTYPE_BF16] = { "matmul_bf16", VEC4_F32, VK_FORMAT_R32G32B32A32_UINT, 4, 8, 8, 8, 32 },
};
static const char *const scalar_shaders[] = {
  [SINOPIA_DTYPE_F32] = "matmul_scalar_f32",
  [SINOPIA_DTYPE_F16] = "matmul_scalar_f16",
  [SINOPIA_DTYPE_BF16] = "matmul_scalar_bf16",
};
static const char *const tiled_shaders[] = {
  [SINOPIA_DTYPE_F32] = "matmul_tiled_f32",
  [SINOPIA_DTYPE_F16] = "matmul_tiled_f16",
  [SINOPIA_DTYPE_BF16] = "matmul_tiled_bf16",
};

/* $SINOPIA_MATMUL_VARIANT (read at every call, so tests can switch) or the device's kind. */
static gboolean
choose_variant (SinopiaVkContext *ctx, Variant *variant, GError **error)
{
  const char *env = g_getenv ("SINOPIA_MATMUL_VARIANT");
  if (env && *env) {
    for (guint i = 0; i < G_N_ELEMENTS (variant_names); i++)
      if (g_ascii_strcasecmp (env, variant_names[i]) == 0) {
        *variant = (Variant) i;
        return TRUE;
      }
    return sinopia__invalid (error, "matmul", "SINOPIA_MATMUL_VARIANT=%s is not one of texel, scalar, tiled", env);
  }
  if (ctx->props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU)
    *variant = VARIANT_TEXEL;
  else if (ctx->props.limits.maxComputeWorkGroupInvocations < TILED_WG)
    *variant = VARIANT_SCALAR;  /* Vulkan only promises 128 invocations */
  else
    *variant = VARIANT_TILED;
  return TRUE;
}

/* A view can be read `per` elements at a time when its start, and its row stride where
 * there is more than one row, fall on texel boundaries. */
static gboolean
aligned (const SinopiaTensor *t, uint32_t per)
{
  return t->offset % per == 0 && (t->rows == 1 || t->stride % per == 0);
}

static uint32_t
div_up (uint32_t a, uint32_t b)
{
  return (uint32_t) (((uint64_t) a + b - 1) / b);
}

#define WEIGHT_TYPES (SINOPIA_DT (SINOPIA_DTYPE_F32) | SINOPIA_DT (SINOPIA_DTYPE_F16) | SINOPIA_DT (SINOPIA_DTYPE_BF16))

static gboolean record_matmul (SinopiaRecorder *rec, const char *op, const SinopiaTensor *x, const SinopiaTensor *w,
                               const SinopiaTensor *bias, SinopiaActivation act, gboolean accumulate,
                               const SinopiaTensor *gate, const SinopiaStreamSplit *split, const SinopiaTensor *y,
                               GError **error);

/* The two streams as two dispatches, each over its own rows. */
static gboolean
record_streams (SinopiaRecorder *rec, const char *op, const SinopiaTensor *x, const SinopiaTensor *w,
                const SinopiaTensor *bias, SinopiaActivation act, gboolean accumulate, const SinopiaTensor *gate,
                const SinopiaStreamSplit *split, const SinopiaTensor *y, GError **error)
{
  SinopiaTensor xa, xb, ya, yb;
  sinopia__split_rows (x, split->row, &xa, &xb);
  sinopia__split_rows (y, split->row, &ya, &yb);
  return (xa.rows == 0 || record_matmul (rec, op, &xa, w, bias, act, accumulate, gate, NULL, &ya, error)) &&
         (xb.rows == 0 || record_matmul (rec, op, &xb, split->w, split->bias, act, accumulate, split->gate, NULL,
                                         &yb, error));
}

/* Checks a split against the first stream's operands; *one_dispatch tells whether a single
 * dispatch can read both streams' weights, biases and gates. */
static gboolean
check_split (const char *op, const SinopiaTensor *x, const SinopiaTensor *w, const SinopiaTensor *bias,
             const SinopiaTensor *gate, const SinopiaStreamSplit *split, gboolean *one_dispatch, GError **error)
{
  *one_dispatch = TRUE;
  return sinopia__check_split_row (split, x->rows, op, error) &&
         sinopia__check_tensor (split->w, op, "the second stream's weight", WEIGHT_TYPES, error) &&
         sinopia__check_split_view (w, split->w, op, "weight", one_dispatch, error) &&
         sinopia__check_split_view (bias, split->bias, op, "bias", one_dispatch, error) &&
         sinopia__check_split_view (gate, split->gate, op, "gate", one_dispatch, error) &&
         (!split->bias || sinopia__check_tensor (split->bias, op, "the second stream's bias",
                                                 SINOPIA_DT (SINOPIA_DTYPE_F32), error)) &&
         (!split->gate || sinopia__check_tensor (split->gate, op, "the second stream's gate",
                                                 SINOPIA_DT (SINOPIA_DTYPE_F32), error));
}

static gboolean
record_matmul (SinopiaRecorder *rec, const char *op, const SinopiaTensor *x, const SinopiaTensor *w,
               const SinopiaTensor *bias, SinopiaActivation act, gboolean accumulate, const SinopiaTensor *gate,
               const SinopiaStreamSplit *split, const SinopiaTensor *y, GError **error)
{
  Variant variant = VARIANT_TEXEL;
  gboolean one_dispatch = FALSE;

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (x, op, "the input", SINOPIA_DT (SINOPIA_DTYPE_F32), error) ||
      !sinopia__check_tensor (w, op, "the weight", WEIGHT_TYPES, error) ||
      !sinopia__check_tensor (y, op, "the output", SINOPIA_DT (SINOPIA_DTYPE_F32), error) ||
      (bias && !sinopia__check_tensor (bias, op, "the bias", SINOPIA_DT (SINOPIA_DTYPE_F32), error)) ||
      (gate && !sinopia__check_tensor (gate, op, "the gate", SINOPIA_DT (SINOPIA_DTYPE_F32), error)))
    return FALSE;
  if (x->cols != w->cols)
    return sinopia__invalid (error, op, "the input has %u columns but the weight %u×%u expects %u",
                             x->cols, w->rows, w->cols, w->cols);
  if (!sinopia__check_shape (y, x->rows, w->rows, op, "the output", error) ||
      (bias && !sinopia__check_shape (bias, 1, w->rows, op, "the bias", error)) ||
      (gate && !sinopia__check_shape (gate, 1, w->rows, op, "the gate", error)))
    return FALSE;
  if ((guint) act > SINOPIA_ACT_QUICK_GELU)
    return sinopia__invalid (error, op, "unknown activation %d", act);
  if (!choose_variant (sinopia__recorder_context (rec), &variant, error) ||
      (split && !check_split (op, x, w, bias, gate, split, &one_dispatch, error)))
    return FALSE;

  SinopiaDType wt = w->buffer->dtype;
  Layout layout = { NULL, VK_FORMAT_R32_SFLOAT, sinopia__scalar_format (wt), 1, 1, 4, 4, 16 };
  const Layout *vec = &texel_layouts[wt];
  if (variant == VARIANT_TEXEL && x->cols % vec->k_per_step == 0 && aligned (x, vec->x_per) &&
      aligned (w, vec->w_per))
    layout = *vec;
  else if (variant == VARIANT_TILED)
    layout.shader = tiled_shaders[wt];
  else
    layout.shader = scalar_shaders[wt];
  /* One dispatch takes both streams when no row tile straddles the split and the second
   * stream's views read through the same texels as the first's. matmul-tiled.comp has no split. */
  if (split && (!one_dispatch || variant == VARIANT_TILED || split->row % layout.rm != 0 ||
                (layout.shader == vec->shader && !aligned (split->w, vec->w_per))))
    return record_streams (rec, op, x, w, bias, act, accumulate, gate, split, y, error);

  MatmulPush pc = {
    .M = x->rows,
    .N = w->rows,
    .K = x->cols,
    .k_steps = x->cols / layout.k_per_step,
    .x_off = (uint32_t) (x->offset / layout.x_per),
    .x_stride = x->stride / layout.x_per,
    .w_off = (uint32_t) (w->offset / layout.w_per),
    .w_stride = w->stride / layout.w_per,
    .b_off = bias ? (uint32_t) bias->offset : 0,
    .has_bias = bias != NULL,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
    .act = act,
    .accumulate = accumulate != FALSE,
    .g_off = gate ? (uint32_t) gate->offset : 0,
    .has_gate = gate != NULL,
    .split = split ? split->row : x->rows,
  };
  pc.w_off_b = split ? (uint32_t) (split->w->offset / layout.w_per) : pc.w_off;
  pc.b_off_b = split && split->bias ? (uint32_t) split->bias->offset : pc.b_off;
  pc.g_off_b = split && split->gate ? (uint32_t) split->gate->offset : pc.g_off;
  SinopiaDispatch d = {
    .shader = layout.shader,
    .n_bindings = 6,
    .bindings = {
      sinopia__texel (x, layout.x_format),
      sinopia__texel (w, layout.w_format),
      sinopia__texel (bias, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
      sinopia__texel (accumulate ? y : NULL, VK_FORMAT_R32_SFLOAT),
      sinopia__texel (gate, VK_FORMAT_R32_SFLOAT),
    },
    .n_spec = 1,
    .push = &pc,
    .push_size = sizeof pc,
  };
  if (variant == VARIANT_TILED) {
    pc.tiles_n = div_up (pc.N, TILED_BN);
    d.spec[0] = TILED_WG;
    sinopia__grid ((uint64_t) div_up (pc.M, TILED_BM) * pc.tiles_n * TILED_WG, TILED_WG, d.groups);
  } else {
    /* matmul.comp reads its epilogue options as specialisation constants (why: the shader) */
    pc.tiles_n = div_up (pc.N, layout.rn);
    d.n_spec = 5;
    d.spec[0] = TEXEL_WG;
    d.spec[1] = pc.has_bias;
    d.spec[2] = pc.act;
    d.spec[3] = pc.has_gate;
    d.spec[4] = pc.accumulate;
    sinopia__grid ((uint64_t) div_up (pc.M, layout.rm) * pc.tiles_n, TEXEL_WG, d.groups);
  }
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_matmul (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                   const SinopiaTensor *bias, SinopiaActivation act, gboolean accumulate,
                   const SinopiaTensor *y, GError **error)
{
  return record_matmul (rec, "matmul", x, w, bias, act, accumulate, NULL, NULL, y, error);
}

gboolean
sinopia_op_matmul_gated (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                         const SinopiaTensor *bias, const SinopiaTensor *gate, const SinopiaTensor *y,
                         GError **error)
{
  if (!gate)
    return sinopia__invalid (error, "matmul_gated", "the gate is missing");
  return record_matmul (rec, "matmul_gated", x, w, bias, SINOPIA_ACT_NONE, TRUE, gate, NULL, y, error);
}

gboolean
sinopia_op_matmul_split (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                         const SinopiaTensor *bias, SinopiaActivation act, const SinopiaStreamSplit *split,
                         const SinopiaTensor *y, GError **error)
{
  if (!split)
    return sinopia__invalid (error, "matmul_split", "the stream split is missing");
  return record_matmul (rec, "matmul_split", x, w, bias, act, FALSE, NULL, split, y, error);
}

gboolean
sinopia_op_matmul_gated_split (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *w,
                               const SinopiaTensor *bias, const SinopiaTensor *gate,
                               const SinopiaStreamSplit *split, const SinopiaTensor *y, GError **error)
{
  if (!gate)
    return sinopia__invalid (error, "matmul_gated_split", "the gate is missing");
  if (!split)
    return sinopia__invalid (error, "matmul_gated_split", "the stream split is missing");
  return record_matmul (rec, "matmul_gated_split", x, w, bias, SINOPIA_ACT_NONE, TRUE, gate, split, y, error);
}
