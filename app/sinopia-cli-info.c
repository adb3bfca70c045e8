/* sinopia-cli-info.c — `sinopia-cli info FILE`: what a checkpoint holds and the device memory a
 * generation with it needs, read from its header alone (nothing goes to a device). */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>
#include <string.h>

#include "sinopia-cli.h"
#include "sinopia-flux.h"
#include "sinopia-weights.h"

/* The working set quoted: a 1024×1024 image is 4096 packed latent tokens; 512 T5 tokens and
 * 28 steps are FLUX.1-dev's defaults. */
#define INFO_IMG_TOKENS 4096
#define INFO_TXT_TOKENS 512
#define INFO_STEPS 28

/* The tensor whose name is `suffix` or ends in ".<suffix>", or NULL. */
static const SinopiaTensorInfo *
find_suffix (const SinopiaSafetensors *st, const char *suffix)
{
  gsize slen = strlen (suffix);
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    gsize len = strlen (t->name);
    if (len >= slen && strcmp (t->name + len - slen, suffix) == 0 && (len == slen || t->name[len - slen - 1] == '.'))
      return t;
  }
  return NULL;
}

/* Decimal units, as the loader's "needs X GB" message (plain ASCII, unlike g_format_size). */
static char *
human_size (uint64_t bytes)
{
  static const char *const units[] = { "kB", "MB", "GB", "TB" };
  if (bytes < 1000)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
  double v = bytes / 1000.0;
  guint u = 0;
  for (; v >= 1000 && u + 1 < G_N_ELEMENTS (units); u++)
    v /= 1000;
  return g_strdup_printf ("%.2f %s", v, units[u]);
}

static void
print_bytes (const char *label, uint64_t bytes)
{
  g_autofree char *human = human_size (bytes);
  printf ("  %-16s %" G_GUINT64_FORMAT " bytes (%s)\n", label, bytes, human);
}

static void
print_dtypes (const SinopiaSafetensors *st)
{
  guint count[SINOPIA_ST_N_DTYPES] = { 0 };
  uint64_t bytes[SINOPIA_ST_N_DTYPES] = { 0 };
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    count[t->dtype]++;
    bytes[t->dtype] += t->n_bytes;
  }
  printf ("dtypes\n");
  for (guint d = 0; d < SINOPIA_ST_N_DTYPES; d++) {
    if (!count[d])
      continue;
    g_autofree char *human = human_size (bytes[d]);
    printf ("  %-8s %6u tensors %15" G_GUINT64_FORMAT " bytes (%s)\n", sinopia_st_dtype_name (d), count[d],
            bytes[d], human);
  }
}

static uint64_t
all_elements (const SinopiaSafetensors *st)
{
  uint64_t n = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++)
    n += sinopia_safetensors_tensor (st, i)->n_elements;
  return n;
}

static void
info_autoencoder (const SinopiaSafetensors *st, const SinopiaTensorInfo *conv_in)
{
  printf ("kind             autoencoder (\"%s\" is present); only FLUX transformers have their configuration "
          "inferred\n", conv_in->name);
  printf ("tensors          %" G_GSIZE_FORMAT "\n", sinopia_safetensors_n_tensors (st));
  printf ("parameters       %" G_GUINT64_FORMAT "\n", all_elements (st));
  /* conv_out produces the latent's mean and log-variance: twice z_channels */
  const SinopiaTensorInfo *conv_out = find_suffix (st, "encoder.conv_out.weight");
  if (conv_out && conv_out->n_dims == 4)
    printf ("z_channels       %" G_GUINT64_FORMAT "\n", conv_out->shape[0] / 2);
  const char *params = sinopia_safetensors_metadata (st, "ae_params");
  if (params)
    printf ("ae_params        %s\n", params);
  print_dtypes (st);
}

