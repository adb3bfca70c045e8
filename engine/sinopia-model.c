/* sinopia-model.c — loading a model folder and finding the default one. */
#define G_LOG_DOMAIN "sinopia-engine"

#include <string.h>

#include "sinopia-model.h"

struct _SinopiaModel {
  char *dir;
  SinopiaVkContext *ctx;
  SinopiaModelInfo *info;
  SinopiaFluxModel *flux;
  SinopiaVkContext *negative_ctx;   /* owned; with negative_flux, the guidance pass's own copy */
  SinopiaFluxModel *negative_flux;
  SinopiaAeModel *ae;
  SinopiaT5Model *t5;
  SinopiaClipModel *clip;
  SinopiaSentencepiece *t5_tokenizer, *clip_tokenizer;
  gboolean have_preview;
  SinopiaPreviewMap preview;
  SinopiaTextCache *text_cache;
};

/* Paths of every file the folder must hold. */
typedef struct {
  char *info, *transformer, *ae, *clip, *t5, *clip_tokenizer, *t5_tokenizer;
} Files;

static void
files_clear (Files *f)
{
  g_free (f->info);
  g_free (f->transformer);
  g_free (f->ae);
  g_free (f->clip);
  g_free (f->t5);
  g_free (f->clip_tokenizer);
  g_free (f->t5_tokenizer);
}

static gboolean
missing (const char *path, const char *what, GError **error)
{
  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    return FALSE;
  g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING, "%s is missing (%s)", path, what);
  return TRUE;
}

static gint
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* transformer.safetensors, else the one flux1-*.safetensors of the folder. */
static char *
find_transformer (const char *dir, GError **error)
{
  char *plain = g_build_filename (dir, "transformer.safetensors", NULL);
  if (g_file_test (plain, G_FILE_TEST_IS_REGULAR))
    return plain;
  g_free (plain);

  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  for (const char *name; d && (name = g_dir_read_name (d));)
    if (g_str_has_prefix (name, "flux1-") && g_str_has_suffix (name, ".safetensors"))
      g_ptr_array_add (found, g_strdup (name));
  if (found->len == 1)
    return g_build_filename (dir, g_ptr_array_index (found, 0), NULL);
  if (found->len == 0) {
    g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING,
                 "%s has no transformer: expected transformer.safetensors or a flux1-*.safetensors", dir);
    return NULL;
  }
  g_ptr_array_sort (found, compare_names);
  g_ptr_array_add (found, NULL);
  g_autofree char *list = g_strjoinv (", ", (char **) found->pdata);
  g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING,
               "%s holds several transformers (%s): keep one, or name it transformer.safetensors", dir, list);
  return NULL;
}

static gboolean
find_files (const char *dir, Files *f, GError **error)
{
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING, "%s is not a model folder%s", dir,
                 g_file_test (dir, G_FILE_TEST_EXISTS) ? "" : ": it does not exist");
    return FALSE;
  }
  f->info = g_build_filename (dir, SINOPIA_MODEL_INFO_FILE, NULL);
  f->ae = g_build_filename (dir, "ae.safetensors", NULL);
  f->clip = g_build_filename (dir, "text_encoder", "model.safetensors", NULL);
  f->t5 = g_build_filename (dir, "text_encoder_2", "model.safetensors", NULL);
  f->clip_tokenizer = g_build_filename (dir, "tokenizer", "spiece.model", NULL);
  f->t5_tokenizer = g_build_filename (dir, "tokenizer_2", "spiece.model", NULL);
  if (missing (f->info, "the model's name, native size and sampling defaults", error) ||
      !(f->transformer = find_transformer (dir, error)) ||
      missing (f->ae, "the autoencoder", error) ||
      missing (f->clip, "the CLIP-style text encoder, which gives the pooled vector y", error) ||
      missing (f->t5, "the T5-style text encoder, which gives the text tokens", error) ||
      missing (f->clip_tokenizer, "the sentencepiece tokenizer of text_encoder", error) ||
      missing (f->t5_tokenizer, "the sentencepiece tokenizer of text_encoder_2", error))
    return FALSE;
  return TRUE;
}

