/* sinopia-ops-attention.c — fused masked attention (attention-*.comp), never storing the scores. */
#define G_LOG_DOMAIN "sinopia-ops"

#include <math.h>
#include <string.h>

#include "sinopia-ops-private.h"

/* Mirrors shaders/attention-push.glsl field by field. */
typedef struct {
  uint32_t lq, lk, n_heads, head_dim;
  uint32_t q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride;
  float scale;
  uint32_t flags;
  uint32_t qbits_off, kbits_off, kbias_off, buckets_off, table_off, table_stride, n_buckets;
} AttentionPush;
G_STATIC_ASSERT (sizeof (AttentionPush) == 21 * 4);

/* Same values as ATTN_* in attention-push.glsl. */
enum {
  FLAG_REGIONS = 1u << 0,
  FLAG_KEY_BIAS = 1u << 1,
  FLAG_REL_BIAS = 1u << 2,
  FLAG_CAUSAL = 1u << 3,
};

/* Kernels, by the name $SINOPIA_ATTENTION_VARIANT takes. */
typedef enum {
  VARIANT_CPU,     /* register-blocked, texel fetches only: CPU drivers */
  VARIANT_GPU,     /* workgroup tiles in shared memory: real GPUs */
  VARIANT_SCALAR,  /* one output element per invocation: any head size or alignment */
} Variant;

static const char *const variant_names[] = { "cpu", "gpu", "scalar" };

/* The cpu kernel keeps CPU_QB queries × head_dim accumulators per invocation (CPU_QB is the
 * -DQB of its builds in shaders/meson.build; with keys 4 at a time it beat 4×4, 4×8, 8×8 and
 * 16×4 blocks on lavapipe). Its builds cover head sizes up to each bound; unused vec4 columns
 * are skipped at run time. Workgroups of 8 (one llvmpipe SIMD row) balance the two threads. */
static const uint32_t cpu_head_dims[] = { 16, 32, 64, 128 };
#define CPU_QB 8
#define CPU_WG 8
/* Small problems take the 4-query builds (*_q4_*): with 8 queries a few workgroups leave a thread
 * idle, and llvmpipe compiles the 8-query kernel much more slowly on its first dispatch (head size
 * 64: 6.7 s against 1.8 s; a first `generate` of the shipped model with an empty Mesa cache 37.8 s
 * against 28.5 s, warm 0.75 against 0.63 s/image). From CPU_QB8_MIN_QUERIES queries × heads on,
 * the 8-query block's reuse of each K/V fetch wins (L=1024, 4 heads: 46.5 against 36.1 GFLOP/s). */
#define CPU_QB4 4
#define CPU_QB8_MIN_QUERIES 2048
/* The gpu kernel: GPU_BQ queries per workgroup of GPU_WG invocations; head_dim up to GPU_DMAX.
 * Its shared memory (K and V tiles of 16 keys, the 32×16 probabilities, 32 row scales) is above
 * Vulkan's guaranteed 16 KiB, so a device with less gets the cpu kernel. */
#define GPU_BQ 32
#define GPU_WG 128
#define GPU_DMAX 128
#define GPU_SHARED_BYTES (2 * 16 * (GPU_DMAX / 4) * 16 + GPU_BQ * 16 * 4 + GPU_BQ * 4)
#define SCALAR_WG 64

static gboolean
pick_variant (SinopiaVkContext *ctx, Variant *variant, GError **error)
{
  const char *env = g_getenv ("SINOPIA_ATTENTION_VARIANT");
  if (env && *env) {
    for (guint i = 0; i < G_N_ELEMENTS (variant_names); i++)
      if (strcmp (env, variant_names[i]) == 0) {
        *variant = (Variant) i;
        return TRUE;
      }
    return sinopia__invalid (error, "attention", "SINOPIA_ATTENTION_VARIANT=%s is not one of cpu, gpu, scalar", env);
  }
  *variant = strcmp (ctx->info.type, "cpu") == 0 ? VARIANT_CPU : VARIANT_GPU;
  return TRUE;
}

/* An optional [1, n] vector operand of the given dtype. */
static gboolean
check_vector (const SinopiaTensor *t, SinopiaDType dtype, uint32_t n, const char *what, uint32_t *off,
              GError **error)
{
  if (!sinopia__check_tensor (t, "attention", what, SINOPIA_DT (dtype), error) ||
      !sinopia__check_shape (t, 1, n, "attention", what, error))
    return FALSE;
  *off = (uint32_t) t->offset;
  return TRUE;
}

