/* sinopia-cli-ae.c — `ae-encode` and `ae-decode`: the autoencoder on tensor files named
 * like the reference goldens (input.image, input.latent → encode.*, decode.image). */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>

#include "sinopia-ae.h"
#include "sinopia-cli-tensors.h"
#include "sinopia-cli.h"

typedef struct {
  CliOutput *out;
  GError *error;
} Intermediates;

static void
add_intermediate (const char *name, const float *data, uint32_t c, uint32_t h, uint32_t w, gpointer user)
{
  Intermediates *in = user;
  uint64_t shape[4] = { 1, c, h, w };
  if (!in->error)
    cli_output_add (in->out, name, 4, shape, g_memdup2 (data, (gsize) c * h * w * sizeof (float)), &in->error);
}

/* The [1, channels, H, W] tensor `name` of the inputs file. */
static float *
read_planes (SinopiaSafetensors *st, const char *name, uint32_t channels, uint32_t *height, uint32_t *width,
             GError **error)
{
  const SinopiaTensorInfo *t = sinopia_safetensors_lookup (st, name);
  if (!t) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT, "%s has no tensor %s",
                 sinopia_safetensors_name (st), name);
    return NULL;
  }
  if (t->n_dims != 4 || t->shape[0] != 1 || t->shape[1] != channels || t->shape[2] == 0 || t->shape[3] == 0 ||
      t->shape[2] > G_MAXUINT32 || t->shape[3] > G_MAXUINT32) {
    g_set_error (error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT,
                 "%s: %s must have the shape [1, %u, H, W]", sinopia_safetensors_name (st), name, channels);
    return NULL;
  }
  *height = (uint32_t) t->shape[2];
  *width = (uint32_t) t->shape[3];
  return cli_tensor_f32 (st, name, TRUE, 0, NULL, error);
}

static int
usage_error (const char *command, const char *message)
{
  fprintf (stderr, "sinopia-cli %s: %s\nTry 'sinopia-cli %s --help'.\n", command, message, command);
  return CLI_USAGE;
}

/* Opens the inputs, a context and the model; on failure prints the error. */
static gboolean
open_all (const char *inputs, const char *weights, SinopiaSafetensors **st, SinopiaVkContext **ctx,
          SinopiaAeModel **model)
{
  g_autoptr (GError) error = NULL;
  if (!(*st = sinopia_safetensors_open (inputs, &error)) ||
      !(*ctx = sinopia_vk_context_new (NULL, &error)) ||
      !(*model = sinopia_ae_load (*ctx, weights, &error))) {
    cli_fail ("%s", error->message);
    return FALSE;
  }
  return TRUE;
}

static void
close_all (SinopiaSafetensors *st, SinopiaVkContext *ctx, SinopiaAeModel *model)
{
  sinopia_ae_free (model);
  sinopia_vk_context_free (ctx);
  sinopia_safetensors_close (st);
}

int
cli_ae_encode (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = NULL, *inputs = NULL, *out_path = NULL;
  gboolean dump_inter = FALSE;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Autoencoder checkpoint (ae.safetensors)", "W" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs, "input.image [1,3,H,W] F32 in [-1,1]", "IN" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Output: encode.mean and encode.latent [1,z,H/8,W/8]", "OUT" },
    { "dump-intermediates", 0, 0, G_OPTION_ARG_NONE, &dump_inter, "Also write encode.moments and inter.enc.*",
      NULL },
    { NULL },
  };
  if (!cli_parse ("ae-encode", NULL, "Encodes an image into the latent space (the encoder's mean).", entries, &argc,
                  &argv))
    return CLI_USAGE;
  if (argc > 1)
    return usage_error ("ae-encode", "unexpected arguments");
  if (!weights || !inputs || !out_path)
    return usage_error ("ae-encode", "--weights, --inputs and --out are required");

  SinopiaSafetensors *st = NULL;
  SinopiaVkContext *ctx = NULL;
  SinopiaAeModel *model = NULL;
  g_autoptr (CliOutput) out = cli_output_new ();
  Intermediates inter = { out, NULL };
  g_autofree float *image = NULL;
  uint32_t height, width;
  int rc = CLI_ERROR;

  if (!open_all (inputs, weights, &st, &ctx, &model))
    goto done;
  const SinopiaAeConfig *cfg = sinopia_ae_config (model);
  if (!(image = read_planes (st, "input.image", cfg->in_channels, &height, &width, &error)))
    goto fail;
  uint32_t f = sinopia_ae_factor (cfg), h = height / f, w = width / f;
  gsize n = (gsize) cfg->z_channels * h * w;
  float *mean = g_new (float, n), *latent = g_new (float, n);
  uint64_t shape[4] = { 1, cfg->z_channels, h, w };
  if (dump_inter)
    sinopia_ae_set_inspect (model, add_intermediate, &inter);
  gboolean ok = sinopia_ae_encode (model, image, height, width, mean, latent, NULL, NULL, &error);
  if (ok && inter.error) {
    g_propagate_error (&error, g_steal_pointer (&inter.error));
    ok = FALSE;
  }
  if (!ok) {
    g_free (mean);
    g_free (latent);
    goto fail;
  }
  if (!cli_output_add (out, "encode.mean", 4, shape, mean, &error)) {
    g_free (latent);
    goto fail;
  }
  if (!cli_output_add (out, "encode.latent", 4, shape, latent, &error))
    goto fail;
  if (cli_output_write (out, out_path, &error))
    rc = CLI_OK;

