/* sinopia-cli-devices.c — `sinopia-cli devices`: what Vulkan offers on this machine. */
#define G_LOG_DOMAIN "sinopia-cli"

#include <stdio.h>

#include "sinopia-cli.h"
#include "sinopia-vk.h"

static const char *
yes_no (gboolean b)
{
  return b ? "yes" : "no";
}

int
cli_devices (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  g_autofree SinopiaVkDeviceInfo *infos = NULL;
  guint n = 0;
  GOptionEntry entries[] = { { NULL } };

  if (!cli_parse ("devices", NULL, "Lists the Vulkan devices, the one Sinopia would pick first.\n"
                  "SINOPIA_DEVICE=<index|name> overrides the choice.", entries, &argc, &argv))
    return CLI_USAGE;
  if (argc > 1) {
    fprintf (stderr, "sinopia-cli devices: unexpected argument '%s'\n", argv[1]);
    return CLI_USAGE;
  }
  if (!sinopia_vk_list_devices (&infos, &n, &error))
    return cli_fail ("%s", error->message);
  if (n == 0)
    return cli_fail ("Vulkan found no device. Install a driver (Debian: mesa-vulkan-drivers).");

  SinopiaVkContext *chosen = sinopia_vk_context_new (NULL, &error);
  const char *chosen_name = chosen ? sinopia_vk_context_device_info (chosen)->name : NULL;
  for (guint i = 0; i < n; i++) {
    const SinopiaVkDeviceInfo *d = &infos[i];
    printf ("%u: %s%s\n", i, d->name, chosen_name && g_str_equal (chosen_name, d->name) ? "  (chosen)" : "");
    printf ("   type: %s, Vulkan %u.%u.%u, vendor 0x%04x, device 0x%04x\n", d->type,
            d->api_version >> 22, (d->api_version >> 12) & 0x3ff,
            d->api_version & 0xfff, d->vendor_id, d->device_id);
    for (guint h = 0; h < d->n_heaps; h++)
      printf ("   memory heap %u: %.2f GiB%s\n", h, d->heap_size[h] / 1073741824.0,
              d->heap_device_local[h] ? " (device-local)" : "");
    printf ("   max allocation: %.2f GiB, max texel buffer: %u texels\n",
            d->max_allocation_size / 1073741824.0, d->max_texel_buffer_elements);
    printf ("   subgroup size: %u\n", d->subgroup_size);
    printf ("   fp16 arithmetic: %s, 16-bit storage: %s, int8 arithmetic: %s, 8-bit storage: %s\n",
            yes_no (d->shader_float16), yes_no (d->storage_16bit), yes_no (d->shader_int8), yes_no (d->storage_8bit));
    printf ("   integer dot product: %s, bfloat16: %s (else unpacked in shaders), cooperative matrix: %s\n",
            yes_no (d->integer_dot_product), yes_no (d->bfloat16), yes_no (d->cooperative_matrix));
    printf ("   timestamps: %s\n", yes_no (d->timestamps));
  }
  if (!chosen)
    fprintf (stderr, "sinopia-cli: no device would be chosen: %s\n", error->message);
  sinopia_vk_context_free (chosen);
  return chosen ? CLI_OK : CLI_ERROR;
}
