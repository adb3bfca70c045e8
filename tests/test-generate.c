/* The model folder and text-to-image generation, end to end on a tiny random model written by
 * the test itself (FLUX transformer, autoencoder, T5- and CLIP-style encoders with the
 * metadata their loaders read, tests/data/spm-nmt.model as both tokenizers): loading and its
 * errors, sinopia-model.json parsing, size errors, determinism, cancellation, progress,
 * prompt truncation, the PNG parameters chunk, `sinopia-cli generate` and model discovery. */
#define G_LOG_DOMAIN "sinopia-test"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>
#include <unistd.h>

#include "sinopia-generate.h"
#include "sinopia-png.h"
#include "sinopia-test-golden.h"
#include "sinopia-test-model.h"
#include "sinopia-test-vk.h"

/* Tiny but complete (sinopia-test-model.h): every block type runs. */
#define TEXT_LENGTH 24         /* t5/clip_max_length: short, so truncation is easy to reach */
#define STEPS 3
#define SIDE 32                /* a 4×4 latent, 4 image tokens */

static char *tmp_root;         /* everything the test writes */
static char *model_dir;        /* the tiny model */
static SinopiaModel *model;    /* loaded once on the shared context */

static const SinopiaTestModel tiny = {
  .name = "tiny-test", .side = SIDE, .steps = STEPS, .text_length = TEXT_LENGTH, .depth = 1, .depth_single = 1,
};

static char *
info_json (const char *name, const char *extra)
{
  return sinopia_test_model_info_json (&tiny, name, extra);
}

/* A folder of symlinks to the tiny model's files, without `skip` (a path relative to the
 * model; NULL keeps all) and with `renamed` (relative path → new relative name) applied. */
static char *
variant (const char *name, const char *skip, const char *const *renamed)
{
  const char *files[] = { SINOPIA_MODEL_INFO_FILE, "transformer.safetensors", "ae.safetensors",
                          "text_encoder/model.safetensors", "text_encoder_2/model.safetensors",
                          "tokenizer/spiece.model", "tokenizer_2/spiece.model" };
  char *dir = g_build_filename (tmp_root, name, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    const char *to = files[i];
    if (skip && strcmp (skip, files[i]) == 0)
      continue;
    for (guint k = 0; renamed && renamed[k]; k += 2)
      if (strcmp (renamed[k], files[i]) == 0)
        to = renamed[k + 1];
    g_autofree char *src = g_build_filename (model_dir, files[i], NULL), *dst = g_build_filename (dir, to, NULL);
    g_autofree char *parent = g_path_get_dirname (dst);
    g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
    g_assert_cmpint (symlink (src, dst), ==, 0);
  }
  return dir;
}

/* Replaces the variant's sinopia-model.json with `json`. */
static void
variant_info (const char *dir, const char *json)
{
  g_autofree char *p = g_build_filename (dir, SINOPIA_MODEL_INFO_FILE, NULL);
  g_unlink (p);
  sinopia_test_write_text (p, json);
}

static SinopiaModel *
load_expecting_error (const char *dir, GQuark domain, gint code, const char *needle)
{
  g_autoptr (GError) error = NULL;
  SinopiaModel *m = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_null (m);
  g_assert_error (error, domain, code);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
  return m;
}

/* Loading: configuration values come from sinopia-model.json, defaults fill absent keys,
 * unknown sections stay readable, and the components are the ones in the folder. */
static void
test_load (void)
{
  const SinopiaModelInfo *info = sinopia_model_info (model);
  g_assert_cmpstr (info->name, ==, "tiny-test");
  g_assert_cmpuint (info->native_width, ==, SIDE);
  g_assert_cmpuint (info->native_height, ==, SIDE);
  g_assert_cmpuint (info->default_steps, ==, STEPS);
  g_assert_cmpfloat (info->default_guidance, ==, 2.5f);
  g_assert_cmpint (info->guidance_mode, ==, SINOPIA_GUIDANCE_CFG);
  g_assert_cmpuint (info->t5_max_length, ==, TEXT_LENGTH);
  g_assert_cmpuint (info->clip_max_length, ==, TEXT_LENGTH);
  g_assert_true (info->base_shift == 0.5 && info->max_shift == 1.15);  /* absent: FLUX's */
  const SinopiaJsonNode *kv = sinopia_model_info_section (info, "kv_edit");
  int64_t skip;
  g_assert_true (sinopia_json_get_int64 (kv, "skip_steps", 0, 100, &skip, NULL));
  g_assert_cmpint (skip, ==, 4);
  g_assert_cmpuint (sinopia_flux_model_config (sinopia_model_flux (model))->context_in_dim, ==,
                    sinopia_t5_config (sinopia_model_t5 (model))->d_model);
  g_assert_cmpuint (sinopia_clip_config (sinopia_model_clip (model))->max_positions, ==, 32);
  g_assert_cmpuint (sinopia_ae_config (sinopia_model_ae (model))->z_channels, ==, 16);
  g_assert_cmpuint (sinopia_sentencepiece_n_pieces (sinopia_model_t5_tokenizer (model)), ==, 438);

  /* without a name the folder's name stands in; flux1-*.safetensors is a transformer too */
  const char *renamed[] = { "transformer.safetensors", "flux1-tiny.safetensors", NULL };
  g_autofree char *dir = variant ("unnamed-model", NULL, renamed);
  variant_info (dir, "{\"native_size\": 32, \"text_max_length\": 8}");
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModel) m = sinopia_model_load (sinopia_test_context (), dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (sinopia_model_info (m)->name, ==, "unnamed-model");
  g_assert_cmpuint (sinopia_model_info (m)->default_steps, ==, 20);
  g_assert_cmpfloat (sinopia_model_info (m)->default_guidance, ==, 4.0f);
  g_assert_cmpint (sinopia_model_info (m)->guidance_mode, ==, SINOPIA_GUIDANCE_UNSPECIFIED);
}

