/* sinopia-cli-text.c — `text-encode`: a T5 or CLIP text encoder on token ids from a tensor
 * file named like the text-encoder goldens, so the goldens can be fed in directly. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>
#include <string.h>

#include "sinopia-cli-tensors.h"
#include "sinopia-cli.h"
#include "sinopia-clip.h"
#include "sinopia-t5.h"

#define IDS_SUFFIX "input.input_ids"

typedef struct {
  SinopiaTextArch arch;
  SinopiaT5Model *t5;
  SinopiaClipModel *clip;
  uint32_t width;   /* features per token */
} Encoder;

/* An integer tensor (I32 or I64, any shape) as int32. NULL with an error naming it otherwise.
 * (transfer full) */
static int32_t *
read_ints (SinopiaSafetensors *st, const SinopiaTensorInfo *t, GError **error)
{
  if ((t->dtype != SINOPIA_ST_I32 && t->dtype != SINOPIA_ST_I64) || t->n_elements == 0 ||
      t->n_elements > G_MAXUINT32) {
    g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                 "%s: tensor \"%s\" must be a non-empty I32 or I64 tensor (it is %s with %" G_GUINT64_FORMAT
                 " elements)", sinopia_safetensors_name (st), t->name, sinopia_st_dtype_name (t->dtype),
                 t->n_elements);
    return NULL;
  }
  int32_t *v = g_new (int32_t, t->n_elements);
  for (uint64_t i = 0; i < t->n_elements; i++) {
    int64_t x;
    if (t->dtype == SINOPIA_ST_I32) {
      int32_t y;
      memcpy (&y, (const uint8_t *) t->data + 4 * i, 4);
      x = y;
    } else {
      memcpy (&x, (const uint8_t *) t->data + 8 * i, 8);
    }
    if (x < G_MININT32 || x > G_MAXINT32) {
      g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                   "%s: tensor \"%s\" holds %" G_GINT64_FORMAT ", outside 32 bits", sinopia_safetensors_name (st),
                   t->name, x);
      g_free (v);
      return NULL;
    }
    v[i] = (int32_t) x;
  }
  return v;
}

/* Encodes one case "<case>input.input_ids" (case includes its trailing dot, or is empty). */
static gboolean
encode_case (Encoder *enc, SinopiaSafetensors *st, const SinopiaTensorInfo *ids_info, const char *case_prefix,
             gboolean dump_inter, CliOutput *out, GError **error)
{
  g_autofree int32_t *ids = read_ints (st, ids_info, error);
  g_autofree int32_t *mask = NULL;
  g_autoptr (SinopiaDump) dump = dump_inter ? sinopia_dump_new () : NULL;
  if (!ids)
    return FALSE;
  uint32_t n = (uint32_t) ids_info->n_elements;
  g_autofree char *mask_name = g_strconcat (case_prefix, "input.attention_mask", NULL);
  const SinopiaTensorInfo *mask_info = sinopia_safetensors_lookup (st, mask_name);
  if (mask_info) {
    if (!(mask = read_ints (st, mask_info, error)))
      return FALSE;
    if (mask_info->n_elements != n) {
      g_set_error (error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                   "%s: \"%s\" has %" G_GUINT64_FORMAT " values for %u tokens", sinopia_safetensors_name (st),
                   mask_name, mask_info->n_elements, n);
      return FALSE;
    }
  }

  float *hidden = g_new (float, (gsize) n * enc->width), *pooled = NULL;
  gboolean ok;
  if (enc->arch == SINOPIA_TEXT_ARCH_T5) {
    ok = sinopia_t5_encode (enc->t5, ids, mask, n, hidden, dump, error);
  } else {
    pooled = g_new (float, enc->width);
    ok = sinopia_clip_encode (enc->clip, ids, mask, n, hidden, pooled, dump, error);
  }
  g_autofree char *hidden_name = g_strconcat (case_prefix, "output.last_hidden_state", NULL);
  g_autofree char *pooled_name = g_strconcat (case_prefix, "output.pooler_output", NULL);
  if (!ok || !cli_output_add (out, hidden_name, 3, (uint64_t[]) { 1, n, enc->width }, hidden, error)) {
    if (!ok)
      g_free (hidden);
    g_free (pooled);
    return FALSE;
  }
  if (pooled && !cli_output_add (out, pooled_name, 2, (uint64_t[]) { 1, enc->width }, pooled, error))
    return FALSE;
  if (dump) {
    g_autofree gpointer *names = g_hash_table_get_keys_as_array (dump->tensors, NULL);
    guint n_names = g_hash_table_size (dump->tensors);
    qsort (names, n_names, sizeof (gpointer), (GCompareFunc) g_strcmp0);
    for (guint i = 0; i < n_names; i++) {
      const char *name = *(const char **) &names[i];
      GBytes *bytes = g_hash_table_lookup (dump->tensors, name);
      GArray *dims = g_hash_table_lookup (dump->shapes, name);
      g_autofree char *full = g_strconcat (case_prefix, name, NULL);
      if (!cli_output_add (out, full, dims->len, (const uint64_t *) dims->data,
                           g_memdup2 (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes)), error))
        return FALSE;
    }
  }
  return TRUE;
}

