/* sinopia-ops-tokens.c — RoPE, embedding lookup, gated GELU and transpose (their .comp shaders). */
#define G_LOG_DOMAIN "sinopia-ops"

#include "sinopia-ops-private.h"

/* Mirrors shaders/rope-push.glsl field by field. */
typedef struct {
  uint32_t rows, pairs, half_dim;
  uint32_t x_off, x_stride, table_off, table_stride;
} RopePush;
G_STATIC_ASSERT (sizeof (RopePush) == 7 * 4);

/* Mirrors shaders/embedding-push.glsl field by field. */
typedef struct {
  uint32_t n, dim, vocab;
  uint32_t ids_off, table_off, table_stride, y_off, y_stride;
} EmbeddingPush;
G_STATIC_ASSERT (sizeof (EmbeddingPush) == 8 * 4);

/* Mirrors shaders/gated-gelu-push.glsl field by field. */
typedef struct {
  uint32_t rows, cols;
  uint32_t a_off, a_stride, b_off, b_stride, y_off, y_stride;
} GatedGeluPush;
G_STATIC_ASSERT (sizeof (GatedGeluPush) == 8 * 4);

/* Mirrors shaders/transpose-push.glsl field by field. */
typedef struct {
  uint32_t rows, cols;
  uint32_t x_off, x_stride, y_off, y_stride;
} TransposePush;
G_STATIC_ASSERT (sizeof (TransposePush) == 6 * 4);

#define F32 SINOPIA_DT (SINOPIA_DTYPE_F32)

/* Whether each row of t starts on a 4-element boundary, so it can be read as vec4 texels. */
static gboolean
aligned4 (const SinopiaTensor *t)
{
  return t->offset % 4 == 0 && (t->rows == 1 || t->stride % 4 == 0);
}

/* One past the last element a view touches. */
static uint64_t
end_element (const SinopiaTensor *t)
{
  return t->offset + (uint64_t) (t->rows - 1) * t->stride + t->cols;
}

gboolean
sinopia_op_rope (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *table,
                 uint32_t head_dim, GError **error)
{
  const char *op = "rope";

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (x, op, "the input", F32, error) ||
      !sinopia__check_tensor (table, op, "the table", F32, error))
    return FALSE;
  if (head_dim == 0 || head_dim % 2 != 0 || x->cols % head_dim != 0)
    return sinopia__invalid (error, op, "head_dim %u must be even and divide the %u columns", head_dim, x->cols);
  if (!sinopia__check_shape (table, x->rows, head_dim, op, "the table", error))
    return FALSE;

  RopePush pc = {
    .rows = x->rows,
    .pairs = x->cols / 2,
    .half_dim = head_dim / 2,
    .x_off = (uint32_t) x->offset,
    .x_stride = x->stride,
    .table_off = (uint32_t) table->offset,
    .table_stride = table->stride,
  };
  /* Two pairs per invocation when a quad of x never straddles heads and its table entries are one texel. */
  gboolean vec4 = head_dim % 4 == 0 && aligned4 (x) && aligned4 (table);
  VkFormat format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
  SinopiaDispatch d = {
    .shader = vec4 ? "rope_vec4" : "rope",
    .n_bindings = 3,
    .bindings = {
      sinopia__texel (x, format),
      sinopia__texel (table, format),
      sinopia__storage (x),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) pc.rows * pc.pairs / (vec4 ? 2 : 1), SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_embedding (SinopiaRecorder *rec, const SinopiaTensor *ids, const SinopiaTensor *table,
                      const SinopiaTensor *y, GError **error)
{
  const char *op = "embedding";
  guint table_types = F32 | SINOPIA_DT (SINOPIA_DTYPE_F16) | SINOPIA_DT (SINOPIA_DTYPE_BF16);

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (ids, op, "the ids", SINOPIA_DT (SINOPIA_DTYPE_U32), error) ||
      !sinopia__check_tensor (table, op, "the table", table_types, error) ||
      !sinopia__check_tensor (y, op, "the output", F32, error))
    return FALSE;
  if (ids->rows != 1)
    return sinopia__invalid (error, op, "the ids must be one row, not %u", ids->rows);
  if (!sinopia__check_shape (y, ids->cols, table->cols, op, "the output", error))
    return FALSE;

  SinopiaDType dtype = table->buffer->dtype;
  EmbeddingPush pc = {
    .n = ids->cols,
    .dim = table->cols,
    .vocab = table->rows,
    .ids_off = (uint32_t) ids->offset,
    .table_off = (uint32_t) table->offset,
    .table_stride = table->stride,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
  };
  SinopiaDispatch d = {
    .shader = dtype == SINOPIA_DTYPE_BF16 ? "embedding_bf16" : "embedding",
    .n_bindings = 3,
    .bindings = {
      sinopia__texel (ids, VK_FORMAT_R32_UINT),
      sinopia__texel (table, sinopia__scalar_format (dtype)),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) pc.n * pc.dim, SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_gated_gelu (SinopiaRecorder *rec, const SinopiaTensor *a, const SinopiaTensor *b,
                       const SinopiaTensor *y, GError **error)
{
  const char *op = "gated_gelu";

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (a, op, "the gate input", F32, error) ||
      !sinopia__check_tensor (b, op, "the linear input", F32, error) ||
      !sinopia__check_tensor (y, op, "the output", F32, error) ||
      !sinopia__check_shape (b, a->rows, a->cols, op, "the linear input", error) ||
      !sinopia__check_shape (y, a->rows, a->cols, op, "the output", error))
    return FALSE;

  GatedGeluPush pc = {
    .rows = a->rows,
    .cols = a->cols,
    .a_off = (uint32_t) a->offset,
    .a_stride = a->stride,
    .b_off = (uint32_t) b->offset,
    .b_stride = b->stride,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
  };
  gboolean vec4 = a->cols % 4 == 0 && aligned4 (a) && aligned4 (b) && aligned4 (y);
  VkFormat format = vec4 ? VK_FORMAT_R32G32B32A32_SFLOAT : VK_FORMAT_R32_SFLOAT;
  SinopiaDispatch d = {
    .shader = vec4 ? "gated_gelu_vec4" : "gated_gelu",
    .n_bindings = 3,
    .bindings = {
      sinopia__texel (a, format),
      sinopia__texel (b, format),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) pc.rows * pc.cols / (vec4 ? 4 : 1), SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_transpose (SinopiaRecorder *rec, const SinopiaTensor *x, const SinopiaTensor *y,
                      GError **error)
{
  const char *op = "transpose";

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (x, op, "the input", F32, error) ||
      !sinopia__check_tensor (y, op, "the output", F32, error) ||
      !sinopia__check_shape (y, x->cols, x->rows, op, "the output", error))
    return FALSE;
  /* Invocations read elements that others overwrite, so the views must not share memory. */
  if (x->buffer == y->buffer && x->offset < end_element (y) && y->offset < end_element (x))
    return sinopia__invalid (error, op, "the input and output overlap; a transpose cannot run in place");

  TransposePush pc = {
    .rows = x->rows,
    .cols = x->cols,
    .x_off = (uint32_t) x->offset,
    .x_stride = x->stride,
    .y_off = (uint32_t) y->offset,
    .y_stride = y->stride,
  };
  SinopiaDispatch d = {
    .shader = "transpose",
    .n_bindings = 2,
    .bindings = {
      sinopia__texel (x, VK_FORMAT_R32_SFLOAT),
      sinopia__storage (y),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) pc.rows * pc.cols, SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}
