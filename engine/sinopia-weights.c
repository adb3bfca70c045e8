/* sinopia-weights.c — checkpoint tensors into device buffers, converted in bounded chunks. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-ref.h"
#include "sinopia-weights.h"

/* Conversions go through a bounce buffer of this many elements, not a whole-tensor copy. */
#define CHUNK_ELEMENTS (1u << 20)

gboolean
sinopia_weights_device_dtype (SinopiaStDType stored, SinopiaDType *out)
{
  switch (stored) {
  case SINOPIA_ST_F32: *out = SINOPIA_DTYPE_F32; return TRUE;
  case SINOPIA_ST_F16: *out = SINOPIA_DTYPE_F16; return TRUE;
  case SINOPIA_ST_BF16: *out = SINOPIA_DTYPE_BF16; return TRUE;
  case SINOPIA_ST_F8_E4M3: *out = SINOPIA_DTYPE_F16; return TRUE;
  default: return FALSE;
  }
}

uint64_t
sinopia_weights_device_bytes (SinopiaStDType stored, uint64_t n_elements, gboolean force_f32)
{
  SinopiaDType dt = SINOPIA_DTYPE_F32;
  if (!force_f32 && !sinopia_weights_device_dtype (stored, &dt))
    dt = SINOPIA_DTYPE_F32;
  return n_elements * sinopia_dtype_size (dt);
}

static uint64_t
part_cols (const SinopiaTensorInfo *t)
{
  uint64_t cols = 1;
  for (guint d = 1; d < t->n_dims; d++)
    cols *= t->shape[d];
  return cols;
}

/* Converts `n` elements of `t` starting at element `first` into `out` of device dtype `dt`. */
static gboolean
convert_chunk (const SinopiaTensorInfo *t, uint64_t first, uint64_t n, SinopiaDType dt, void *out,
               GError **error)
{
  gsize esize = sinopia_st_dtype_size (t->dtype);
  SinopiaTensorInfo slice = *t;
  slice.data = (const uint8_t *) t->data + first * esize;
  slice.n_elements = n;
  slice.n_bytes = n * esize;
  slice.n_dims = 1;
  slice.shape[0] = n;

  if (dt == SINOPIA_DTYPE_F32)
    return sinopia_safetensors_read_f32 (&slice, out, error);
  /* F8 widened to F16 (F16 and BF16 are copied as stored and never reach here) */
  g_autofree float *tmp = g_new (float, n);
  if (!sinopia_safetensors_read_f32 (&slice, tmp, error))
    return FALSE;
  uint16_t *o = out;
  for (uint64_t i = 0; i < n; i++)
    o[i] = sinopia_ref_f32_to_f16 (tmp[i]);
  return TRUE;
}

/* Uploads rows [0, t's rows) of part `t` to the device buffer at element `dst_elem`. */
static gboolean
upload_part (SinopiaBuffer *buf, const SinopiaTensorInfo *t, uint64_t first_elem, uint64_t n_elem,
             uint64_t dst_elem, SinopiaDType dt, GError **error)
{
  gsize dsize = sinopia_dtype_size (dt);
  gboolean same = (dt == SINOPIA_DTYPE_F32 && t->dtype == SINOPIA_ST_F32) ||
                  (dt == SINOPIA_DTYPE_F16 && t->dtype == SINOPIA_ST_F16) ||
                  (dt == SINOPIA_DTYPE_BF16 && t->dtype == SINOPIA_ST_BF16);
  if (same)
    return sinopia_buffer_upload (buf, dst_elem * dsize, (const uint8_t *) t->data + first_elem * dsize,
                                  n_elem * dsize, error);
  g_autofree uint8_t *bounce = g_malloc (MIN (n_elem, CHUNK_ELEMENTS) * dsize);
  for (uint64_t done = 0; done < n_elem;) {
    uint64_t n = MIN (n_elem - done, CHUNK_ELEMENTS);
    if (!convert_chunk (t, first_elem + done, n, dt, bounce, error) ||
        !sinopia_buffer_upload (buf, (dst_elem + done) * dsize, bounce, n * dsize, error))
      return FALSE;
    done += n;
  }
  return TRUE;
}

static uint64_t
part_rows (const SinopiaWeightPart *p)
{
  uint64_t all = p->tensor->n_dims == 0 ? 1 : p->tensor->shape[0];
  if (p->first_row >= all)
    return 0;
  return p->n_rows ? MIN (p->n_rows, all - p->first_row) : all - p->first_row;
}

SinopiaBuffer *
sinopia_weights_upload (SinopiaVkContext *ctx, const char *file, const char *name, const SinopiaWeightSource *src,
                        uint64_t rows, uint64_t cols, gboolean force_f32, GError **error)
{
  SinopiaDType dt = SINOPIA_DTYPE_F32;
  uint64_t total_rows = 0;

  g_return_val_if_fail (src->n_parts >= 1 && src->n_parts <= G_N_ELEMENTS (src->parts), NULL);
  g_return_val_if_fail (!src->swap_halves || src->n_parts == 1, NULL);
  for (guint i = 0; i < src->n_parts; i++) {
    const SinopiaTensorInfo *t = src->parts[i].tensor;
    if (part_cols (t) != cols) {
      g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                   "%s: tensor \"%s\" has %" G_GUINT64_FORMAT " elements per row, the model needs %"
                   G_GUINT64_FORMAT " for %s", file, t->name, part_cols (t), cols, name);
      return NULL;
    }
    SinopiaDType part_dt;
    if (!sinopia_weights_device_dtype (t->dtype, &part_dt)) {
      g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_DTYPE,
                   "%s: tensor \"%s\" is %s; weights must be F32, F16, BF16 or F8_E4M3", file, t->name,
                   sinopia_st_dtype_name (t->dtype));
      return NULL;
    }
    if (i == 0)
      dt = part_dt;
    else if (part_dt != dt)
      dt = SINOPIA_DTYPE_F32;  /* parts of mixed dtypes meet in f32 */
    total_rows += part_rows (&src->parts[i]);
  }
  if (total_rows != rows) {
    g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                 "%s: %s has %" G_GUINT64_FORMAT " rows (tensor \"%s\"%s), the model needs %" G_GUINT64_FORMAT,
                 file, name, total_rows, src->parts[0].tensor->name, src->n_parts > 1 ? " and its siblings" : "",
                 rows);
    return NULL;
  }
  if (src->swap_halves && rows % 2 != 0) {
    g_set_error (error, SINOPIA_SAFETENSORS_ERROR, SINOPIA_SAFETENSORS_ERROR_SHAPE,
                 "%s: %s has an odd number of rows and cannot be split into (shift, scale)", file, name);
    return NULL;
  }
  if (force_f32)
    dt = SINOPIA_DTYPE_F32;

  SinopiaBuffer *buf = sinopia_buffer_new (ctx, dt, rows * cols, error);
  if (!buf)
    return NULL;
  uint64_t dst_row = 0;
  for (guint i = 0; i < src->n_parts; i++) {
    const SinopiaWeightPart *p = &src->parts[i];
    uint64_t r = part_rows (p), first = p->first_row * cols;
    if (src->swap_halves) {
      uint64_t half = r / 2 * cols;
      if (!upload_part (buf, p->tensor, first + half, half, 0, dt, error) ||
          !upload_part (buf, p->tensor, first, half, half, dt, error))
        goto fail;
    } else if (!upload_part (buf, p->tensor, first, r * cols, dst_row * cols, dt, error)) {
      goto fail;
    }
    dst_row += r;
  }
  return buf;

fail:
  sinopia_buffer_free (buf);
  return NULL;
}