/* Each missing file is named in the error, before anything loads; so are folders that are not
 * folders, several transformers, swapped encoders and components that do not fit together. */
static void
test_load_errors (void)
{
  const char *files[] = { SINOPIA_MODEL_INFO_FILE, "ae.safetensors", "text_encoder/model.safetensors",
                          "text_encoder_2/model.safetensors", "tokenizer/spiece.model", "tokenizer_2/spiece.model" };
  for (guint i = 0; i < G_N_ELEMENTS (files); i++) {
    g_autofree char *name = g_strdup_printf ("missing-%u", i);
    g_autofree char *dir = variant (name, files[i], NULL);
    load_expecting_error (dir, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING, files[i]);
  }
  g_autofree char *no_flux = variant ("missing-flux", "transformer.safetensors", NULL);
  load_expecting_error (no_flux, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING,
                        "expected transformer.safetensors or a flux1-*.safetensors");
  g_autofree char *nowhere = g_build_filename (tmp_root, "does-not-exist", NULL);
  load_expecting_error (nowhere, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING, "does not exist");

  g_autofree char *two = variant ("two-transformers", NULL, (const char *[]) {
                                    "transformer.safetensors", "flux1-a.safetensors", NULL });
  g_autofree char *src = g_build_filename (model_dir, "transformer.safetensors", NULL);
  g_autofree char *second = g_build_filename (two, "flux1-b.safetensors", NULL);
  g_assert_cmpint (symlink (src, second), ==, 0);
  load_expecting_error (two, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_MISSING,
                        "flux1-a.safetensors, flux1-b.safetensors");

  g_autofree char *swapped = variant ("swapped", NULL, (const char *[]) {
                                        "text_encoder/model.safetensors", "text_encoder_2/model.safetensors",
                                        "text_encoder_2/model.safetensors", "text_encoder/model.safetensors",
                                        NULL });
  load_expecting_error (swapped, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "text_encoder/model.safetensors holds a T5-style encoder");

  g_autofree char *json = info_json ("x", ", \"clip_max_length\": 33");
  g_autofree char *long_clip = variant ("long-clip", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (long_clip, json);
  load_expecting_error (long_clip, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "clip_max_length 33 exceeds the 32 positions");

  g_autofree char *embedded = variant ("embedded", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (embedded, "{\"guidance_mode\": \"embedded\", \"native_size\": 32, \"text_max_length\": 8}");
  load_expecting_error (embedded, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "has no guidance embedding");

  g_autofree char *multiple = variant ("multiple", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (multiple, "{\"size_multiple\": 8, \"native_size\": 32, \"text_max_length\": 8}");
  load_expecting_error (multiple, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INCOMPATIBLE,
                        "size_multiple 8 is not a multiple of 16");

  g_autofree char *bad_info = variant ("bad-info", SINOPIA_MODEL_INFO_FILE, NULL);
  variant_info (bad_info, "{\"default_steps\": 0}");
  load_expecting_error (bad_info, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO, "default_steps");
}

static void
expect_info_error (const char *json, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModelInfo) info = sinopia_model_info_parse (json, strlen (json), "m.json", &error);
  g_assert_null (info);
  g_assert_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_INFO);
  g_assert_true (g_str_has_prefix (error->message, "m.json: "));
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* sinopia-model.json: documented defaults for an empty object, per-key overrides, unknown
 * keys ignored, and each bad value refused with its key named. */
static void
test_info_parse (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModelInfo) d = sinopia_model_info_parse ("{}", 2, "d", &error);
  g_assert_no_error (error);
  g_assert_null (d->name);
  g_assert_cmpuint (d->native_width, ==, 128);
  g_assert_cmpuint (d->size_multiple, ==, 16);
  g_assert_cmpuint (d->default_steps, ==, 20);
  g_assert_cmpfloat (d->default_guidance, ==, 4.0f);
  g_assert_true (d->shift);
  g_assert_cmpuint (d->t5_max_length, ==, 32);
  g_assert_cmpint (d->bos_id, ==, 3);

  const char *j = "{\"native_size\": 64, \"native_height\": 96, \"text_max_length\": 20, \"clip_max_length\": 10,"
                  " \"shift\": false, \"future_key\": [1, {\"x\": null}], \"tokens\": {\"eos\": 5}}";
  g_autoptr (SinopiaModelInfo) o = sinopia_model_info_parse (j, strlen (j), "o", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (o->native_width, ==, 64);
  g_assert_cmpuint (o->native_height, ==, 96);
  g_assert_cmpuint (o->t5_max_length, ==, 20);
  g_assert_cmpuint (o->clip_max_length, ==, 10);
  g_assert_false (o->shift);
  g_assert_cmpint (o->eos_id, ==, 5);
  g_assert_cmpint (o->pad_id, ==, 0);
  g_assert_nonnull (sinopia_model_info_section (o, "future_key"));

  expect_info_error ("[]", "not an object");
  expect_info_error ("{\"format\": \"other\"}", "format");
  expect_info_error ("{\"format_version\": 2}", "newer");
  expect_info_error ("{\"native_size\": 100}", "not a multiple of size_multiple 16");
  expect_info_error ("{\"size_multiple\": 15, \"native_size\": 30}", "odd");
  expect_info_error ("{\"default_steps\": 1001}", "default_steps");
  expect_info_error ("{\"default_guidance\": -1}", "default_guidance");
  expect_info_error ("{\"guidance_mode\": \"both\"}", "guidance_mode");
  expect_info_error ("{\"text_max_length\": 1}", "text_max_length");
  expect_info_error ("{\"tokens\": {\"pad\": -1}}", "tokens: ");
  expect_info_error ("{\"tokens\": 3}", "tokens is a number");
  expect_info_error ("{\"name\": 3}", "name");
  expect_info_error ("{\"shift\": 1}", "shift");
  expect_info_error ("{", "byte 1");
}

static void
expect_size_error (uint32_t w, uint32_t h, const char *needle)
{
  g_autoptr (GError) error = NULL;
  g_assert_false (sinopia_generate_check_size (sinopia_model_info (model), w, h, &error));
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE);
  if (!strstr (error->message, needle))
    g_error ("expected \"%s\" in: %s", needle, error->message);
}

/* Sizes: multiples of 16 pass; others fail naming the nearest valid size (halfway cases go
 * to the even multiple, as Python's round in the PyTorch sampler); sinopia_generate refuses
 * them before any work. */
static void
test_sizes (void)
{
  g_assert_true (sinopia_generate_check_size (sinopia_model_info (model), 48, 16, NULL));
  expect_size_error (100, 32, "width 100 is not a multiple of 16; the nearest valid width is 96");
  expect_size_error (32, 120, "height 120 is not a multiple of 16; the nearest valid height is 128");
  expect_size_error (32, 104, "nearest valid height is 96");
  expect_size_error (5, 32, "nearest valid width is 16");
  expect_size_error (0, 32, "nearest valid width is 16");
  expect_size_error (32, 20000, "nearest valid height is 16384");

  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a red circle";
  p.width = 40;
  g_assert_null (sinopia_generate (model, &p, NULL, NULL, NULL, &error));
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_SIZE);
  g_assert_nonnull (strstr (error->message, "nearest valid width is 32"));
}

