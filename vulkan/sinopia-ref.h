/* sinopia-ref.h — plain-C reference implementations of the ops in sinopia-ops.h.
 * Dense row-major float arrays, no strides; slow and obviously correct, for tests and
 * benchmarks. Each function mirrors the op of the same name; see sinopia-ops.h for the math.
 * Thread-safe (no state). */
#pragma once

#include <glib.h>
#include <stdint.h>

#include "sinopia-ops.h"

float sinopia_ref_activate (float x, SinopiaActivation act);
/* Widen stored weights to f32 (f16 and bf16 as in checkpoints). */
float sinopia_ref_f16_to_f32 (uint16_t h);
float sinopia_ref_bf16_to_f32 (uint16_t b);
uint16_t sinopia_ref_f32_to_f16 (float f);
uint16_t sinopia_ref_f32_to_bf16 (float f);

/* y[r,c] = act(scale·a·b + c) with a/b/c rows broadcast when their *_rows is 1; b, c may be NULL. */
void sinopia_ref_mul_add (const float *a, uint32_t a_rows, const float *b, uint32_t b_rows,
                          const float *c, uint32_t c_rows, float scale, SinopiaActivation act,
                          uint32_t rows, uint32_t cols, float *y);
