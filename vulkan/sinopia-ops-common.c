/* sinopia-ops-common.c — tensor views and argument checks shared by every op. */
#define G_LOG_DOMAIN "sinopia-ops"

#include <stdarg.h>

#include "sinopia-ops-private.h"

SinopiaTensor
sinopia_tensor (SinopiaBuffer *buffer, uint64_t offset, uint32_t rows, uint32_t cols)
{
  return (SinopiaTensor) { .buffer = buffer, .offset = offset, .rows = rows, .cols = cols, .stride = cols };
}

SinopiaTensor
sinopia_tensor_columns (SinopiaTensor t, uint32_t col, uint32_t cols)
{
  t.offset += col;
  t.cols = cols;
  return t;
}

SinopiaTensor
sinopia_tensor_rows (SinopiaTensor t, uint32_t row, uint32_t rows)
{
  t.offset += (uint64_t) row * t.stride;
  t.rows = rows;
  return t;
}

gboolean
sinopia__invalid (GError **error, const char *op, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_INVALID_ARGUMENT, "%s: %s", op, msg);
  return FALSE;
}

gboolean
sinopia__check_tensor (const SinopiaTensor *t, const char *op, const char *what, guint dtype_mask,
                       GError **error)
{
  if (!t || !t->buffer)
    return sinopia__invalid (error, op, "%s has no buffer", what);
  if (t->rows == 0 || t->cols == 0)
    return sinopia__invalid (error, op, "%s is empty (%u×%u)", what, t->rows, t->cols);
  if (t->rows > 1 && t->stride < t->cols)
    return sinopia__invalid (error, op, "%s has a row stride %u below its %u columns", what, t->stride, t->cols);
  if (!(dtype_mask & SINOPIA_DT (t->buffer->dtype)))
    return sinopia__invalid (error, op, "%s has dtype %s, which this op does not take", what,
                             sinopia_dtype_name (t->buffer->dtype));
  uint64_t last = t->offset + (uint64_t) (t->rows - 1) * t->stride + t->cols;
  if (last > t->buffer->n_elements)
    return sinopia__invalid (error, op, "%s (%u×%u, stride %u, offset %" G_GUINT64_FORMAT
                             ") reaches past its buffer of %" G_GUINT64_FORMAT " elements",
                             what, t->rows, t->cols, t->stride, t->offset, t->buffer->n_elements);
  if (last > G_MAXINT32)
    return sinopia__invalid (error, op, "%s is beyond the 2^31-element addressing limit", what);
  return TRUE;
}

gboolean
sinopia__check_shape (const SinopiaTensor *t, uint32_t rows, uint32_t cols, const char *op,
                      const char *what, GError **error)
{
  if (t->rows != rows || t->cols != cols)
    return sinopia__invalid (error, op, "%s is %u×%u, expected %u×%u", what, t->rows, t->cols, rows, cols);
  return TRUE;
}

gboolean
sinopia__check_split_view (const SinopiaTensor *first, const SinopiaTensor *second, const char *op,
                           const char *what, gboolean *one_buffer, GError **error)
{
  if (!first != !second)
    return sinopia__invalid (error, op, "the second stream's %s is %s, the first's is not", what,
                             second ? "given" : "missing");
  if (!first)
    return TRUE;
  if (!sinopia__check_shape (second, first->rows, first->cols, op, what, error))
    return FALSE;
  if (second->buffer != first->buffer || second->stride != first->stride)
    *one_buffer = FALSE;
  return TRUE;
}

void
sinopia__split_rows (const SinopiaTensor *t, uint32_t row, SinopiaTensor *first, SinopiaTensor *second)
{
  *first = sinopia_tensor_rows (*t, 0, row);
  *second = sinopia_tensor_rows (*t, row, t->rows - row);
}

gboolean
sinopia__check_split_row (const SinopiaStreamSplit *split, uint32_t rows, const char *op, GError **error)
{
  if (split->row > rows)
    return sinopia__invalid (error, op, "the second stream starts at row %u of %u", split->row, rows);
  return TRUE;
}

void
sinopia__grid (uint64_t n_invocations, uint32_t workgroup, uint32_t groups[3])
{
  uint64_t n = (n_invocations + workgroup - 1) / workgroup;
  groups[2] = 1;
  if (n <= 65535) {
    groups[0] = MAX (n, 1);
    groups[1] = 1;
  } else {
    groups[0] = 65535;
    groups[1] = (uint32_t) ((n + 65534) / 65535);
  }
}

SinopiaBinding
sinopia__texel (const SinopiaTensor *t, VkFormat format)
{
  return (SinopiaBinding) { .kind = SINOPIA_BIND_TEXEL, .format = format, .buffer = t ? t->buffer : NULL };
}

SinopiaBinding
sinopia__storage (const SinopiaTensor *t)
{
  return (SinopiaBinding) { .kind = SINOPIA_BIND_STORAGE, .buffer = t ? t->buffer : NULL };
}

VkFormat
sinopia__scalar_format (SinopiaDType dtype)
{
  switch (dtype) {
  case SINOPIA_DTYPE_F16: return VK_FORMAT_R16_SFLOAT;
  case SINOPIA_DTYPE_BF16: return VK_FORMAT_R16_UINT;
  case SINOPIA_DTYPE_U32: return VK_FORMAT_R32_UINT;
  case SINOPIA_DTYPE_F32:
  default: return VK_FORMAT_R32_SFLOAT;
  }
}