typedef struct {
  guint calls;
  guint stop_after;     /* 0: never */
  gint *cancel;         /* set instead of returning FALSE when non-NULL */
  gboolean saw_preview;
  guint last_step;
} Steps;

static gboolean
count_steps (const SinopiaStepInfo *info, gpointer user)
{
  Steps *s = user;
  g_assert_cmpuint (info->step, ==, s->calls);
  s->last_step = info->step;
  s->saw_preview |= info->preview_rgb != NULL && info->preview_width == SIDE / 8;
  s->calls++;
  if (s->stop_after && s->calls == s->stop_after) {
    if (s->cancel) {
      g_atomic_int_set (s->cancel, 1);
      return TRUE;
    }
    return FALSE;
  }
  return TRUE;
}

static SinopiaImage *
generate (const char *prompt, guint64 seed, Steps *steps)
{
  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = prompt;
  p.seed = seed;
  SinopiaImage *img = sinopia_generate (model, &p, NULL, steps ? count_steps : NULL, steps, &error);
  g_assert_no_error (error);
  return img;
}

static gsize
rgb_size (const SinopiaImage *img)
{
  return (gsize) img->width * img->height * 3;
}

/* Determinism: the same parameters give bit-identical pixels and latents; another seed or
 * prompt changes the picture. The progress callback runs once per step, in order. The
 * defaults of sinopia-model.json are what the image records. */
