/* sinopia-vk-pipeline.c — compute pipelines, created lazily from the embedded SPIR-V,
 * cached by (shader, bindings, specialization) and persisted in a VkPipelineCache file. */
#define G_LOG_DOMAIN "sinopia-vk"

#include <string.h>

#include "sinopia-vk-private.h"

static char *
pipeline_key (const SinopiaDispatch *d)
{
  GString *key = g_string_new (d->shader);
  g_string_append_c (key, '/');
  for (guint i = 0; i < d->n_bindings; i++)
    g_string_append_c (key, d->bindings[i].kind == SINOPIA_BIND_TEXEL ? 't' : 's');
  for (guint i = 0; i < d->n_spec; i++)
    g_string_append_printf (key, "/%u", d->spec[i]);
  g_string_append_printf (key, "/p%u", d->push_size);
  return g_string_free (key, FALSE);
}

static void
pipeline_free (SinopiaVkContext *ctx, SinopiaPipeline *p)
{
  if (p->pipeline)
    vkDestroyPipeline (ctx->device, p->pipeline, NULL);
  if (p->layout)
    vkDestroyPipelineLayout (ctx->device, p->layout, NULL);
  if (p->set_layout)
    vkDestroyDescriptorSetLayout (ctx->device, p->set_layout, NULL);
  g_free (p);
}

SinopiaPipeline *
sinopia__pipeline_get (SinopiaVkContext *ctx, const SinopiaDispatch *d, GError **error)
{
  g_autofree char *key = pipeline_key (d);
  SinopiaPipeline *p = g_hash_table_lookup (ctx->pipelines, key);
  VkShaderModule module = VK_NULL_HANDLE;
  gsize n_bytes = 0;
  const uint32_t *code;

  if (p)
    return p;
  code = sinopia__shader_code (d->shader, &n_bytes);
  if (!code) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_FAILED,
                 "Internal error: no shader named %s is built in", d->shader);
    return NULL;
  }
  g_assert (((uintptr_t) code & 3) == 0);
  g_assert (d->push_size <= 128 && d->n_bindings <= SINOPIA_MAX_BINDINGS);

  p = g_new0 (SinopiaPipeline, 1);
  p->n_bindings = d->n_bindings;
  p->push_size = d->push_size;

  VkDescriptorSetLayoutBinding b[SINOPIA_MAX_BINDINGS];
  for (guint i = 0; i < d->n_bindings; i++)
    b[i] = (VkDescriptorSetLayoutBinding) {
      .binding = i,
      .descriptorType = d->bindings[i].kind == SINOPIA_BIND_TEXEL ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER
                                                                  : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
      .descriptorCount = 1,
      .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    };
  VkDescriptorSetLayoutCreateInfo slci = {
    .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
    .bindingCount = d->n_bindings,
    .pBindings = b,
  };
  VkPushConstantRange range = {
    .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
    .size = d->push_size,
  };
  VkPipelineLayoutCreateInfo plci = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
    .setLayoutCount = 1,
    .pSetLayouts = &p->set_layout,
    .pushConstantRangeCount = d->push_size ? 1 : 0,
    .pPushConstantRanges = &range,
  };
  VkShaderModuleCreateInfo smci = {
    .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
    .codeSize = n_bytes,
    .pCode = code,
  };
  if (!SINOPIA_VK_CALL (vkCreateDescriptorSetLayout (ctx->device, &slci, NULL, &p->set_layout), error) ||
      !SINOPIA_VK_CALL (vkCreatePipelineLayout (ctx->device, &plci, NULL, &p->layout), error) ||
      !SINOPIA_VK_CALL (vkCreateShaderModule (ctx->device, &smci, NULL, &module), error))
    goto fail;

  VkSpecializationMapEntry entries[SINOPIA_MAX_SPEC];
  for (guint i = 0; i < d->n_spec; i++)
    entries[i] = (VkSpecializationMapEntry) { .constantID = i, .offset = i * 4, .size = 4 };
  VkSpecializationInfo spec = {
    .mapEntryCount = d->n_spec,
    .pMapEntries = entries,
    .dataSize = d->n_spec * 4,
    .pData = d->spec,
  };
  VkComputePipelineCreateInfo cpci = {
    .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
    .stage = {
      .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
      .stage = VK_SHADER_STAGE_COMPUTE_BIT,
      .module = module,
      .pName = "main",
      .pSpecializationInfo = d->n_spec ? &spec : NULL,
    },
    .layout = p->layout,
  };
  if (!SINOPIA_VK_CALL (vkCreateComputePipelines (ctx->device, ctx->pipeline_cache, 1, &cpci, NULL, &p->pipeline), error))
    goto fail;
  vkDestroyShaderModule (ctx->device, module, NULL);
  ctx->pipelines_created++;
  g_hash_table_insert (ctx->pipelines, g_steal_pointer (&key), p);
  return p;