/* The encoder in `path` must be of architecture `want`. */
static gboolean
check_arch (const char *path, SinopiaTextArch want, GError **error)
{
  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (path, error);
  SinopiaTextArch arch;
  if (!st || !sinopia_text_detect (st, &arch, error))
    return FALSE;
  if (arch != want) {
    g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                 "%s holds a %s encoder, but that place is for the %s one", path,
                 arch == SINOPIA_TEXT_ARCH_T5 ? "T5-style" : "CLIP-style",
                 want == SINOPIA_TEXT_ARCH_T5 ? "T5-style" : "CLIP-style");
    return FALSE;
  }
  return TRUE;
}

static gboolean
incompatible (gboolean bad, GError **error, const char *fmt, ...) G_GNUC_PRINTF (3, 4);

static gboolean
incompatible (gboolean bad, GError **error, const char *fmt, ...)
{
  if (bad) {
    va_list ap;
    va_start (ap, fmt);
    g_autofree char *msg = g_strdup_vprintf (fmt, ap);
    va_end (ap);
    g_set_error_literal (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE, msg);
  }
  return bad;
}

/* Token ids the encoders will see must index their embeddings. */
static gboolean
check_vocab (const SinopiaSentencepiece *sp, const char *sp_path, uint32_t vocab, const char *encoder,
             const int32_t *specials, guint n_specials, GError **error)
{
  gsize pieces = sinopia_sentencepiece_n_pieces (sp);
  if (incompatible (pieces > vocab, error, "%s has %" G_GSIZE_FORMAT " pieces, but %s embeds only %u tokens",
                    sp_path, pieces, encoder, vocab))
    return FALSE;
  for (guint i = 0; i < n_specials; i++)
    if (incompatible ((uint32_t) specials[i] >= vocab, error,
                      "%s: token id %d (tokens in " SINOPIA_MODEL_INFO_FILE ") is outside %s's %u tokens",
                      sp_path, specials[i], encoder, vocab))
      return FALSE;
  return TRUE;
}

static gboolean
check_fit (SinopiaModel *m, const Files *f, GError **error)
{
  const SinopiaFluxConfig *fc = sinopia_flux_model_config (m->flux);
  const SinopiaAeConfig *ac = sinopia_ae_config (m->ae);
  const SinopiaT5Config *tc = sinopia_t5_config (m->t5);
  const SinopiaClipConfig *cc = sinopia_clip_config (m->clip);
  const SinopiaModelInfo *info = m->info;
  uint32_t f2 = 2 * sinopia_ae_factor (ac);
  int32_t t5_ids[] = { info->pad_id, info->eos_id }, clip_ids[] = { info->bos_id, info->eos_id };

  if (incompatible (tc->d_model != fc->context_in_dim, error,
                    "%s gives %u-wide text tokens, but %s takes %u (context_in_dim)", f->t5, tc->d_model,
                    f->transformer, fc->context_in_dim) ||
      incompatible (cc->hidden_size != fc->vec_in_dim, error,
                    "%s gives a %u-wide pooled vector, but %s takes %u (vec_in_dim)", f->clip, cc->hidden_size,
                    f->transformer, fc->vec_in_dim) ||
      incompatible (ac->out_ch != 3, error, "%s decodes %u channels, not RGB", f->ae, ac->out_ch) ||
      incompatible (4 * ac->z_channels != fc->in_channels || fc->in_channels != fc->out_channels, error,
                    "%s has %u latent channels, but %s packs %u → %u features (4 per channel expected)", f->ae,
                    ac->z_channels, f->transformer, fc->in_channels, fc->out_channels) ||
      incompatible (info->clip_max_length > cc->max_positions, error,
                    "%s: clip_max_length %u exceeds the %u positions of %s", f->info, info->clip_max_length,
                    cc->max_positions, f->clip) ||
      incompatible (info->t5_max_length > SINOPIA_T5_MAX_TOKENS, error, "%s: t5_max_length %u exceeds %u",
                    f->info, info->t5_max_length, SINOPIA_T5_MAX_TOKENS) ||
      incompatible (info->size_multiple % f2 != 0, error,
                    "%s: size_multiple %u is not a multiple of %u (twice the autoencoder's factor, for 2×2 packing)",
                    f->info, info->size_multiple, f2) ||
      incompatible (info->guidance_mode == SINOPIA_GUIDANCE_CFG && fc->guidance_embed, error,
                    "%s: guidance_mode \"cfg\", but %s has a guidance embedding", f->info, f->transformer) ||
      incompatible (info->guidance_mode == SINOPIA_GUIDANCE_EMBEDDED && !fc->guidance_embed, error,
                    "%s: guidance_mode \"embedded\", but %s has no guidance embedding", f->info, f->transformer))
    return FALSE;
  return check_vocab (m->t5_tokenizer, f->t5_tokenizer, tc->vocab_size, f->t5, t5_ids, G_N_ELEMENTS (t5_ids),
                      error) &&
         check_vocab (m->clip_tokenizer, f->clip_tokenizer, cc->vocab_size, f->clip, clip_ids,
                      G_N_ELEMENTS (clip_ids), error);
}