static void
test_determinism (void)
{
  Steps s1 = { 0 }, s2 = { 0 };
  g_autoptr (SinopiaImage) a = generate ("a red circle at the top left", 7, &s1);
  g_autoptr (SinopiaImage) b = generate ("a red circle at the top left", 7, &s2);
  g_autoptr (SinopiaImage) c = generate ("a red circle at the top left", 8, NULL);
  g_autoptr (SinopiaImage) d = generate ("a blue square", 7, NULL);
  g_assert_cmpuint (s1.calls, ==, STEPS);
  g_assert_cmpuint (s2.calls, ==, STEPS);
  g_assert_false (s1.saw_preview);
  g_assert_cmpuint (a->width, ==, SIDE);
  g_assert_cmpuint (a->height, ==, SIDE);
  g_assert_cmpuint (a->steps, ==, STEPS);
  g_assert_cmpfloat (a->guidance, ==, 2.5f);
  g_assert_cmpstr (a->model_name, ==, "tiny-test");
  g_assert_cmpstr (a->negative, ==, "");
  g_assert_null (a->warnings[0]);
  g_assert_cmpmem (a->rgb, rgb_size (a), b->rgb, rgb_size (b));
  gsize n_latent = (gsize) a->latent_channels * a->latent_height * a->latent_width;
  g_assert_cmpuint (n_latent, ==, 16 * (SIDE / 8) * (SIDE / 8));
  g_assert_cmpmem (a->latent, n_latent * 4, b->latent, n_latent * 4);
  g_assert_true (memcmp (a->rgb, c->rgb, rgb_size (a)) != 0);
  g_assert_true (memcmp (a->rgb, d->rgb, rgb_size (a)) != 0);
  /* the picture is not flat, so equality above means something */
  guint distinct = 0;
  gboolean seen[256] = { FALSE };
  for (gsize i = 0; i < rgb_size (a); i++)
    if (!seen[a->rgb[i]]) {
      seen[a->rgb[i]] = TRUE;
      distinct++;
    }
  g_assert_cmpuint (distinct, >, 20);
}

/* Given noise replaces the seed's: passing sinopia_noise(seed) explicitly reproduces the
 * seeded run, and the final latent differs from the noise it started from. */
static void
test_given_noise (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaImage) seeded = generate ("green triangle", 11, NULL);
  gsize n = 16 * (SIDE / 8) * (SIDE / 8);
  g_autofree float *noise = g_new (float, n);
  sinopia_noise (11, noise, n);
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "green triangle";
  p.seed = 99;
  p.noise = noise;
  g_autoptr (SinopiaImage) given = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (seeded->rgb, rgb_size (seeded), given->rgb, rgb_size (given));
  g_assert_cmpuint (given->seed, ==, 99);
  g_assert_true (memcmp (given->latent, noise, n * sizeof (float)) != 0);
}

/* Cancel: the step callback returning FALSE, the cancel flag set during a step, and a flag
 * set before the start all end with CANCELLED, after exactly the steps that ran. */
