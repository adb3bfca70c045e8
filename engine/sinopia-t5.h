/* sinopia-t5.h — the T5 v1.1 encoder (FLUX's T5-XXL) on the Vulkan ops: configuration,
 * checkpoint loading (Hugging Face T5EncoderModel names, any outer prefix) and the encode
 * of one token sequence into last_hidden_state.
 *
 * Math (HF T5EncoderModel, gated-gelu): x = shared[ids] (no scaling); per block
 * x += Wo·attn(RMS(x)) with no 1/sqrt(d_kv) scaling and the relative-position bias of
 * block 0, then x += Wo·(gelu_tanh(Wi0·RMS(x)) ⊙ Wi1·RMS(x)); out = RMS(x; final norm).
 *
 * Ownership: a SinopiaT5Model owns its device weights and borrows the Vulkan context, which
 * must outlive it. Activation buffers live for one encode.
 * Threads: a model is used from one thread at a time (the engine's worker).
 */
#pragma once

#include "sinopia-ops.h"
#include "sinopia-text.h"

G_BEGIN_DECLS

/* Field names follow HF's T5Config. */
typedef struct {
  uint32_t vocab_size;   /* rows of shared.weight (T5-XXL: 32128) */
  uint32_t d_model;      /* 4096 */
  uint32_t d_kv;         /* per head, 64 */
  uint32_t num_heads;    /* 64 */
  uint32_t d_ff;         /* 10240 */
  uint32_t num_layers;   /* 24 */
  uint32_t num_buckets;  /* relative_attention_num_buckets, 32 */
  uint32_t max_distance; /* relative_attention_max_distance, 128 */
  float eps;             /* layer_norm_epsilon, 1e-6 */
} SinopiaT5Config;

/* Sequences of this many tokens must fit beside the weights when a model loads (FLUX.1-dev
 * pads T5 prompts to 512). */
#define SINOPIA_T5_FIT_TOKENS 512u
/* The longest sequence an encode accepts; keeps every index and size well inside 32 bits. */
#define SINOPIA_T5_MAX_TOKENS 32768u

/* Reads the configuration from `__metadata__["t5_config"]` (HF config JSON) when present,
 * otherwise infers it from tensor shapes (max_distance 128, eps 1e-6). *prefix gets the
 * prefix of the encoder stack's names: "encoder." for HF files, "" when "encoder." is
 * missing, or with an outer prefix ("text_encoders.t5xxl.transformer.encoder.").
 * (transfer full) *prefix. */
gboolean sinopia_t5_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaT5Config *cfg, char **prefix,
                                            GError **error);
/* Parses HF's T5Config JSON. Only the gated GELU feed-forward (T5 v1.1) is supported. */
gboolean sinopia_t5_config_from_json (const char *json, SinopiaT5Config *cfg, GError **error);

/* HF's bidirectional _relative_position_bucket(j − i) with its float32 log arithmetic, so
 * the boundary distances (16, 32, 64 for max_distance 128) land where the reference puts them. */
uint32_t sinopia_t5_relative_bucket (int32_t relative_position, uint32_t num_buckets, uint32_t max_distance);

/* Device bytes of activations one encode of n tokens allocates. */
uint64_t sinopia_t5_activation_bytes (const SinopiaT5Config *cfg, uint32_t n);

typedef struct _SinopiaT5Model SinopiaT5Model;

/* Loads a T5 encoder into device memory (matrices keep their stored dtype; norms and the
 * relative-attention table become f32). Checks first that the weights and an encode of
 * SINOPIA_T5_FIT_TOKENS tokens fit the device. Every tensor the model needs must be present
 * with its exact shape and no other tensor may carry the prefix (a T5 decoder and lm_head
 * beside the encoder are ignored); errors name the tensor. (transfer full): sinopia_t5_free. */
SinopiaT5Model *sinopia_t5_load (SinopiaVkContext *ctx, const char *path, GError **error);
void sinopia_t5_free (SinopiaT5Model *model);
const SinopiaT5Config *sinopia_t5_config (const SinopiaT5Model *model);
/* Device bytes of the weights. */
uint64_t sinopia_t5_weight_bytes (const SinopiaT5Model *model);

/* Encodes ids [n] (1 ≤ n ≤ SINOPIA_T5_MAX_TOKENS, each in [0, vocab_size)) into out_hidden
 * [n, d_model] (host f32). `mask` [n] (may be NULL: every token attends to every token, as
 * FLUX runs it) holds 1 for tokens and 0 for padding; padding keys are hidden from every
 * query (HF's attention_mask), padding rows are still computed. At least one token must be
 * unmasked. One submission. With `dump` the intermediates are stored in it under their
 * golden names. */
gboolean sinopia_t5_encode (SinopiaT5Model *model, const int32_t *ids, const int32_t *mask, uint32_t n,
                            float *out_hidden, SinopiaDump *dump, GError **error);

G_END_DECLS