/* Whether two views may share an element. Views with the same row stride whose column
 * ranges are disjoint (column slices of one matrix) do not. */
static gboolean
views_overlap (const SinopiaTensor *a, const SinopiaTensor *b)
{
  if (a->buffer != b->buffer)
    return FALSE;
  uint64_t a_end = a->offset + (uint64_t) (a->rows - 1) * a->stride + a->cols;
  uint64_t b_end = b->offset + (uint64_t) (b->rows - 1) * b->stride + b->cols;
  if (a_end <= b->offset || b_end <= a->offset)
    return FALSE;
  if (a->stride != b->stride || a->stride == 0)
    return TRUE;
  uint64_t ca = a->offset % a->stride, cb = b->offset % b->stride;
  if (ca + a->cols > a->stride || cb + b->cols > b->stride)
    return TRUE;
  return ca < cb + b->cols && cb < ca + a->cols;
}

/* Q, K and V can be read as whole vec4 texels: head_dim, offsets and strides multiples of 4. */
static gboolean
vec4_aligned (const SinopiaTensor *t, uint32_t head_dim)
{
  return head_dim % 4 == 0 && t->offset % 4 == 0 && (t->rows == 1 || t->stride % 4 == 0);
}

gboolean
sinopia_op_attention (SinopiaRecorder *rec, const SinopiaTensor *q, const SinopiaTensor *k,
                      const SinopiaTensor *v, const SinopiaAttentionOptions *opts,
                      const SinopiaTensor *out, GError **error)
{
  const guint f32 = SINOPIA_DT (SINOPIA_DTYPE_F32);
  AttentionPush pc = { 0 };
  Variant variant = VARIANT_CPU;

  if (!rec)
    return sinopia__invalid (error, "attention", "no recorder");
  if (!opts)
    return sinopia__invalid (error, "attention", "no options");
  if (!sinopia__check_tensor (q, "attention", "the queries", f32, error) ||
      !sinopia__check_tensor (k, "attention", "the keys", f32, error) ||
      !sinopia__check_tensor (v, "attention", "the values", f32, error) ||
      !sinopia__check_tensor (out, "attention", "the output", f32, error))
    return FALSE;
  if (opts->n_heads == 0 || opts->head_dim == 0 ||
      (uint64_t) opts->n_heads * opts->head_dim != q->cols)
    return sinopia__invalid (error, "attention", "%u heads of %u do not make the %u query columns",
                             opts->n_heads, opts->head_dim, q->cols);
  if (!isfinite (opts->scale))
    return sinopia__invalid (error, "attention", "the scale %g is not finite", opts->scale);

  uint32_t lq = q->rows, lk = k->rows, cols = q->cols;
  if (!sinopia__check_shape (k, lk, cols, "attention", "the keys", error) ||
      !sinopia__check_shape (v, lk, cols, "attention", "the values", error) ||
      !sinopia__check_shape (out, lq, cols, "attention", "the output", error))
    return FALSE;
  if (views_overlap (out, q) || views_overlap (out, k) || views_overlap (out, v))
    return sinopia__invalid (error, "attention", "the output overlaps the queries, keys or values");

  if ((opts->q_region_bits == NULL) != (opts->k_region_bits == NULL))
    return sinopia__invalid (error, "attention", "region bits need both the query and the key side");
  if (opts->q_region_bits) {
    if (!check_vector (opts->q_region_bits, SINOPIA_DTYPE_U32, lq, "the query region bits", &pc.qbits_off, error) ||
        !check_vector (opts->k_region_bits, SINOPIA_DTYPE_U32, lk, "the key region bits", &pc.kbits_off, error))
      return FALSE;
    pc.flags |= FLAG_REGIONS;
  }
  if (opts->key_bias) {
    if (!check_vector (opts->key_bias, SINOPIA_DTYPE_F32, lk, "the key bias", &pc.kbias_off, error))
      return FALSE;
    pc.flags |= FLAG_KEY_BIAS;
  }
  if ((opts->rel_buckets == NULL) != (opts->rel_bias_table == NULL))
    return sinopia__invalid (error, "attention", "relative-position bias needs both the buckets and the table");
  if (opts->rel_buckets) {
    const SinopiaTensor *table = opts->rel_bias_table;
    if (!check_vector (opts->rel_buckets, SINOPIA_DTYPE_U32, lq + lk - 1, "the relative-position buckets",
                       &pc.buckets_off, error) ||
        !sinopia__check_tensor (table, "attention", "the relative-position table", f32, error))
      return FALSE;
    if (table->cols != opts->n_heads)
      return sinopia__invalid (error, "attention", "the relative-position table has %u columns for %u heads",
                               table->cols, opts->n_heads);
    pc.table_off = (uint32_t) table->offset;
    pc.table_stride = table->stride;
    pc.n_buckets = table->rows;
    pc.flags |= FLAG_REL_BIAS;
  }
  if (opts->causal)
    pc.flags |= FLAG_CAUSAL;

  SinopiaVkContext *ctx = sinopia__recorder_context (rec);
  if (!pick_variant (ctx, &variant, error))
    return FALSE;
  if (variant == VARIANT_GPU && ctx->props.limits.maxComputeSharedMemorySize < GPU_SHARED_BYTES)
    variant = VARIANT_CPU;
  gboolean vec4 = vec4_aligned (q, opts->head_dim) && vec4_aligned (k, opts->head_dim) &&
                  vec4_aligned (v, opts->head_dim);
  if (!vec4 || opts->head_dim > GPU_DMAX)
    variant = VARIANT_SCALAR;

  pc.lq = lq;
  pc.lk = lk;
  pc.n_heads = opts->n_heads;
  pc.head_dim = opts->head_dim;
  pc.q_off = (uint32_t) q->offset;
  pc.q_stride = q->stride;
  pc.k_off = (uint32_t) k->offset;
  pc.k_stride = k->stride;
  pc.v_off = (uint32_t) v->offset;
  pc.v_stride = v->stride;
  pc.o_off = (uint32_t) out->offset;
  pc.o_stride = out->stride;
  pc.scale = opts->scale;

  VkFormat qkv_format = variant == VARIANT_SCALAR ? VK_FORMAT_R32_SFLOAT : VK_FORMAT_R32G32B32A32_SFLOAT;
  SinopiaDispatch d = {
    .n_bindings = 9,
    .bindings = {
      sinopia__texel (q, qkv_format),
      sinopia__texel (k, qkv_format),
      sinopia__texel (v, qkv_format),
      sinopia__texel (opts->q_region_bits, VK_FORMAT_R32_UINT),
      sinopia__texel (opts->k_region_bits, VK_FORMAT_R32_UINT),
      sinopia__texel (opts->key_bias, VK_FORMAT_R32_SFLOAT),
      sinopia__texel (opts->rel_buckets, VK_FORMAT_R32_UINT),
      sinopia__texel (opts->rel_bias_table, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (out),
    },
    .n_spec = 1,
    .push = &pc,
    .push_size = sizeof pc,
  };
  switch (variant) {
  case VARIANT_CPU: {
    static const char *const names[2][4] = {
      { "attention_cpu_q4_d16", "attention_cpu_q4_d32", "attention_cpu_q4_d64", "attention_cpu_q4_d128" },
      { "attention_cpu_d16", "attention_cpu_d32", "attention_cpu_d64", "attention_cpu_d128" },
    };
    guint which = 0;
    while (cpu_head_dims[which] < opts->head_dim)
      which++;
    gboolean large = (uint64_t) lq * opts->n_heads >= CPU_QB8_MIN_QUERIES;
    uint32_t qb = large ? CPU_QB : CPU_QB4;
    d.shader = names[large][which];
    d.n_spec = 2;
    d.spec[0] = CPU_WG;
    d.spec[1] = pc.flags;   /* attention-cpu.comp reads its flags as a specialisation constant */
    sinopia__grid ((uint64_t) opts->n_heads * ((lq + qb - 1) / qb), CPU_WG, d.groups);
    break;
  }
  case VARIANT_GPU:
    d.shader = "attention_gpu";
    d.spec[0] = GPU_WG;
    d.groups[0] = (lq + GPU_BQ - 1) / GPU_BQ;
    d.groups[1] = opts->n_heads;
    d.groups[2] = 1;
    break;
  case VARIANT_SCALAR:
  default:
    d.shader = "attention_scalar";
    d.spec[0] = SCALAR_WG;
    sinopia__grid ((uint64_t) lq * cols, SCALAR_WG, d.groups);
    break;
  }
  return sinopia__recorder_dispatch (rec, &d, error);
}