static void
test_cancel (void)
{
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a small pink ring";
  p.steps = 4;

  g_autoptr (GError) e1 = NULL;
  Steps s = { .stop_after = 2 };
  g_assert_null (sinopia_generate (model, &p, NULL, count_steps, &s, &e1));
  g_assert_error (e1, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_assert_cmpuint (s.calls, ==, 2);

  g_autoptr (GError) e2 = NULL;
  gint flag = 0;
  Steps f = { .stop_after = 3, .cancel = &flag };
  g_assert_null (sinopia_generate (model, &p, &flag, count_steps, &f, &e2));
  g_assert_error (e2, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_assert_cmpuint (f.calls, ==, 3);

  g_autoptr (GError) e3 = NULL;
  Steps none = { 0 };
  g_assert_null (sinopia_generate (model, &p, &flag, count_steps, &none, &e3));
  g_assert_error (e3, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_assert_cmpuint (none.calls, ==, 0);
}

/* Warm-up: on a context of its own, it creates (and so compiles) every pipeline that a guided
 * generation at the native size and an encode of its image then use: they create none. A set
 * cancel flag stops it with CANCELLED. */
static void
test_warm_up (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaVkOptions options = { 0 };
  SinopiaVkContext *ctx = sinopia_vk_context_new (&options, &error);
  g_assert_no_error (error);
  g_autoptr (SinopiaModel) fresh = sinopia_model_load (ctx, model_dir, &error);
  g_assert_no_error (error);
  guint loaded = sinopia_vk_context_pipelines_created (ctx);
  g_assert_true (sinopia_generate_warm_up (fresh, NULL, &error));
  g_assert_no_error (error);
  guint warmed = sinopia_vk_context_pipelines_created (ctx);
  g_assert_cmpuint (warmed, >, loaded);

  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a large red circle at the top left on a blue background";
  p.negative = "a green square";
  p.steps = 3;
  p.seed = 9;
  g_autoptr (SinopiaImage) image = sinopia_generate (fresh, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  gsize hw = (gsize) image->width * image->height;
  g_autofree float *planes = g_new (float, 3 * hw);
  for (gsize i = 0; i < 3 * hw; i++)
    planes[i] = image->rgb[(i % hw) * 3 + i / hw] / 127.5f - 1.0f;
  g_autofree float *latent = g_new (float, hw);
  g_assert_true (sinopia_ae_encode (sinopia_model_ae (fresh), planes, image->height, image->width, NULL, latent,
                                    NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_vk_context_pipelines_created (ctx), ==, warmed);

  gint flag = 1;
  g_assert_false (sinopia_generate_warm_up (fresh, &flag, &error));
  g_assert_error (error, SINOPIA_GENERATE_ERROR, SINOPIA_GENERATE_ERROR_CANCELLED);
  g_clear_pointer (&fresh, sinopia_model_free);
  sinopia_vk_context_free (ctx);
}

/* Truncation: a prompt longer than the text length gives a warning per encoder, and words
 * beyond the cut change nothing; the preview, when asked for, comes with every step. */
static void
test_truncation_and_preview (void)
{
  const char *longer = "a large red circle at the top left and a small blue star";
  g_autofree char *longest = g_strconcat (longer, " in the center on a yellow background", NULL);
  Steps s = { 0 };
  g_autoptr (SinopiaImage) a = generate (longer, 3, NULL);
  g_autoptr (SinopiaImage) b = generate (longest, 3, &s);
  g_assert_cmpuint (g_strv_length (a->warnings), ==, 2);
  g_assert_nonnull (strstr (a->warnings[0], "the T5 encoder reads the first 23"));
  g_assert_nonnull (strstr (a->warnings[1], "the CLIP encoder reads the first 22"));
  g_assert_cmpmem (a->rgb, rgb_size (a), b->rgb, rgb_size (b));
  g_assert_cmpstr (b->prompt, ==, longest);

  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a red circle";
  p.preview = TRUE;
  Steps pv = { 0 };
  g_autoptr (SinopiaImage) c = sinopia_generate (model, &p, NULL, count_steps, &pv, &error);
  g_assert_no_error (error);
  g_assert_true (pv.saw_preview);
  g_assert_cmpuint (pv.calls, ==, STEPS);
}

/* The guidance: a guidance of 1 skips the negative prompt (so the negative changes nothing),
 * other values use it. */
static void
test_guidance (void)
{
  g_autoptr (GError) error = NULL;
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a yellow star";
  p.guidance = 1.0f;
  g_autoptr (SinopiaImage) plain = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  p.negative = "a black background";
  g_autoptr (SinopiaImage) plain_neg = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  p.guidance = 3.0f;
  g_autoptr (SinopiaImage) guided_neg = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  p.negative = NULL;
  g_autoptr (SinopiaImage) guided = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (plain->rgb, rgb_size (plain), plain_neg->rgb, rgb_size (plain_neg));
  g_assert_true (memcmp (guided->rgb, guided_neg->rgb, rgb_size (guided)) != 0);
  g_assert_true (memcmp (guided->rgb, plain->rgb, rgb_size (guided)) != 0);
  g_assert_cmpfloat (guided->guidance, ==, 3.0f);
}

/* The guidance passes side by side (sinopia_model_negative_flux: a copy of the transformer on
 * a sibling context, made by default for a small model on a CPU device) give the latent and
 * pixels of both passes on one context, bit for bit: plain, with a negative prompt, and with
 * regions (the regional conditional pass beside the plain negative one), previews on. Without
 * the copy the model still loads. */
static void
test_parallel_guidance (void)
{
  g_autoptr (GError) error = NULL;
  g_setenv ("SINOPIA_PARALLEL_GUIDANCE", "0", TRUE);
  g_autoptr (SinopiaModel) serial = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_assert_no_error (error);
  g_setenv ("SINOPIA_PARALLEL_GUIDANCE", "1", TRUE);
  g_autoptr (SinopiaModel) parallel = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_assert_no_error (error);
  /* a copy that cannot be made (here its context allows no allocation the size of a weight)
   * leaves both passes on the model's context, and the model loads all the same */
  g_setenv ("SINOPIA_MAX_ALLOC", "64", TRUE);
  g_autoptr (SinopiaModel) fallback = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_assert_no_error (error);
  g_unsetenv ("SINOPIA_MAX_ALLOC");
  g_unsetenv ("SINOPIA_PARALLEL_GUIDANCE");
  g_assert_null (sinopia_model_negative_flux (fallback));
  g_assert_null (sinopia_model_negative_flux (serial));
  g_assert_nonnull (sinopia_model_negative_flux (parallel));
  gboolean cpu = strcmp (sinopia_vk_context_device_info (sinopia_test_context ())->type, "cpu") == 0;
  g_assert_true ((sinopia_model_negative_flux (model) != NULL) == cpu);

  const SinopiaRegion regions[] = {
    { .prompt = "a green square", .x = 0, .y = 0, .w = 24, .h = 16 },
    { .prompt = "a yellow triangle", .x = 16, .y = 8, .w = 16, .h = 24 },
  };
  for (guint c = 0; c < 3; c++) {
    SinopiaGenerateParams p;
    sinopia_generate_params_init (&p);
    p.prompt = "a red circle on a blue background";
    p.seed = 5 + c;
    p.preview = TRUE;
    if (c == 1)
      p.negative = "a black star";
    if (c == 2) {
      p.regions = regions;
      p.n_regions = G_N_ELEMENTS (regions);
      p.base_ratio = 0.5f;
      p.mask_inject_steps = STEPS;
      p.double_interval = p.single_interval = 1;
    }
    Steps sa = { 0 }, sb = { 0 };
    g_autoptr (SinopiaImage) a = sinopia_generate (serial, &p, NULL, count_steps, &sa, &error);
    g_assert_no_error (error);
    g_autoptr (SinopiaImage) b = sinopia_generate (parallel, &p, NULL, count_steps, &sb, &error);
    g_assert_no_error (error);
    g_assert_true (sb.calls == STEPS && sb.saw_preview && sa.saw_preview);
    gsize n_latent = (gsize) a->latent_channels * a->latent_height * a->latent_width;
    g_assert_cmpmem (a->latent, n_latent * 4, b->latent, n_latent * 4);
    g_assert_cmpmem (a->rgb, rgb_size (a), b->rgb, rgb_size (b));
  }
}

/* Prompts are encoded once (sinopia_model_text_cache): a run with the prompts of an earlier one
 * reads both encoders' outputs for the prompt and the negative from the cache, and paints what a
 * model that encodes them afresh paints, bit for bit; a new prompt is encoded and kept. */
static void
test_text_cache (void)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (SinopiaModel) m = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_autoptr (SinopiaModel) fresh = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_assert_no_error (error);
  SinopiaTextCache *cache = sinopia_model_text_cache (m);
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = "a red circle at the top left";
  p.negative = "a green background";
  p.seed = 3;
  g_autoptr (SinopiaImage) first = sinopia_generate (m, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_text_cache_size (cache), ==, 4);
  g_assert_cmpuint (sinopia_text_cache_hits (cache), ==, 0);
  p.seed = 4;
  g_autoptr (SinopiaImage) cached = sinopia_generate (m, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_text_cache_hits (cache), ==, 4);
  g_autoptr (SinopiaImage) encoded = sinopia_generate (fresh, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_text_cache_hits (sinopia_model_text_cache (fresh)), ==, 0);
  g_assert_cmpmem (cached->rgb, rgb_size (cached), encoded->rgb, rgb_size (encoded));
  gsize n_latent = (gsize) cached->latent_channels * cached->latent_height * cached->latent_width;
  g_assert_cmpmem (cached->latent, n_latent * 4, encoded->latent, n_latent * 4);

  p.prompt = "a blue square";
  g_autoptr (SinopiaImage) other = sinopia_generate (m, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (sinopia_text_cache_size (cache), ==, 6);
  g_assert_cmpuint (sinopia_text_cache_hits (cache), ==, 6);
}

/* Reads the `parameters` chunk of a PNG as JSON and checks every key against the values. */
static void
check_parameters (const SinopiaPngImage *png, const char *prompt, const char *negative, int64_t seed,
                  int64_t steps, double guidance, int64_t w, int64_t h, const char *model_name)
{
  g_autoptr (GError) error = NULL;
  const char *text = sinopia_png_image_get_text (png, "parameters");
  g_assert_nonnull (text);
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  const SinopiaJsonNode *r = sinopia_json_root (doc);
  int64_t v;
  double g;
  g_assert_cmpstr (sinopia_json_get_string (r, "prompt", NULL), ==, prompt);
  g_assert_cmpstr (sinopia_json_get_string (r, "negative", NULL), ==, negative);
  g_assert_cmpstr (sinopia_json_get_string (r, "model", NULL), ==, model_name);
  g_assert_true (sinopia_json_get_int64 (r, "seed", 0, G_MAXINT64, &v, NULL) && v == seed);
  g_assert_true (sinopia_json_get_int64 (r, "steps", 1, 1000, &v, NULL) && v == steps);
  g_assert_true (sinopia_json_get_int64 (r, "width", 1, 1 << 20, &v, NULL) && v == w);
  g_assert_true (sinopia_json_get_int64 (r, "height", 1, 1 << 20, &v, NULL) && v == h);
  g_assert_true (sinopia_json_get_double (r, "guidance", &g, NULL));
  g_assert_cmpfloat ((float) g, ==, (float) guidance);
}

static SinopiaPngImage *
load_png (const char *path)
{
  g_autoptr (GError) error = NULL;
  SinopiaPngImage *png = sinopia_png_load (path, 0, &error);
  g_assert_no_error (error);
  return png;
}

/* `sinopia-cli generate`: the PNG holds the engine's pixels for the same parameters and a
 * parameters chunk that reproduces them (escaping included); two runs give byte-identical
 * files; usage errors exit 2 (a bad size naming the nearest), run errors exit 1, and
 * neither leaves an output file. */
static void
test_cli (void)
{
  g_autoptr (GError) error = NULL;
  const char *prompt = "a \"quoted\" blue star — ünïcode\\";
  g_autofree char *out1 = g_build_filename (tmp_root, "cli-1.png", NULL);
  g_autofree char *out2 = g_build_filename (tmp_root, "cli-2.png", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "cli-bad.png", NULL);
  for (guint i = 0; i < 2; i++) {
    SinopiaTestRun r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", prompt, "--negative",
                                             "red", "--seed", "12345", "--steps", "2", "--guidance", "3.25",
                                             "--width", "48", "--height", "32", "--out", i ? out2 : out1, NULL);
    if (r.status != 0)
      g_error ("generate failed: %s", r.err);
    g_assert_nonnull (strstr (r.err, "step 2/2"));
    sinopia_test_run_clear (&r);
  }
  g_autofree char *b1 = NULL, *b2 = NULL;
  gsize l1, l2;
  g_file_get_contents (out1, &b1, &l1, &error);
  g_file_get_contents (out2, &b2, &l2, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (b1, l1, b2, l2);

  g_autoptr (SinopiaPngImage) png = load_png (out1);
  check_parameters (png, prompt, "red", 12345, 2, 3.25, 48, 32, "tiny-test");
  SinopiaGenerateParams p;
  sinopia_generate_params_init (&p);
  p.prompt = prompt;
  p.negative = "red";
  p.seed = 12345;
  p.steps = 2;
  p.guidance = 3.25f;
  p.width = 48;
  p.height = 32;
  g_autoptr (SinopiaImage) img = sinopia_generate (model, &p, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (png->width, ==, 48);
  g_assert_cmpuint (png->height, ==, 32);
  g_autofree guint8 *rgb = sinopia_png_image_to_rgb (png, NULL);
  /* The CLI runs lavapipe with twice as many threads as this process does (its main() sets
   * LP_NUM_THREADS, which main() here unsets), so equality here also says that the driver's
   * thread count does not change an image. */
  g_assert_cmpmem (rgb, rgb_size (img), img->rgb, rgb_size (img));

  SinopiaTestRun r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "x", "--width", "100",
                                           "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "nearest valid width is 96"));
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("generate", "--model", model_dir, "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--prompt and --out are required"));
  sinopia_test_run_clear (&r);
  g_autofree char *no_ae = variant ("cli-no-ae", "ae.safetensors", NULL);
  r = sinopia_test_run_cli ("generate", "--model", no_ae, "--prompt", "x", "--out", bad, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "ae.safetensors is missing"));
  sinopia_test_run_clear (&r);
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));
}

/* Discovery: $SINOPIA_MODEL is found without a flag, --model wins over it, and a variable
 * naming a non-model folder is an error, not a silent fallback to the built-in model. */
static void
test_discovery (void)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *other = variant ("env-model", SINOPIA_MODEL_INFO_FILE, NULL);
  g_autofree char *json = info_json ("env-model", NULL);
  variant_info (other, json);
  g_autofree char *old = g_strdup (g_getenv ("SINOPIA_MODEL"));

  g_setenv ("SINOPIA_MODEL", other, TRUE);
  g_autofree char *found = NULL;
  g_assert_true (sinopia_model_find_default (&found, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (found, ==, other);

  g_autofree char *by_env = g_build_filename (tmp_root, "by-env.png", NULL);
  g_autofree char *by_flag = g_build_filename (tmp_root, "by-flag.png", NULL);
  SinopiaTestRun r = sinopia_test_run_cli ("generate", "--prompt", "a red circle", "--steps", "1", "--out", by_env,
                                           NULL);
  g_assert_cmpint (r.status, ==, 0);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("generate", "--model", model_dir, "--prompt", "a red circle", "--steps", "1", "--out",
                            by_flag, NULL);
  g_assert_cmpint (r.status, ==, 0);
  sinopia_test_run_clear (&r);
  g_autoptr (SinopiaPngImage) env_png = load_png (by_env), flag_png = load_png (by_flag);
  check_parameters (env_png, "a red circle", "", 0, 1, 2.5, SIDE, SIDE, "env-model");
  check_parameters (flag_png, "a red circle", "", 0, 1, 2.5, SIDE, SIDE, "tiny-test");

  g_setenv ("SINOPIA_MODEL", tmp_root, TRUE);
  g_autofree char *none = NULL;
  g_assert_false (sinopia_model_find_default (&none, &error));
  g_assert_error (error, SINOPIA_MODEL_ERROR, SINOPIA_MODEL_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "SINOPIA_MODEL"));
  if (old)
    g_setenv ("SINOPIA_MODEL", old, TRUE);
  else
    g_unsetenv ("SINOPIA_MODEL");
}

/* `bench quality` and `bench generate` on the tiny model: usage errors, a bad evaluation line
 * named by file and line, and the figures' denominators (the random model's hits are chance). */
static void
test_bench (void)
{
  g_autofree char *set = g_build_filename (tmp_root, "bench-set.jsonl", NULL);
  g_autofree char *bad = g_build_filename (tmp_root, "bench-bad.jsonl", NULL);
  g_autofree char *saved = g_build_filename (tmp_root, "bench-saved", NULL);
  /* the second line's purple triangle carries no held_out mark: it is recognised */
  sinopia_test_write_text (set, "{\"width\": 32, \"height\": 32, \"background\": {\"colour\": \"blue\"}, \"objects\": "
                   "[{\"colour\": \"red\", \"shape\": \"circle\", \"cell\": [1, 1], \"held_out\": false}], "
                   "\"caption\": \"red circle\", \"canonical_caption\": \"a red circle in the center on a blue "
                   "background\", \"sample_seed\": 7}\n\n"
                   "{\"width\": 32, \"height\": 32, \"background\": {\"colour\": \"white\"}, \"objects\": "
                   "[{\"colour\": \"purple\", \"shape\": \"triangle\", \"position\": \"top left\"}], "
                   "\"caption\": \"a purple triangle at the top left on a white background\", \"sample_seed\": 8}\n");
  sinopia_test_write_text (bad, "{\"caption\": \"a red circle\", \"objects\": []}\n");

  SinopiaTestRun r = sinopia_test_run_cli ("bench", "quality", "--model", model_dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "quality", "--eval", set, "--limit", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "generate", "--steps", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  sinopia_test_run_clear (&r);
  r = sinopia_test_run_cli ("bench", "quality", "--model", model_dir, "--eval", bad, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "bench-bad.jsonl:1: "));
  g_assert_nonnull (strstr (r.err, "sample_seed"));
  sinopia_test_run_clear (&r);

  r = sinopia_test_run_cli ("bench", "quality", "--model", model_dir, "--eval", set, "--steps", "1", "--save-dir",
                            saved, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\nquality bench-set: background "));
  g_assert_nonnull (strstr (r.out, "/2)  colour+position "));
  g_assert_nonnull (strstr (r.out, "/2)  shape "));
  g_assert_nonnull (strstr (r.out, " s/image (2 images, 1 steps)\nquality bench-set [held-out combinations]: "));
  g_assert_nonnull (strstr (r.out, "/1)  shape "));
  g_assert_nonnull (strstr (r.err, "a red circle in the center on a blue background"));
  sinopia_test_run_clear (&r);
  const char *files[] = { "bench-set-0001.png", "bench-set-0001.analysis.json", "bench-set-0003.png", NULL };
  for (const char **f = files; *f; f++) {
    g_autofree char *path = g_build_filename (saved, *f, NULL);
    g_assert_true (g_file_test (path, G_FILE_TEST_IS_REGULAR));
  }

  r = sinopia_test_run_cli ("bench", "generate", "--model", model_dir, "--steps", "1", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "generate: cold "));
  g_assert_nonnull (strstr (r.out, " s/image (1 steps, 32x32, "));
  sinopia_test_run_clear (&r);
}

int
main (int argc, char **argv)
{
  /* Mesa's default thread count here, the CLI's own in its runs (see test_cli) */
  g_unsetenv ("LP_NUM_THREADS");
  g_test_init (&argc, &argv, NULL);
  g_autoptr (GError) error = NULL;
  g_autofree char *tokenizer = g_test_build_filename (G_TEST_DIST, "data", "spm-nmt.model", NULL);
  tmp_root = g_dir_make_tmp ("sinopia-generate-XXXXXX", &error);
  g_assert_no_error (error);
  model_dir = g_build_filename (tmp_root, "tiny", NULL);
  sinopia_test_write_model (model_dir, tokenizer, &tiny);
  model = sinopia_model_load (sinopia_test_context (), model_dir, &error);
  g_assert_no_error (error);

  g_test_add_func ("/generate/info-parse", test_info_parse);
  g_test_add_func ("/generate/load", test_load);
  g_test_add_func ("/generate/load-errors", test_load_errors);
  g_test_add_func ("/generate/sizes", test_sizes);
  g_test_add_func ("/generate/determinism", test_determinism);
  g_test_add_func ("/generate/given-noise", test_given_noise);
  g_test_add_func ("/generate/cancel", test_cancel);
  g_test_add_func ("/generate/warm-up", test_warm_up);
  g_test_add_func ("/generate/truncation-preview", test_truncation_and_preview);
  g_test_add_func ("/generate/guidance", test_guidance);
  g_test_add_func ("/generate/parallel-guidance", test_parallel_guidance);
  g_test_add_func ("/generate/text-cache", test_text_cache);
  g_test_add_func ("/generate/cli", test_cli);
  g_test_add_func ("/generate/discovery", test_discovery);
  g_test_add_func ("/generate/bench", test_bench);
  int rc = g_test_run ();
  sinopia_model_free (model);
  sinopia_test_context_finish ();
  sinopia_test_remove_tree (tmp_root);
  g_free (model_dir);
  g_free (tmp_root);
  return rc;
}