/* Encoder outputs kept (a T5 and a CLIP one per prompt): a prompt, its negative and a few
 * regions' prompts. */
#define TEXT_CACHE_ENTRIES 16

/* On a CPU driver each context computes on threads of its own, and lavapipe leaves the cores
 * idle between a context's dispatches: a step's two guidance passes side by side, on two
 * contexts, keep them busier (the shipped model's image takes ~8 % less, docs/architecture.md).
 * The copy doubles the transformer's memory, so only small transformers get one; a GPU gains
 * nothing from it. $SINOPIA_PARALLEL_GUIDANCE (0 or 1) decides instead when set. */
#define PARALLEL_GUIDANCE_MAX_BYTES ((uint64_t) 256 << 20)

static gboolean
wants_parallel_guidance (const SinopiaModel *m)
{
  const char *env = g_getenv ("SINOPIA_PARALLEL_GUIDANCE");
  if (env && *env)
    return strcmp (env, "0") != 0;
  return !sinopia_flux_model_config (m->flux)->guidance_embed &&
         strcmp (sinopia_vk_context_device_info (m->ctx)->type, "cpu") == 0 &&
         sinopia_flux_model_weight_bytes (m->flux) <= PARALLEL_GUIDANCE_MAX_BYTES;
}

/* The copy only saves time: without it (no second context, no memory for it) both passes run
 * on the model's context, as they do on a GPU. */
static void
load_negative_copy (SinopiaModel *m, const char *transformer)
{
  g_autoptr (GError) error = NULL;
  if ((m->negative_ctx = sinopia_vk_context_new_sibling (m->ctx, &error)) &&
      (m->negative_flux = sinopia_flux_model_load (m->negative_ctx, transformer, &error)))
    return;
  g_debug ("the guidance passes stay on one context: %s", error->message);
  g_clear_pointer (&m->negative_ctx, sinopia_vk_context_free);
}

SinopiaModel *
sinopia_model_load (SinopiaVkContext *ctx, const char *dir, GError **error)
{
  g_autoptr (SinopiaModel) m = g_new0 (SinopiaModel, 1);
  Files f = { 0 };
  gboolean ok = FALSE;

  m->dir = g_strdup (dir);
  m->ctx = ctx;
  m->text_cache = sinopia_text_cache_new (TEXT_CACHE_ENTRIES);
  if (!find_files (dir, &f, error) ||
      !(m->info = sinopia_model_info_load (f.info, error)) ||
      !check_arch (f.clip, SINOPIA_TEXT_ARCH_CLIP, error) ||
      !check_arch (f.t5, SINOPIA_TEXT_ARCH_T5, error) ||
      !(m->t5_tokenizer = sinopia_sentencepiece_load (f.t5_tokenizer, error)) ||
      !(m->clip_tokenizer = sinopia_sentencepiece_load (f.clip_tokenizer, error)) ||
      !(m->flux = sinopia_flux_model_load (ctx, f.transformer, error)) ||
      !(m->ae = sinopia_ae_load (ctx, f.ae, error)) ||
      !(m->t5 = sinopia_t5_load (ctx, f.t5, error)) ||
      !(m->clip = sinopia_clip_load (ctx, f.clip, error)) ||
      !check_fit (m, &f, error))
    goto out;
  if (wants_parallel_guidance (m))
    load_negative_copy (m, f.transformer);
  if (!m->info->name) {
    g_autofree char *canonical = g_canonicalize_filename (dir, NULL);
    m->info->name = g_path_get_basename (canonical);
  }
  ok = TRUE;

out:
  files_clear (&f);
  return ok ? g_steal_pointer (&m) : NULL;
}

