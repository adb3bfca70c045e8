/* sinopia-model.h — a model folder laid out like a Hugging Face FLUX.1 repository, loaded as
 * one object: the transformer, the autoencoder, both text encoders, both tokenizers and
 * sinopia-model.json (sinopia-model-info.h). And where the default model is found.
 *
 * Folder layout (docs/shapes-world.md):
 *   transformer.safetensors, or a single flux1-*.safetensors   FLUX transformer (BFL naming)
 *   ae.safetensors                                             BFL autoencoder
 *   text_encoder/model.safetensors                             CLIP-style text model → y
 *   text_encoder_2/model.safetensors                           T5-style encoder → txt
 *   tokenizer/spiece.model, tokenizer_2/spiece.model           sentencepiece (CLIP side, T5 side)
 *   sinopia-model.json
 *
 * Ownership: a SinopiaModel owns every component, its text cache and the sibling context of
 * its transformer copy (sinopia_model_negative_flux), and borrows the Vulkan context, which must
 * outlive it. Threads: used from one thread at a time (the engine's worker), except
 * sinopia_model_find_default, which may run on any thread.
 */
#pragma once

#include "sinopia-ae.h"
#include "sinopia-clip.h"
#include "sinopia-flux.h"
#include "sinopia-model-info.h"
#include "sinopia-paths.h"  /* SINOPIA_DEFAULT_MODEL, the folder's name; where it is looked for */
#include "sinopia-preview.h"
#include "sinopia-sentencepiece.h"
#include "sinopia-t5.h"
#include "sinopia-text-cache.h"

G_BEGIN_DECLS

typedef struct _SinopiaModel SinopiaModel;

/* Loads the folder `dir`. Every file is looked for before anything is loaded, and the first
 * one missing is named (SINOPIA_MODEL_ERROR_MISSING). The components must fit together:
 * T5 width = the transformer's context_in_dim, CLIP width = its vec_in_dim, 4 × latent
 * channels = its in_channels, CLIP positions ≥ clip_max_length, every tokenizer id and the
 * special ids inside the encoder's vocabulary, size_multiple a multiple of twice the
 * autoencoder's factor, and guidance_mode (when given) what the transformer has
 * (SINOPIA_MODEL_ERROR_INCOMPATIBLE otherwise). Component errors keep their own domains.
 * (transfer full): free with sinopia_model_free. */
SinopiaModel *sinopia_model_load (SinopiaVkContext *ctx, const char *dir, GError **error);
void sinopia_model_free (SinopiaModel *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaModel, sinopia_model_free)

/* Borrowed from the model. info->name is never NULL here: the folder's name stands in. */
const SinopiaModelInfo *sinopia_model_info (const SinopiaModel *model);
/* The folder as given to sinopia_model_load. */
const char *sinopia_model_dir (const SinopiaModel *model);
SinopiaVkContext *sinopia_model_context (const SinopiaModel *model);
SinopiaFluxModel *sinopia_model_flux (const SinopiaModel *model);
/* A second copy of the transformer on a sibling context, for the negative pass of guidance
 * to run beside the conditional one; NULL when the model has none. */
SinopiaFluxModel *sinopia_model_negative_flux (const SinopiaModel *model);
SinopiaAeModel *sinopia_model_ae (const SinopiaModel *model);
SinopiaT5Model *sinopia_model_t5 (const SinopiaModel *model);
SinopiaClipModel *sinopia_model_clip (const SinopiaModel *model);
const SinopiaSentencepiece *sinopia_model_t5_tokenizer (const SinopiaModel *model);
const SinopiaSentencepiece *sinopia_model_clip_tokenizer (const SinopiaModel *model);
/* The encoder outputs of recent prompts (sinopia-text-cache.h), used by the generation paths. */
SinopiaTextCache *sinopia_model_text_cache (SinopiaModel *model);
/* The preview map of the autoencoder, fitted on first use (a few small decodes) and kept. */
const SinopiaPreviewMap *sinopia_model_preview_map (SinopiaModel *model, GError **error);

/* The folder to load when no --model is given, first that applies:
 * 1. $SINOPIA_MODEL when set and not empty (an error if it holds no sinopia-model.json:
 *    a variable that is set is never silently skipped);
 * 2. the source tree's resources/models/SINOPIA_DEFAULT_MODEL (its absolute path is fixed at
 *    build time, so any build directory and working directory finds it);
 * 3. the installed data folder, <datadir>/sinopia/models/SINOPIA_DEFAULT_MODEL.
 * A folder counts when it holds sinopia-model.json. SINOPIA_MODEL_ERROR_NOT_FOUND names every
 * place tried. (transfer full) *dir. */
gboolean sinopia_model_find_default (char **dir, GError **error);

G_END_DECLS
