/* sinopia-ops-qknorm.c — FLUX's QK RMS-norm fused with RoPE (qk-norm-rope.comp), with a
 * fallback to rms_norm + rope for views the vec4 kernel cannot take. */
#define G_LOG_DOMAIN "sinopia-ops"

#include "sinopia-ops-private.h"

/* Mirrors shaders/qk-norm-rope-push.glsl field by field. */
typedef struct {
  uint32_t rows, heads, head_dim;
  uint32_t x_off, x_stride, table_off, table_stride, use_table;
  uint32_t q_scale_off, k_scale_off;
  float eps;
  uint32_t split, q_scale_off_b, k_scale_off_b;
} QkNormRopePush;
G_STATIC_ASSERT (sizeof (QkNormRopePush) == 14 * 4);

#define F32 SINOPIA_DT (SINOPIA_DTYPE_F32)

static gboolean
aligned4 (const SinopiaTensor *t)
{
  return t->offset % 4 == 0 && (t->rows == 1 || t->stride % 4 == 0);
}

static gboolean
record_qk_norm_rope (SinopiaRecorder *rec, const char *op, const SinopiaTensor *qk, const SinopiaTensor *q_scale,
                     const SinopiaTensor *k_scale, const SinopiaStreamSplit *split, const SinopiaTensor *table,
                     uint32_t head_dim, float eps, GError **error)
{
  gboolean one_dispatch = TRUE;

  if (!rec)
    return sinopia__invalid (error, op, "no recorder");
  if (!sinopia__check_tensor (qk, op, "q|k", F32, error) ||
      !sinopia__check_tensor (q_scale, op, "the query scale", F32, error) ||
      !sinopia__check_tensor (k_scale, op, "the key scale", F32, error) ||
      (table && !sinopia__check_tensor (table, op, "the table", F32, error)))
    return FALSE;
  if (head_dim == 0 || head_dim % 2 != 0 || qk->cols % (2 * head_dim) != 0)
    return sinopia__invalid (error, op, "head_dim %u must be even and q|k's %u columns two equal halves of heads",
                             head_dim, qk->cols);
  if (!sinopia__check_shape (q_scale, 1, head_dim, op, "the query scale", error) ||
      !sinopia__check_shape (k_scale, 1, head_dim, op, "the key scale", error) ||
      (table && !sinopia__check_shape (table, qk->rows, head_dim, op, "the table", error)))
    return FALSE;
  if (!(eps >= 0.0f) || eps > 1.0f)
    return sinopia__invalid (error, op, "eps %g is not a small non-negative number", eps);
  if (split) {
    if (!sinopia__check_split_row (split, qk->rows, op, error) ||
        !sinopia__check_tensor (split->q_scale, op, "the second stream's query scale", F32, error) ||
        !sinopia__check_tensor (split->k_scale, op, "the second stream's key scale", F32, error) ||
        !sinopia__check_split_view (q_scale, split->q_scale, op, "query scale", &one_dispatch, error) ||
        !sinopia__check_split_view (k_scale, split->k_scale, op, "key scale", &one_dispatch, error))
      return FALSE;
    if (!one_dispatch || head_dim % 4 != 0 || !aligned4 (split->q_scale) || !aligned4 (split->k_scale)) {
      SinopiaTensor a, b, ta, tb;
      sinopia__split_rows (qk, split->row, &a, &b);
      if (table)
        sinopia__split_rows (table, split->row, &ta, &tb);
      return (a.rows == 0 ||
              record_qk_norm_rope (rec, op, &a, q_scale, k_scale, NULL, table ? &ta : NULL, head_dim, eps, error)) &&
             (b.rows == 0 || record_qk_norm_rope (rec, op, &b, split->q_scale, split->k_scale, NULL, table ? &tb : NULL,
                                                  head_dim, eps, error));
    }
  }

  if (head_dim % 4 != 0 || !aligned4 (qk) || !aligned4 (q_scale) || !aligned4 (k_scale) ||
      (table && !aligned4 (table))) {
    SinopiaTensor q = sinopia_tensor_columns (*qk, 0, qk->cols / 2), k = sinopia_tensor_columns (*qk, qk->cols / 2,
                                                                                                 qk->cols / 2);
    return sinopia_op_rms_norm (rec, &q, q_scale, head_dim, eps, &q, error) &&
           sinopia_op_rms_norm (rec, &k, k_scale, head_dim, eps, &k, error) &&
           (!table || sinopia_op_rope (rec, qk, table, head_dim, error));
  }

  QkNormRopePush pc = {
    .rows = qk->rows,
    .heads = qk->cols / head_dim,
    .head_dim = head_dim,
    .x_off = (uint32_t) qk->offset,
    .x_stride = qk->stride,
    .table_off = table ? (uint32_t) table->offset : 0,
    .table_stride = table ? table->stride : 0,
    .use_table = table != NULL,
    .q_scale_off = (uint32_t) q_scale->offset,
    .k_scale_off = (uint32_t) k_scale->offset,
    .eps = eps,
    .split = split ? split->row : qk->rows,
    .q_scale_off_b = (uint32_t) (split ? split->q_scale : q_scale)->offset,
    .k_scale_off_b = (uint32_t) (split ? split->k_scale : k_scale)->offset,
  };
  VkFormat v4 = VK_FORMAT_R32G32B32A32_SFLOAT;
  SinopiaDispatch d = {
    .shader = "qk_norm_rope",
    .n_bindings = 5,
    .bindings = {
      sinopia__texel (qk, v4),
      sinopia__texel (q_scale, v4),
      sinopia__texel (k_scale, v4),
      sinopia__texel (table, v4),
      sinopia__storage (qk),
    },
    .n_spec = 1,
    .spec = { SINOPIA_WG },
    .push = &pc,
    .push_size = sizeof pc,
  };
  sinopia__grid ((uint64_t) pc.rows * pc.heads, SINOPIA_WG, d.groups);
  return sinopia__recorder_dispatch (rec, &d, error);
}

gboolean
sinopia_op_qk_norm_rope (SinopiaRecorder *rec, const SinopiaTensor *qk, const SinopiaTensor *q_scale,
                         const SinopiaTensor *k_scale, const SinopiaTensor *table, uint32_t head_dim, float eps,
                         GError **error)
{
  return record_qk_norm_rope (rec, "qk_norm_rope", qk, q_scale, k_scale, NULL, table, head_dim, eps, error);
}

gboolean
sinopia_op_qk_norm_rope_split (SinopiaRecorder *rec, const SinopiaTensor *qk, const SinopiaTensor *q_scale,
                               const SinopiaTensor *k_scale, const SinopiaStreamSplit *split,
                               const SinopiaTensor *table, uint32_t head_dim, float eps, GError **error)
{
  if (!split)
    return sinopia__invalid (error, "qk_norm_rope_split", "the stream split is missing");
  return record_qk_norm_rope (rec, "qk_norm_rope_split", qk, q_scale, k_scale, split, table, head_dim, eps, error);
}