void
sinopia_model_free (SinopiaModel *m)
{
  if (!m)
    return;
  sinopia_clip_free (m->clip);
  sinopia_t5_free (m->t5);
  sinopia_ae_free (m->ae);
  sinopia_flux_model_free (m->flux);
  sinopia_flux_model_free (m->negative_flux);
  sinopia_vk_context_free (m->negative_ctx);
  sinopia_sentencepiece_free (m->t5_tokenizer);
  sinopia_sentencepiece_free (m->clip_tokenizer);
  sinopia_model_info_free (m->info);
  sinopia_text_cache_free (m->text_cache);
  g_free (m->dir);
  g_free (m);
}

const SinopiaModelInfo *
sinopia_model_info (const SinopiaModel *m)
{
  return m->info;
}

const char *
sinopia_model_dir (const SinopiaModel *m)
{
  return m->dir;
}

SinopiaVkContext *
sinopia_model_context (const SinopiaModel *m)
{
  return m->ctx;
}

SinopiaFluxModel *
sinopia_model_flux (const SinopiaModel *m)
{
  return m->flux;
}

SinopiaTextCache *
sinopia_model_text_cache (SinopiaModel *m)
{
  return m->text_cache;
}

SinopiaFluxModel *
sinopia_model_negative_flux (const SinopiaModel *m)
{
  return m->negative_flux;
}

SinopiaAeModel *
sinopia_model_ae (const SinopiaModel *m)
{
  return m->ae;
}

SinopiaT5Model *
sinopia_model_t5 (const SinopiaModel *m)
{
  return m->t5;
}

SinopiaClipModel *
sinopia_model_clip (const SinopiaModel *m)
{
  return m->clip;
}

const SinopiaSentencepiece *
sinopia_model_t5_tokenizer (const SinopiaModel *m)
{
  return m->t5_tokenizer;
}

const SinopiaSentencepiece *
sinopia_model_clip_tokenizer (const SinopiaModel *m)
{
  return m->clip_tokenizer;
}

const SinopiaPreviewMap *
sinopia_model_preview_map (SinopiaModel *m, GError **error)
{
  if (!m->have_preview) {
    if (!sinopia_preview_fit (m->ae, &m->preview, error))
      return NULL;
    m->have_preview = TRUE;
  }
  return &m->preview;
}

static gboolean
is_model_dir (const char *dir)
{
  g_autofree char *info = g_build_filename (dir, SINOPIA_MODEL_INFO_FILE, NULL);
  return g_file_test (info, G_FILE_TEST_IS_REGULAR);
}

gboolean
sinopia_model_find_default (char **dir, GError **error)
{
  const char *env = g_getenv ("SINOPIA_MODEL");
  if (env && *env) {
    if (!is_model_dir (env)) {
      g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_NOT_FOUND,
                   "SINOPIA_MODEL is %s, which is not a model folder (no " SINOPIA_MODEL_INFO_FILE ")", env);
      return FALSE;
    }
    *dir = g_strdup (env);
    return TRUE;
  }
  const char *const places[] = { SINOPIA_SOURCE_MODELS_DIR, SINOPIA_INSTALLED_MODELS_DIR };
  for (guint i = 0; i < G_N_ELEMENTS (places); i++) {
    g_autofree char *candidate = g_build_filename (places[i], SINOPIA_DEFAULT_MODEL, NULL);
    if (is_model_dir (candidate)) {
      *dir = g_steal_pointer (&candidate);
      return TRUE;
    }
  }
  g_set_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_NOT_FOUND,
               "No model found: give --model DIR or set SINOPIA_MODEL; the default model " SINOPIA_DEFAULT_MODEL
               " is in neither %s nor %s", places[0], places[1]);
  return FALSE;
}
