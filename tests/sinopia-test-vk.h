/* sinopia-test-vk.h — shared helpers for the op tests: a validated Vulkan context,
 * uploads with a guard region after every buffer, tolerance checks with NaN/Inf detection. */
#pragma once

#include <glib.h>

#include "sinopia-ops.h"
#include "sinopia-ref.h"

#define SINOPIA_TEST_GUARD 64          /* elements of sentinel after every test buffer */
#define SINOPIA_TEST_SENTINEL 1234.5f

/* The context every test in a process shares; created with validation on. Fails the test
 * when no device is available. */
SinopiaVkContext *sinopia_test_context (void);
/* Frees the shared context and fails if the validation layer reported anything. */
void sinopia_test_context_finish (void);

/* Uniform random floats in [lo, hi); deterministic per seed. (transfer full): g_free. */
float *sinopia_test_random (guint32 seed, gsize n, float lo, float hi);

/* A buffer of dtype holding `n` values (converted from f32 for f16/bf16; raw bits for u32),
 * followed by SINOPIA_TEST_GUARD sentinel elements. */
SinopiaBuffer *sinopia_test_buffer (SinopiaDType dtype, const float *values, gsize n);
SinopiaBuffer *sinopia_test_buffer_u32 (const uint32_t *values, gsize n);
/* A buffer of n f32 elements filled with NaN (so unwritten outputs show), plus the guard. */
SinopiaBuffer *sinopia_test_output (gsize n);
/* Downloads the first n f32 elements and asserts the guard after them is untouched.
 * (transfer full): g_free. */
float *sinopia_test_read (SinopiaBuffer *buf, gsize n);

/* Asserts |got - want| <= atol + rtol·|want| everywhere and that got has no NaN/Inf;
 * reports the worst element. */
void sinopia_test_assert_close (const float *got, const float *want, gsize n, double atol, double rtol,
                                const char *what);

/* Records with a fresh recorder: begin, then the caller records, then submit. */
SinopiaRecorder *sinopia_test_begin (void);
void sinopia_test_submit (SinopiaRecorder *rec);