fail:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
done:
  g_clear_error (&inter.error);
  close_all (st, ctx, model);
  return rc;
}

int
cli_ae_decode (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = NULL, *inputs = NULL, *out_path = NULL;
  gboolean dump_inter = FALSE;
  int tile = 0, overlap = -1;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "Autoencoder checkpoint (ae.safetensors)", "W" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs, "input.latent [1,z,h,w] F32 (scaled, as ae-encode writes)",
      "IN" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, "Output: decode.image [1,3,8h,8w], raw (not clamped)", "OUT" },
    { "tile", 0, 0, G_OPTION_ARG_INT, &tile, "Decode in tiles of at most N×N latent positions (default: exact up "
      "to 64×64, tiles of 64 above)", "N" },
    { "overlap", 0, 0, G_OPTION_ARG_INT, &overlap,
      "Tile overlap in latent positions (default: a quarter of the tile, at most 16)", "N" },
    { "dump-intermediates", 0, 0, G_OPTION_ARG_NONE, &dump_inter, "Also write inter.dec.* (exact decodes only)",
      NULL },
    { NULL },
  };
  if (!cli_parse ("ae-decode", NULL, "Decodes a latent into an image.", entries, &argc, &argv))
    return CLI_USAGE;
  if (argc > 1)
    return usage_error ("ae-decode", "unexpected arguments");
  if (!weights || !inputs || !out_path)
    return usage_error ("ae-decode", "--weights, --inputs and --out are required");
  if (tile < 0 || (overlap >= 0 && !tile))
    return usage_error ("ae-decode", "--tile must be positive, and --overlap needs --tile");
  if (overlap < 0)
    overlap = MIN (SINOPIA_AE_TILE_OVERLAP, (uint32_t) MAX (tile, 1) / 4);
  if (tile && overlap >= tile)
    return usage_error ("ae-decode", "--overlap must be smaller than --tile");

  SinopiaSafetensors *st = NULL;
  SinopiaVkContext *ctx = NULL;
  SinopiaAeModel *model = NULL;
  g_autoptr (CliOutput) out = cli_output_new ();
  Intermediates inter = { out, NULL };
  g_autofree float *latent = NULL;
  uint32_t h, w;
  int rc = CLI_ERROR;

  if (!open_all (inputs, weights, &st, &ctx, &model))
    goto done;
  const SinopiaAeConfig *cfg = sinopia_ae_config (model);
  if (!(latent = read_planes (st, "input.latent", cfg->z_channels, &h, &w, &error)))
    goto fail;
  uint32_t f = sinopia_ae_factor (cfg);
  uint64_t shape[4] = { 1, cfg->out_ch, (uint64_t) h * f, (uint64_t) w * f };
  float *image = g_try_new (float, shape[1] * shape[2] * shape[3]);
  if (!image) {
    g_set_error (&error, SINOPIA_AE_ERROR, SINOPIA_AE_ERROR_INPUT, "A %u×%u latent is too large", w, h);
    goto fail;
  }
  if (dump_inter)
    sinopia_ae_set_inspect (model, add_intermediate, &inter);
  gboolean ok = tile ? sinopia_ae_decode_tiled (model, latent, h, w, tile, overlap, image, NULL, NULL, &error)
                     : sinopia_ae_decode (model, latent, h, w, image, NULL, NULL, &error);
  if (ok && inter.error) {
    g_propagate_error (&error, g_steal_pointer (&inter.error));
    ok = FALSE;
  }
  if (!ok) {
    g_free (image);
    goto fail;
  }
  if (cli_output_add (out, "decode.image", 4, shape, image, &error) && cli_output_write (out, out_path, &error))
    rc = CLI_OK;

fail:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
done:
  g_clear_error (&inter.error);
  close_all (st, ctx, model);
  return rc;
}
