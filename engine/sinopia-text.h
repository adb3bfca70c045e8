/* sinopia-text.h — what the text encoders (sinopia-t5.h, sinopia-clip.h) share: their error
 * domain, recognising which encoder a checkpoint holds, and the dump of named intermediates.
 *
 * Threads: a dump is filled by one encode at a time and read afterwards.
 */
#pragma once

#include "sinopia-dump.h"

#include <glib.h>

#include "sinopia-safetensors.h"

G_BEGIN_DECLS

#define SINOPIA_TEXT_ERROR (sinopia_text_error_quark ())
GQuark sinopia_text_error_quark (void);

typedef enum {
  SINOPIA_TEXT_ERROR_CONFIG,     /* configuration missing, inconsistent or unsupported */
  SINOPIA_TEXT_ERROR_TENSORS,    /* missing, unexpected or misshapen tensors; not a text encoder */
  SINOPIA_TEXT_ERROR_TOO_LARGE,  /* does not fit the device */
  SINOPIA_TEXT_ERROR_INPUT,      /* bad token ids, mask or length */
} SinopiaTextErrorCode;

typedef enum {
  SINOPIA_TEXT_ARCH_T5,    /* Hugging Face T5EncoderModel names */
  SINOPIA_TEXT_ARCH_CLIP,  /* Hugging Face CLIPTextModel names */
} SinopiaTextArch;

/* Which encoder `st` holds, from its tensor names (any name prefix). TENSORS error when it
 * holds neither or both. */
gboolean sinopia_text_detect (const SinopiaSafetensors *st, SinopiaTextArch *arch, GError **error);

/* Encoders fill a SinopiaDump with the intermediates of one encode, named as the golden
 * files name them without the case prefix ("inter.encoder.block.0.layer.0.layer_norm",
 * "inter.embeddings", ...). Integer tensors (T5's relative_position_bucket) are stored as
 * f32 values. */


G_END_DECLS
