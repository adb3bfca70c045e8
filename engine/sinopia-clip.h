/* sinopia-clip.h — the CLIP text model (FLUX's CLIP-L) on the Vulkan ops: configuration,
 * checkpoint loading (Hugging Face CLIPTextModel names, any outer prefix) and the encode of
 * one token sequence into last_hidden_state and the pooled vector FLUX uses as `y`.
 *
 * Math (HF CLIPTextModel): x = token_embedding[ids] + position_embedding[0..n); per layer
 * x += out_proj(causal attention(LN1(x))), x += fc2(act(fc1(LN2(x)))) with LayerNorm eps
 * 1e-5 (affine) and act = quick_gelu; last_hidden_state = final_layer_norm(x); pooled = its
 * row at the EOS token.
 *
 * Ownership: a SinopiaClipModel owns its device weights and borrows the Vulkan context, which
 * must outlive it. Activation buffers live for one encode.
 * Threads: a model is used from one thread at a time (the engine's worker).
 */
#pragma once

#include "sinopia-ops.h"
#include "sinopia-text.h"

G_BEGIN_DECLS

/* Field names follow HF's CLIPTextConfig. */
typedef struct {
  uint32_t vocab_size;         /* CLIP-L: 49408 */
  uint32_t hidden_size;        /* 768 */
  uint32_t intermediate_size;  /* 3072 */
  uint32_t num_layers;         /* num_hidden_layers, 12 */
  uint32_t num_heads;          /* num_attention_heads, 12 */
  uint32_t max_positions;      /* max_position_embeddings, 77: the longest sequence */
  SinopiaActivation act;       /* hidden_act: QUICK_GELU ("quick_gelu") or GELU_TANH ("gelu_new") */
  float eps;                   /* layer_norm_eps, 1e-5 */
  /* Pooling: 2 (the openai/clip-vit-large-patch14 config) selects HF's legacy rule, the
   * position of the largest id; any other value the first position holding that id. */
  int32_t eos_token_id;
} SinopiaClipConfig;

/* Reads the configuration from `__metadata__["clip_text_config"]` (HF config JSON) when
 * present, otherwise infers it from tensor shapes: heads of 64, quick_gelu, eps 1e-5 and
 * eos_token_id 2 (CLIP-L's config). *prefix gets the prefix of the names
 * ("text_model." for HF files, e.g. "cond_stage_model.transformer.text_model." in a combined
 * checkpoint). (transfer full) *prefix. */
gboolean sinopia_clip_config_from_checkpoint (const SinopiaSafetensors *st, SinopiaClipConfig *cfg, char **prefix,
                                              GError **error);
/* Parses HF's CLIPTextConfig JSON (hidden_act "quick_gelu", "gelu_new" or
 * "gelu_pytorch_tanh"; the exact erf "gelu" is not supported). */
gboolean sinopia_clip_config_from_json (const char *json, SinopiaClipConfig *cfg, GError **error);

/* The row HF pools for ids [n]: with eos_token_id 2 the first position of the largest id,
 * otherwise the first position of eos_token_id (0 when there is none, as HF's argmax gives). */
uint32_t sinopia_clip_pooled_index (const SinopiaClipConfig *cfg, const int32_t *ids, uint32_t n);

/* Device bytes of activations one encode of n tokens allocates. */
uint64_t sinopia_clip_activation_bytes (const SinopiaClipConfig *cfg, uint32_t n);

typedef struct _SinopiaClipModel SinopiaClipModel;

/* Loads a CLIP text model into device memory (matrices keep their stored dtype; norms,
 * biases and the position table become f32). Checks first that the weights and an encode
 * of max_positions tokens fit the device. Every tensor the model needs must be present with
 * its exact shape and no other tensor may carry the prefix (the position_ids buffer is
 * ignored); errors name the tensor. (transfer full): sinopia_clip_free. */
SinopiaClipModel *sinopia_clip_load (SinopiaVkContext *ctx, const char *path, GError **error);
void sinopia_clip_free (SinopiaClipModel *model);
const SinopiaClipConfig *sinopia_clip_config (const SinopiaClipModel *model);
/* Device bytes of the weights. */
uint64_t sinopia_clip_weight_bytes (const SinopiaClipModel *model);

/* Encodes ids [n] (1 ≤ n ≤ max_positions, each in [0, vocab_size)) into out_hidden
 * [n, hidden_size] (may be NULL) and out_pooled [hidden_size] (may be NULL; the row
 * sinopia_clip_pooled_index picks). Attention is causal; `mask` [n] (may be NULL, as FLUX
 * runs it) additionally hides keys whose value is 0 (HF's attention_mask); 1 marks tokens.
 * One submission. With `dump` the intermediates are stored in it under their golden names. */
gboolean sinopia_clip_encode (SinopiaClipModel *model, const int32_t *ids, const int32_t *mask, uint32_t n,
                              float *out_hidden, float *out_pooled, SinopiaDump *dump, GError **error);

G_END_DECLS
