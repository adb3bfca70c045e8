/* sinopia-ref-tokens.c — CPU references for RoPE, embedding lookup, gated GELU and transpose. */
#define G_LOG_DOMAIN "sinopia-ref"

#include "sinopia-ref.h"

void
sinopia_ref_rope (float *x, uint32_t rows, uint32_t cols, const float *table, uint32_t head_dim)
{
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t q = 0; q < cols / 2; q++) {
      float *pair = x + (size_t) r * cols + 2 * q;
      const float *cs = table + (size_t) r * head_dim + 2 * (q % (head_dim / 2));
      double x0 = pair[0], x1 = pair[1];
      pair[0] = (float) (cs[0] * x0 - cs[1] * x1);
      pair[1] = (float) (cs[1] * x0 + cs[0] * x1);
    }
}

void
sinopia_ref_embedding (const uint32_t *ids, uint32_t n, const void *table, SinopiaDType dtype, uint32_t vocab,
                       uint32_t dim, float *y)
{
  for (uint32_t i = 0; i < n; i++) {
    size_t row = (size_t) (ids[i] < vocab ? ids[i] : 0) * dim;
    for (uint32_t c = 0; c < dim; c++) {
      float v;
      if (dtype == SINOPIA_DTYPE_F16)
        v = sinopia_ref_f16_to_f32 (((const uint16_t *) table)[row + c]);
      else if (dtype == SINOPIA_DTYPE_BF16)
        v = sinopia_ref_bf16_to_f32 (((const uint16_t *) table)[row + c]);
      else
        v = ((const float *) table)[row + c];
      y[(size_t) i * dim + c] = v;
    }
  }
}

void
sinopia_ref_gated_gelu (const float *a, const float *b, size_t n, float *y)
{
  for (size_t i = 0; i < n; i++)
    y[i] = (float) ((double) sinopia_ref_activate (a[i], SINOPIA_ACT_GELU_TANH) * b[i]);
}

void
sinopia_ref_transpose (const float *x, uint32_t rows, uint32_t cols, float *y)
{
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t c = 0; c < cols; c++)
      y[(size_t) c * rows + r] = x[(size_t) r * cols + c];
}