int
cli_text_encode (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree char *weights = NULL, *inputs = NULL, *out_path = NULL;
  gboolean dump_inter = FALSE;
  GOptionEntry entries[] = {
    { "weights", 0, 0, G_OPTION_ARG_FILENAME, &weights, "T5 encoder or CLIP text model (Hugging Face names)", "W" },
    { "inputs", 0, 0, G_OPTION_ARG_FILENAME, &inputs,
      "CASE.input.input_ids (I32/I64), optionally CASE.input.attention_mask, for every CASE", "IN" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path,
      "Output: CASE.output.last_hidden_state [1,n,d] (and CASE.output.pooler_output [1,d] for CLIP)", "OUT" },
    { "dump-intermediates", 0, 0, G_OPTION_ARG_NONE, &dump_inter, "Also write the CASE.inter.* tensors", NULL },
    { NULL },
  };
  if (!cli_parse ("text-encode", NULL, "Runs a T5 or CLIP text encoder on token ids.", entries, &argc, &argv))
    return CLI_USAGE;
  if (!weights || !inputs || !out_path) {
    fprintf (stderr, "sinopia-cli text-encode: --weights, --inputs and --out are required\n"
                     "Try 'sinopia-cli text-encode --help'.\n");
    return CLI_USAGE;
  }

  g_autoptr (SinopiaSafetensors) st = sinopia_safetensors_open (inputs, &error);
  if (!st)
    return cli_fail ("%s", error->message);
  Encoder enc = { 0 };
  {
    g_autoptr (SinopiaSafetensors) wst = sinopia_safetensors_open (weights, &error);
    if (!wst || !sinopia_text_detect (wst, &enc.arch, &error))
      return cli_fail ("%s", error->message);
  }
  SinopiaVkContext *ctx = sinopia_vk_context_new (NULL, &error);
  if (!ctx)
    return cli_fail ("%s", error->message);
  g_autoptr (CliOutput) out = cli_output_new ();
  int rc = CLI_ERROR;
  guint n_cases = 0;

  if (enc.arch == SINOPIA_TEXT_ARCH_T5) {
    if (!(enc.t5 = sinopia_t5_load (ctx, weights, &error)))
      goto out;
    enc.width = sinopia_t5_config (enc.t5)->d_model;
  } else {
    if (!(enc.clip = sinopia_clip_load (ctx, weights, &error)))
      goto out;
    enc.width = sinopia_clip_config (enc.clip)->hidden_size;
  }
  for (gsize i = 0; i < sinopia_safetensors_n_tensors (st); i++) {
    const SinopiaTensorInfo *t = sinopia_safetensors_tensor (st, i);
    gsize len = strlen (t->name), slen = strlen (IDS_SUFFIX);
    if (len < slen || strcmp (t->name + len - slen, IDS_SUFFIX) != 0 || (len > slen && t->name[len - slen - 1] != '.'))
      continue;
    g_autofree char *case_prefix = g_strndup (t->name, len - slen);
    if (!encode_case (&enc, st, t, case_prefix, dump_inter, out, &error))
      goto out;
    n_cases++;
  }
  if (n_cases == 0) {
    g_set_error (&error, SINOPIA_TEXT_ERROR, SINOPIA_TEXT_ERROR_INPUT,
                 "%s has no \"CASE.%s\" tensor to encode", inputs, IDS_SUFFIX);
    goto out;
  }
  if (cli_output_write (out, out_path, &error))
    rc = CLI_OK;

out:
  if (rc != CLI_OK)
    cli_fail ("%s", error->message);
  sinopia_t5_free (enc.t5);
  sinopia_clip_free (enc.clip);
  sinopia_vk_context_free (ctx);
  return rc;
}
