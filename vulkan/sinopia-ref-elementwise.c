/* sinopia-ref-elementwise.c — CPU references for activations, dtype widening and mul_add. */
#define G_LOG_DOMAIN "sinopia-ref"

#include <math.h>
#include <string.h>

#include "sinopia-ref.h"

float
sinopia_ref_activate (float x, SinopiaActivation act)
{
  double v = x;
  switch (act) {
  case SINOPIA_ACT_GELU_TANH:
    return (float) (0.5 * v * (1.0 + tanh (sqrt (2.0 / G_PI) * (v + 0.044715 * v * v * v))));
  case SINOPIA_ACT_SILU:
    return (float) (v / (1.0 + exp (-v)));
  case SINOPIA_ACT_QUICK_GELU:
    return (float) (v / (1.0 + exp (-1.702 * v)));
  case SINOPIA_ACT_NONE:
  default:
    return x;
  }
}

float
sinopia_ref_f16_to_f32 (uint16_t h)
{
  uint32_t sign = (uint32_t) (h >> 15) << 31, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float f;
  if (exp == 0) {
    f = ldexpf ((float) mant, -24);
    return sign ? -f : f;
  }
  uint32_t bits = exp == 31 ? sign | 0x7f800000u | (mant << 13) : sign | ((exp + 112) << 23) | (mant << 13);
  memcpy (&f, &bits, 4);
  return f;
}

float
sinopia_ref_bf16_to_f32 (uint16_t b)
{
  uint32_t bits = (uint32_t) b << 16;
  float f;
  memcpy (&f, &bits, 4);
  return f;
}

uint16_t
sinopia_ref_f32_to_bf16 (float f)
{
  uint32_t bits;
  memcpy (&bits, &f, 4);
  if ((bits & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t) ((bits >> 16) | 0x40);  /* quiet NaN */
  bits += 0x7fffu + ((bits >> 16) & 1);       /* round to nearest even */
  return (uint16_t) (bits >> 16);
}

uint16_t
sinopia_ref_f32_to_f16 (float f)
{
  uint32_t bits;
  memcpy (&bits, &f, 4);
  uint32_t sign = (bits >> 16) & 0x8000u;
  float a = fabsf (f);
  if (isnan (f))
    return (uint16_t) (sign | 0x7e00u);
  if (a >= 65520.0f)
    return (uint16_t) (sign | 0x7c00u);
  if (a < 6.103515625e-05f) /* subnormal: multiples of 2^-24, rounded to nearest even */
    return (uint16_t) (sign | (uint32_t) nearbyintf (a * 16777216.0f));
  int e;
  float m = frexpf (a, &e);                   /* a = m·2^e, m in [0.5, 1) */
  uint32_t mant = (uint32_t) nearbyintf ((m * 2.0f - 1.0f) * 1024.0f);
  uint32_t exp = (uint32_t) (e - 1 + 15);
  if (mant == 1024) {
    mant = 0;
    exp++;
  }
  return (uint16_t) (sign | (exp << 10) | mant);
}

void
sinopia_ref_mul_add (const float *a, uint32_t a_rows, const float *b, uint32_t b_rows,
                     const float *c, uint32_t c_rows, float scale, SinopiaActivation act,
                     uint32_t rows, uint32_t cols, float *y)
{
  for (uint32_t r = 0; r < rows; r++)
    for (uint32_t k = 0; k < cols; k++) {
      float v = a[(a_rows == 1 ? 0 : r) * (size_t) cols + k];
      if (b)
        v *= b[(b_rows == 1 ? 0 : r) * (size_t) cols + k];
      v *= scale;
      if (c)
        v += c[(c_rows == 1 ? 0 : r) * (size_t) cols + k];
      y[(size_t) r * cols + k] = sinopia_ref_activate (v, act);
    }
}
