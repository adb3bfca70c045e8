/* sinopia-generate-private.h — the steps text-to-image shares with inpainting and editing
 * (sinopia-inpaint.c, sinopia-edit.c): prompt encoding, the schedule, cancellation and the
 * pixel conversion. Thread rules as in sinopia-generate.h. */
#pragma once

#include "sinopia-generate.h"

/* Tokens and encodings of one prompt: txt [t5_max_length, d_model] and y [vec] (y NULL: T5
 * only). Truncation warnings name the prompt as `what`. */
gboolean sinopia__generate_encode_prompt (SinopiaModel *model, const char *what, const char *text, float *txt,
                                          float *y, GPtrArray *warnings, GError **error);
/* The reference get_schedule with the model file's shift line: steps + 1 values. */
void sinopia__generate_schedule (const SinopiaModelInfo *info, guint steps, guint n_img, float *ts);
/* An autoencoder cancel callback over a `const gint *` flag (may be NULL). */
gboolean sinopia__generate_ae_cancelled (gpointer cancel);
/* Turns the sampler's and the autoencoder's cancellations into SINOPIA_GENERATE_ERROR_CANCELLED. */
void sinopia__generate_map_cancel (GError **error);
/* RGB8 [H, W, 3] → [-1, 1] → the autoencoder's scaled latent of the encoder's mean
 * [z, H/f, W/f]; cancellation becomes SINOPIA_GENERATE_ERROR_CANCELLED. */
gboolean sinopia__generate_encode_image (SinopiaModel *model, const guint8 *rgb, uint32_t width, uint32_t height,
                                         float *latent, const gint *cancel, GError **error);
/* [C, H, W] decoder output → interleaved RGB8, clamped, trunc(127.5·(x + 1)) in float32. */
void sinopia__generate_to_rgb8 (const float *planes, uint32_t width, uint32_t height, guint8 *rgb);

/* The prompts of an edit: source (NULL when there is none) and target (T5 txt [n_txt,
 * context_in_dim] and CLIP y), the negative prompt when a pass needs it (NULL otherwise), and
 * the all-zero text ids. */
typedef struct {
  float *src_txt, *src_y, *tar_txt, *tar_y, *neg_txt, *neg_y, *txt_ids;
  uint32_t n_txt;
} SinopiaPromptPair;

gboolean sinopia__generate_encode_pair (SinopiaModel *model, const char *source, const char *prompt,
                                        const char *negative, gboolean with_negative, SinopiaPromptPair *pair,
                                        GPtrArray *warnings, GError **error);
void sinopia__prompt_pair_clear (SinopiaPromptPair *pair);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (SinopiaPromptPair, sinopia__prompt_pair_clear)

/* Appends the shortest decimal that reads back as the same float. */
void sinopia__json_append_float (GString *out, float v);