fail:
  if (module)
    vkDestroyShaderModule (ctx->device, module, NULL);
  pipeline_free (ctx, p);
  return NULL;
}

void
sinopia__pipelines_destroy (SinopiaVkContext *ctx)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, ctx->pipelines);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    pipeline_free (ctx, value);
  g_hash_table_remove_all (ctx->pipelines);
  if (ctx->pipeline_cache)
    vkDestroyPipelineCache (ctx->device, ctx->pipeline_cache, NULL);
  ctx->pipeline_cache = VK_NULL_HANDLE;
}

/* A cache blob is only handed to the driver when its header names this exact device. */
static gboolean
cache_blob_matches (SinopiaVkContext *ctx, const uint8_t *data, gsize n)
{
  uint32_t header_len, version, vendor, device;
  if (n < 32)
    return FALSE;
  memcpy (&header_len, data, 4);
  memcpy (&version, data + 4, 4);
  memcpy (&vendor, data + 8, 4);
  memcpy (&device, data + 12, 4);
  return header_len >= 32 && version == VK_PIPELINE_CACHE_HEADER_VERSION_ONE &&
         vendor == ctx->props.vendorID && device == ctx->props.deviceID &&
         memcmp (data + 16, ctx->props.pipelineCacheUUID, VK_UUID_SIZE) == 0;
}

gboolean
sinopia__pipeline_cache_open (SinopiaVkContext *ctx, gboolean persistent, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;

  if (persistent) {
    g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "sinopia", NULL);
    g_autofree char *name = g_strdup_printf ("pipelines-%04x-%04x.bin", ctx->props.vendorID, ctx->props.deviceID);
    ctx->pipeline_cache_path = g_build_filename (dir, name, NULL);
    if (g_file_get_contents (ctx->pipeline_cache_path, &contents, &length, NULL) &&
        !cache_blob_matches (ctx, (const uint8_t *) contents, length))
      g_clear_pointer (&contents, g_free);
  }
  ctx->pipeline_cache_loaded = contents != NULL;
  VkPipelineCacheCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO,
    .initialDataSize = contents ? length : 0,
    .pInitialData = contents,
  };
  return SINOPIA_VK_CALL (vkCreatePipelineCache (ctx->device, &ci, NULL, &ctx->pipeline_cache), error);
}

gboolean
sinopia_vk_context_save_pipeline_cache (SinopiaVkContext *ctx, GError **error)
{
  size_t size = 0;

  if (!ctx->pipeline_cache_path || !ctx->pipeline_cache || ctx->pipelines_created == 0 || ctx->sibling)
    return TRUE;
  if (!SINOPIA_VK_CALL (vkGetPipelineCacheData (ctx->device, ctx->pipeline_cache, &size, NULL), error))
    return FALSE;
  g_autofree char *data = g_malloc (MAX (size, 1));
  if (!SINOPIA_VK_CALL (vkGetPipelineCacheData (ctx->device, ctx->pipeline_cache, &size, data), error))
    return FALSE;
  g_autofree char *dir = g_path_get_dirname (ctx->pipeline_cache_path);
  if (g_mkdir_with_parents (dir, 0700) != 0) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_FAILED,
                 "Cannot create the cache folder %s", dir);
    return FALSE;
  }
  /* g_file_set_contents writes a temporary file and renames it: never a torn cache. */
  return g_file_set_contents (ctx->pipeline_cache_path, data, size, error);
}

gboolean
sinopia_vk_context_pipeline_cache_loaded (SinopiaVkContext *ctx)
{
  return ctx->pipeline_cache_loaded;
}
