/* libFuzzer target: the sinopia-model.json parser on arbitrary bytes; what it accepts must
 * satisfy every guarantee of sinopia-model-info.h. */
#define G_LOG_DOMAIN "sinopia-fuzz"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "sinopia-model-info.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *error = NULL;
  SinopiaModelInfo *info = sinopia_model_info_parse ((const char *) data, size, "fuzz", &error);
  if (!info) {
    g_assert (error != NULL && error->domain == SINOPIA_MODEL_ERROR && g_str_has_prefix (error->message, "fuzz: "));
    g_error_free (error);
    return 0;
  }
  g_assert (error == NULL);
  g_assert (info->size_multiple >= 2 && info->size_multiple % 2 == 0);
  g_assert (info->native_width >= 1 && info->native_width <= SINOPIA_MODEL_MAX_SIDE);
  g_assert (info->native_height >= 1 && info->native_height <= SINOPIA_MODEL_MAX_SIDE);
  g_assert (info->native_width % info->size_multiple == 0 && info->native_height % info->size_multiple == 0);
  g_assert (info->default_steps >= 1 && info->default_steps <= SINOPIA_MODEL_MAX_STEPS);
  g_assert (isfinite (info->default_guidance) && info->default_guidance >= 0);
  g_assert (isfinite (info->base_shift) && isfinite (info->max_shift));
  g_assert (info->t5_max_length >= 2 && info->t5_max_length <= SINOPIA_MODEL_MAX_TEXT_LENGTH);
  g_assert (info->clip_max_length >= 2 && info->clip_max_length <= SINOPIA_MODEL_MAX_TEXT_LENGTH);
  g_assert (info->pad_id >= 0 && info->eos_id >= 0 && info->unk_id >= 0 && info->bos_id >= 0);
  g_assert (info->guidance_mode <= SINOPIA_GUIDANCE_EMBEDDED);
  g_assert (!info->name || g_utf8_validate (info->name, -1, NULL));
  (void) sinopia_model_info_section (info, "kv_edit");
  sinopia_model_info_free (info);
  return 0;
}