static void
info_transformer (const SinopiaSafetensors *st, const SinopiaFluxConfig *c, SinopiaFluxNaming naming,
                  const char *prefix)
{
  gsize plen = strlen (prefix), n_in = 0, n_out = 0;
  uint64_t elements_in = 0, elements_out = 0, weight_bytes = 0;
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    if (strncmp (t->name, prefix, plen) == 0) {
      n_in++;
      elements_in += t->n_elements;
      weight_bytes += sinopia_weights_device_bytes (t->dtype, t->n_elements, t->n_dims <= 1);
    } else {
      n_out++;
      elements_out += t->n_elements;
    }
  }

  printf ("kind             FLUX transformer\n");
  printf ("naming           %s\n", naming == SINOPIA_FLUX_NAMING_BFL ? "BFL" : "diffusers");
  if (*prefix)
    printf ("prefix           \"%s\"\n", prefix);
  else
    printf ("prefix           (none)\n");
  printf ("configuration    %s\n", sinopia_safetensors_metadata (st, "flux_params")
                                     ? "from __metadata__ flux_params" : "inferred from tensor names and shapes");
  printf ("  in_channels    %u\n", c->in_channels);
  printf ("  out_channels   %u\n", c->out_channels);
  printf ("  vec_in_dim     %u\n", c->vec_in_dim);
  printf ("  context_in_dim %u\n", c->context_in_dim);
  printf ("  hidden_size    %u\n", c->hidden_size);
  printf ("  mlp_hidden     %u\n", c->mlp_hidden);
  printf ("  num_heads      %u\n", c->num_heads);
  printf ("  head_dim       %u\n", sinopia_flux_head_dim (c));
  printf ("  depth          %u\n", c->depth);
  printf ("  depth_single   %u\n", c->depth_single);
  printf ("  axes_dim       ");
  for (guint a = 0; a < c->n_axes; a++)
    printf ("%s%u", a ? ", " : "", c->axes_dim[a]);
  printf ("\n  theta          %g\n", c->theta);
  printf ("  qkv_bias       %s\n", c->qkv_bias ? "yes" : "no");
  printf ("  guidance_embed %s\n", c->guidance_embed ? "yes" : "no");
  printf ("parameters       %" G_GUINT64_FORMAT "\n", sinopia_flux_param_count (c));
  printf ("file elements    %" G_GUINT64_FORMAT " in %" G_GSIZE_FORMAT " tensors\n", elements_in, n_in);
  if (n_out)
    printf ("other tensors    %" G_GUINT64_FORMAT " elements in %" G_GSIZE_FORMAT " tensors outside the prefix "
            "(other models of the file, not loaded)\n", elements_out, n_out);
  print_dtypes (st);

  uint64_t act = sinopia_flux_activation_bytes (c, INFO_IMG_TOKENS, INFO_TXT_TOKENS, INFO_STEPS);
  printf ("device memory for a 1024x1024 image (%u image tokens, %u text tokens, %u steps)\n", INFO_IMG_TOKENS,
          INFO_TXT_TOKENS, INFO_STEPS);
  print_bytes ("weights", weight_bytes);
  print_bytes ("activations", act);
  print_bytes ("total", weight_bytes + act);
}

int
cli_info (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  GOptionEntry entries[] = { { NULL } };

  if (!cli_parse ("info", "FILE", "Describes a safetensors checkpoint from its header: the FLUX configuration "
                  "(from flux_params metadata\nor inferred), naming and prefix, parameter count, dtype mix and the "
                  "device memory a 1024x1024\ngeneration needs. Nothing is loaded onto a device, so this works for "
                  "checkpoints larger than the device.", entries, &argc, &argv))
    return CLI_USAGE;
  if (argc != 2) {
    fprintf (stderr, "sinopia-cli info: %s\nTry 'sinopia-cli info --help'.\n",
             argc < 2 ? "a checkpoint FILE is required" : "only one FILE is allowed");
    return CLI_USAGE;
  }

  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (argv[1], &error);
  if (!st)
    return cli_fail ("%s", error->message);
  g_autofree char *shown = g_filename_display_name (argv[1]);
  const SinopiaTensorInfo *conv_in = find_suffix (st, "encoder.conv_in.weight");
  if (conv_in && !find_suffix (st, "img_in.weight") && !find_suffix (st, "x_embedder.weight")) {
    printf ("file             %s\n", shown);
    info_autoencoder (st, conv_in);
    return CLI_OK;
  }

  SinopiaFluxConfig cfg;
  SinopiaFluxNaming naming;
  g_autofree char *prefix = NULL;
  if (!sinopia_flux_config_from_checkpoint (st, &cfg, &naming, &prefix, &error))
    return cli_fail ("%s", error->message);
  printf ("file             %s\n", shown);
  info_transformer (st, &cfg, naming, prefix);
  return CLI_OK;
}
