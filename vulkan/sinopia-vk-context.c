/* sinopia-vk-context.c — instance, device choice, validation, transfer resources. */
#define G_LOG_DOMAIN "sinopia-vk"

#include <string.h>

#include "sinopia-vk-private.h"

G_DEFINE_QUARK (sinopia-vk-error-quark, sinopia_vk_error)

#define VALIDATION_LAYER "VK_LAYER_KHRONOS_validation"
#define STAGING_BYTES (32u << 20)

/* On 2 cores, 4 threads gave the shortest generations of 2, 3, 4, 6, 8 and 16, in the editor and
 * in the CLI alike (docs/ui.md). Mesa caps the count (at 16 or 32, by release); stay within both. */
#define CPU_DRIVER_THREADS_PER_CORE 2
#define CPU_DRIVER_MAX_THREADS 16

void
sinopia_vk_setup_process (void)
{
  if (g_getenv ("LP_NUM_THREADS"))
    return;
  guint threads = MIN (CPU_DRIVER_THREADS_PER_CORE * g_get_num_processors (), CPU_DRIVER_MAX_THREADS);
  g_autofree char *value = g_strdup_printf ("%u", threads);
  g_setenv ("LP_NUM_THREADS", value, FALSE);
}

const char *
sinopia__vk_result_name (VkResult res)
{
  switch (res) {
#define R(x) case x: return #x;
    R (VK_SUCCESS) R (VK_NOT_READY) R (VK_TIMEOUT) R (VK_INCOMPLETE)
    R (VK_ERROR_OUT_OF_HOST_MEMORY) R (VK_ERROR_OUT_OF_DEVICE_MEMORY)
    R (VK_ERROR_INITIALIZATION_FAILED) R (VK_ERROR_DEVICE_LOST) R (VK_ERROR_MEMORY_MAP_FAILED)
    R (VK_ERROR_LAYER_NOT_PRESENT) R (VK_ERROR_EXTENSION_NOT_PRESENT) R (VK_ERROR_FEATURE_NOT_PRESENT)
    R (VK_ERROR_INCOMPATIBLE_DRIVER) R (VK_ERROR_TOO_MANY_OBJECTS) R (VK_ERROR_FORMAT_NOT_SUPPORTED)
    R (VK_ERROR_FRAGMENTED_POOL) R (VK_ERROR_OUT_OF_POOL_MEMORY) R (VK_ERROR_UNKNOWN)
#undef R
  default: return "VkResult (unknown)";
  }
}

gboolean
sinopia__vk_check (VkResult res, const char *call, const char *file, int line, GError **error)
{
  int code;

  if (res >= 0)
    return TRUE;
  switch (res) {
  case VK_ERROR_OUT_OF_DEVICE_MEMORY:
  case VK_ERROR_OUT_OF_HOST_MEMORY:
  case VK_ERROR_OUT_OF_POOL_MEMORY:
    code = SINOPIA_VK_ERROR_OUT_OF_MEMORY;
    break;
  case VK_ERROR_DEVICE_LOST:
    code = SINOPIA_VK_ERROR_DEVICE_LOST;
    break;
  default:
    code = SINOPIA_VK_ERROR_FAILED;
  }
  g_set_error (error, SINOPIA_VK_ERROR, code, "Vulkan call failed with %s (%s at %s:%d)",
               sinopia__vk_result_name (res), call, file, line);
  return FALSE;
}

gsize
sinopia_dtype_size (SinopiaDType dtype)
{
  switch (dtype) {
  case SINOPIA_DTYPE_F16:
  case SINOPIA_DTYPE_BF16:
    return 2;
  case SINOPIA_DTYPE_F32:
  case SINOPIA_DTYPE_U32:
  default:
    return 4;
  }
}

const char *
sinopia_dtype_name (SinopiaDType dtype)
{
  static const char *const names[] = { "f32", "f16", "bf16", "u32" };
  return (guint) dtype < G_N_ELEMENTS (names) ? names[dtype] : "?";
}

static const char *
device_type_name (VkPhysicalDeviceType type)
{
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
  default: return "other";
  }
}

static int
device_type_rank (VkPhysicalDeviceType type)
{
  switch (type) {
  case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
  case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
  case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
  case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
  default: return 0;
  }
}

static gboolean
has_extension (const VkExtensionProperties *exts, uint32_t n, const char *name)
{
  for (uint32_t i = 0; i < n; i++)
    if (strcmp (exts[i].extensionName, name) == 0)
      return TRUE;
  return FALSE;
}

static uint32_t
compute_queue_family (VkPhysicalDevice phys, uint32_t *valid_bits)
{
  uint32_t n = 0, best = UINT32_MAX;
  vkGetPhysicalDeviceQueueFamilyProperties (phys, &n, NULL);
  g_autofree VkQueueFamilyProperties *fams = g_new0 (VkQueueFamilyProperties, MAX (n, 1));
  vkGetPhysicalDeviceQueueFamilyProperties (phys, &n, fams);
  for (uint32_t i = 0; i < n; i++) {
    if (!(fams[i].queueFlags & VK_QUEUE_COMPUTE_BIT))
      continue;
    /* A queue with graphics too is the one drivers tune best; take it first. */
    if (best == UINT32_MAX || (fams[i].queueFlags & VK_QUEUE_GRAPHICS_BIT)) {
      if (best == UINT32_MAX || !(fams[best].queueFlags & VK_QUEUE_GRAPHICS_BIT))
        best = i;
    }
  }
  if (best != UINT32_MAX && valid_bits)
    *valid_bits = fams[best].timestampValidBits;
  return best;
}

static void
fill_device_info (VkPhysicalDevice phys, SinopiaVkDeviceInfo *info)
{
  VkPhysicalDeviceProperties props;
  VkPhysicalDeviceMemoryProperties mem;
  uint32_t n_ext = 0, valid_bits = 0;

  memset (info, 0, sizeof *info);
  vkGetPhysicalDeviceProperties (phys, &props);
  vkGetPhysicalDeviceMemoryProperties (phys, &mem);
  g_strlcpy (info->name, props.deviceName, sizeof info->name);
  info->type = device_type_name (props.deviceType);
  info->vendor_id = props.vendorID;
  info->device_id = props.deviceID;
  info->api_version = props.apiVersion;
  info->max_texel_buffer_elements = props.limits.maxTexelBufferElements;
  info->n_heaps = MIN (mem.memoryHeapCount, SINOPIA_MAX_HEAPS);
  for (uint32_t i = 0; i < info->n_heaps; i++) {
    info->heap_size[i] = mem.memoryHeaps[i].size;
    info->heap_device_local[i] = (mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
  }

  vkEnumerateDeviceExtensionProperties (phys, NULL, &n_ext, NULL);
  g_autofree VkExtensionProperties *exts = g_new0 (VkExtensionProperties, MAX (n_ext, 1));
  vkEnumerateDeviceExtensionProperties (phys, NULL, &n_ext, exts);
  info->integer_dot_product = has_extension (exts, n_ext, "VK_KHR_shader_integer_dot_product");
  info->bfloat16 = has_extension (exts, n_ext, "VK_KHR_shader_bfloat16");
  info->cooperative_matrix = has_extension (exts, n_ext, "VK_KHR_cooperative_matrix");

  VkPhysicalDeviceMaintenance3Properties m3 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES };
  VkPhysicalDeviceSubgroupProperties sub = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3 };
  VkPhysicalDeviceProperties2 p2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, .pNext = &sub };
  vkGetPhysicalDeviceProperties2 (phys, &p2);
  info->subgroup_size = sub.subgroupSize;
  info->max_allocation_size = m3.maxMemoryAllocationSize;

  VkPhysicalDevice16BitStorageFeatures s16 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES };
  VkPhysicalDevice8BitStorageFeatures s8 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES, .pNext = &s16 };
  VkPhysicalDeviceShaderFloat16Int8Features f16 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES, .pNext = &s8 };
  VkPhysicalDeviceFeatures2 f2 = { .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, .pNext = &f16 };
  if (props.apiVersion < VK_API_VERSION_1_2)
    f2.pNext = &s16;  /* 8-bit storage and f16/int8 arithmetic are 1.2 structs */
  vkGetPhysicalDeviceFeatures2 (phys, &f2);
  info->storage_16bit = s16.storageBuffer16BitAccess;
  info->storage_8bit = s8.storageBuffer8BitAccess;
  info->shader_float16 = f16.shaderFloat16;
  info->shader_int8 = f16.shaderInt8;

  compute_queue_family (phys, &valid_bits);
  info->timestamps = valid_bits > 0 && props.limits.timestampPeriod > 0;
}

static VkResult
create_instance (gboolean validation, gboolean *validation_on, VkInstance *instance)
{
  uint32_t n_layers = 0;
  gboolean have_layer = FALSE;
  const char *layers[1] = { VALIDATION_LAYER };
  const char *exts[2];
  uint32_t n_exts = 0;

  *validation_on = FALSE;
  if (validation) {
    vkEnumerateInstanceLayerProperties (&n_layers, NULL);
    g_autofree VkLayerProperties *lp = g_new0 (VkLayerProperties, MAX (n_layers, 1));
    vkEnumerateInstanceLayerProperties (&n_layers, lp);
    for (uint32_t i = 0; i < n_layers; i++)
      if (strcmp (lp[i].layerName, VALIDATION_LAYER) == 0)
        have_layer = TRUE;
    if (!have_layer)
      g_printerr ("sinopia: validation requested but %s is not installed "
                  "(Debian package vulkan-validationlayers)\n", VALIDATION_LAYER);
  }
  if (have_layer)
    exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;

  VkApplicationInfo app = {
    .sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
    .pApplicationName = "Sinopia",
    .applicationVersion = 1,
    .pEngineName = "sinopia",
    .apiVersion = VK_API_VERSION_1_2,
  };
  VkInstanceCreateInfo ci = {
    .sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
    .pApplicationInfo = &app,
    .enabledLayerCount = have_layer ? 1 : 0,
    .ppEnabledLayerNames = layers,
    .enabledExtensionCount = n_exts,
    .ppEnabledExtensionNames = exts,
  };
  VkResult res = vkCreateInstance (&ci, NULL, instance);
  if (res == VK_SUCCESS)
    *validation_on = have_layer;
  return res;
}

static gboolean
no_driver_error (VkResult res, GError **error)
{
  g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DRIVER,
               "No Vulkan driver could be loaded (%s). Install a Vulkan driver: on Debian, "
               "'apt-get install mesa-vulkan-drivers' gives the lavapipe CPU driver; for a GPU "
               "install its vendor's driver.", sinopia__vk_result_name (res));
  return FALSE;
}

gboolean
sinopia_vk_list_devices (SinopiaVkDeviceInfo **infos, guint *n_infos, GError **error)
{
  VkInstance instance;
  gboolean unused;
  uint32_t n = 0;
  VkResult res;

  *infos = NULL;
  *n_infos = 0;
  res = create_instance (FALSE, &unused, &instance);
  if (res != VK_SUCCESS)
    return no_driver_error (res, error);
  vkEnumeratePhysicalDevices (instance, &n, NULL);
  g_autofree VkPhysicalDevice *phys = g_new0 (VkPhysicalDevice, MAX (n, 1));
  vkEnumeratePhysicalDevices (instance, &n, phys);
  *infos = g_new0 (SinopiaVkDeviceInfo, MAX (n, 1));
  for (uint32_t i = 0; i < n; i++)
    fill_device_info (phys[i], &(*infos)[i]);
  *n_infos = n;
  vkDestroyInstance (instance, NULL);
  return TRUE;
}

static VKAPI_ATTR VkBool32 VKAPI_CALL
debug_message (VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT types,
               const VkDebugUtilsMessengerCallbackDataEXT *data, void *user_data)
{
  SinopiaVkContext *ctx = user_data;
  ctx->validation_messages++;
  g_printerr ("sinopia: Vulkan validation: %s\n", data->pMessage);
  return VK_FALSE;
}

static gboolean
pick_device (VkInstance instance, const char *want, VkPhysicalDevice *out, GError **error)
{
  uint32_t n = 0;
  vkEnumeratePhysicalDevices (instance, &n, NULL);
  if (n == 0) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DEVICE,
                 "Vulkan found no device. Install a Vulkan driver (Debian: mesa-vulkan-drivers).");
    return FALSE;
  }
  g_autofree VkPhysicalDevice *phys = g_new0 (VkPhysicalDevice, n);
  vkEnumeratePhysicalDevices (instance, &n, phys);

  if (want && *want) {
    char *end = NULL;
    guint64 index = g_ascii_strtoull (want, &end, 10);
    if (end && *end == '\0' && end != want) {
      if (index >= n) {
        g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DEVICE,
                     "Vulkan device index %s is out of range: there are %u devices "
                     "('sinopia-cli devices' lists them)", want, n);
        return FALSE;
      }
      *out = phys[index];
      return TRUE;
    }
    g_autofree char *needle = g_utf8_casefold (want, -1);
    for (uint32_t i = 0; i < n; i++) {
      VkPhysicalDeviceProperties p;
      vkGetPhysicalDeviceProperties (phys[i], &p);
      g_autofree char *hay = g_utf8_casefold (p.deviceName, -1);
      if (strstr (hay, needle) && compute_queue_family (phys[i], NULL) != UINT32_MAX) {
        *out = phys[i];
        return TRUE;
      }
    }
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DEVICE,
                 "No Vulkan device matches \"%s\" ('sinopia-cli devices' lists them)", want);
    return FALSE;
  }

  int best_rank = -1;
  for (uint32_t i = 0; i < n; i++) {
    VkPhysicalDeviceProperties p;
    vkGetPhysicalDeviceProperties (phys[i], &p);
    if (p.apiVersion < VK_API_VERSION_1_1 || compute_queue_family (phys[i], NULL) == UINT32_MAX)
      continue;
    if (device_type_rank (p.deviceType) > best_rank) {
      best_rank = device_type_rank (p.deviceType);
      *out = phys[i];
    }
  }
  if (best_rank < 0) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_NO_DEVICE,
                 "No Vulkan 1.1 device with a compute queue was found");
    return FALSE;
  }
  return TRUE;
}

static gboolean
env_flag (const char *name)
{
  const char *v = g_getenv (name);
  return v && *v && strcmp (v, "0") != 0;
}

static uint32_t
find_memory_type (SinopiaVkContext *ctx, VkMemoryPropertyFlags want)
{
  for (uint32_t i = 0; i < ctx->mem_props.memoryTypeCount; i++)
    if ((ctx->mem_props.memoryTypes[i].propertyFlags & want) == want)
      return i;
  return UINT32_MAX;
}

static gboolean
create_staging (SinopiaVkContext *ctx, GError **error)
{
  VkMemoryRequirements req;
  uint32_t type = UINT32_MAX;

  VkBufferCreateInfo bci = {
    .sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
    .size = STAGING_BYTES,
    .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT,
  };
  if (!SINOPIA_VK_CALL (vkCreateBuffer (ctx->device, &bci, NULL, &ctx->staging), error))
    return FALSE;
  vkGetBufferMemoryRequirements (ctx->device, ctx->staging, &req);
  for (uint32_t i = 0; i < ctx->mem_props.memoryTypeCount; i++) {
    VkMemoryPropertyFlags f = ctx->mem_props.memoryTypes[i].propertyFlags;
    if ((req.memoryTypeBits & (1u << i)) &&
        (f & VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT) && (f & VK_MEMORY_PROPERTY_HOST_COHERENT_BIT)) {
      type = i;
      break;
    }
  }
  if (type == UINT32_MAX) {
    g_set_error (error, SINOPIA_VK_ERROR, SINOPIA_VK_ERROR_FAILED,
                 "The Vulkan device has no host-visible coherent memory for transfers");
    return FALSE;
  }
  VkMemoryAllocateInfo ai = {
    .sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
    .allocationSize = req.size,
    .memoryTypeIndex = type,
  };
  if (!SINOPIA_VK_CALL (vkAllocateMemory (ctx->device, &ai, NULL, &ctx->staging_memory), error) ||
      !SINOPIA_VK_CALL (vkBindBufferMemory (ctx->device, ctx->staging, ctx->staging_memory, 0), error) ||
      !SINOPIA_VK_CALL (vkMapMemory (ctx->device, ctx->staging_memory, 0, VK_WHOLE_SIZE, 0, &ctx->staging_map), error))
    return FALSE;
  ctx->staging_size = STAGING_BYTES;
  return TRUE;
}

static guint
physical_index (VkInstance instance, VkPhysicalDevice physical)
{
  uint32_t n = 0;
  vkEnumeratePhysicalDevices (instance, &n, NULL);
  g_autofree VkPhysicalDevice *phys = g_new0 (VkPhysicalDevice, MAX (n, 1));
  vkEnumeratePhysicalDevices (instance, &n, phys);
  for (uint32_t i = 0; i < n; i++)
    if (phys[i] == physical)
      return i;
  return 0;
}

SinopiaVkContext *
sinopia_vk_context_new (const SinopiaVkOptions *opts, GError **error)
{
  SinopiaVkOptions defaults = { .persistent_pipeline_cache = TRUE };
  gboolean validation_on = FALSE;
  VkResult res;

  if (!opts)
    opts = &defaults;
  SinopiaVkContext *ctx = g_new0 (SinopiaVkContext, 1);
  ctx->blocks = g_ptr_array_new ();
  ctx->pipelines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  res = create_instance (opts->validation || env_flag ("SINOPIA_VALIDATION"), &validation_on, &ctx->instance);
  if (res != VK_SUCCESS) {
    no_driver_error (res, error);
    goto fail;
  }
  if (validation_on) {
    PFN_vkCreateDebugUtilsMessengerEXT create_messenger = (PFN_vkCreateDebugUtilsMessengerEXT)
      vkGetInstanceProcAddr (ctx->instance, "vkCreateDebugUtilsMessengerEXT");
    VkDebugUtilsMessengerCreateInfoEXT mci = {
      .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT,
      .messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                         VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
      .messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT,
      .pfnUserCallback = debug_message,
      .pUserData = ctx,
    };
    if (create_messenger)
      create_messenger (ctx->instance, &mci, NULL, &ctx->messenger);
  }

  if (!pick_device (ctx->instance, opts->device ? opts->device : g_getenv ("SINOPIA_DEVICE"),
                    &ctx->physical, error))
    goto fail;
  ctx->validation = opts->validation;
  ctx->physical_index = physical_index (ctx->instance, ctx->physical);
  fill_device_info (ctx->physical, &ctx->info);
  vkGetPhysicalDeviceProperties (ctx->physical, &ctx->props);
  vkGetPhysicalDeviceMemoryProperties (ctx->physical, &ctx->mem_props);
  ctx->queue_family = compute_queue_family (ctx->physical, &ctx->timestamp_valid_bits);
  if (!ctx->info.timestamps)
    ctx->timestamp_valid_bits = 0;

  ctx->max_allocation = ctx->info.max_allocation_size ? ctx->info.max_allocation_size : G_MAXUINT32;
  {
    const char *max = g_getenv ("SINOPIA_MAX_ALLOC");
    if (max && *max)
      ctx->max_allocation = g_ascii_strtoull (max, NULL, 10);
  }
  /* Memory that is both device-local and host-visible on a CPU or integrated device is the
   * same RAM: writing it directly saves a staging copy. Discrete cards keep staging. */
  ctx->uma = ctx->props.deviceType != VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU && !env_flag ("SINOPIA_FORCE_STAGING") &&
             find_memory_type (ctx, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                    VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) != UINT32_MAX;

  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
    .queueFamilyIndex = ctx->queue_family,
    .queueCount = 1,
    .pQueuePriorities = &priority,
  };
  VkDeviceCreateInfo dci = {
    .sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
    .queueCreateInfoCount = 1,
    .pQueueCreateInfos = &qci,
  };
  if (!SINOPIA_VK_CALL (vkCreateDevice (ctx->physical, &dci, NULL, &ctx->device), error))
    goto fail;
  vkGetDeviceQueue (ctx->device, ctx->queue_family, 0, &ctx->queue);

  VkCommandPoolCreateInfo pci = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
    .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
    .queueFamilyIndex = ctx->queue_family,
  };
  VkFenceCreateInfo fci = { .sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO };
  if (!SINOPIA_VK_CALL (vkCreateCommandPool (ctx->device, &pci, NULL, &ctx->command_pool), error) ||
      !SINOPIA_VK_CALL (vkCreateFence (ctx->device, &fci, NULL, &ctx->transfer_fence), error))
    goto fail;
  VkCommandBufferAllocateInfo cai = {
    .sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
    .commandPool = ctx->command_pool,
    .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
    .commandBufferCount = 1,
  };
  if (!SINOPIA_VK_CALL (vkAllocateCommandBuffers (ctx->device, &cai, &ctx->transfer_cmd), error))
    goto fail;
  if (!ctx->uma && !create_staging (ctx, error))
    goto fail;
  if (!sinopia__pipeline_cache_open (ctx, opts->persistent_pipeline_cache && !env_flag ("SINOPIA_NO_PIPELINE_CACHE"), error))
    goto fail;
  return ctx;

fail:
  sinopia_vk_context_free (ctx);
  return NULL;
}

SinopiaVkContext *
sinopia_vk_context_new_sibling (SinopiaVkContext *ctx, GError **error)
{
  g_autofree char *index = g_strdup_printf ("%u", ctx->physical_index);
  SinopiaVkOptions opts = {
    .device = index,
    .validation = ctx->validation,
    .persistent_pipeline_cache = ctx->pipeline_cache_path != NULL,
  };
  SinopiaVkContext *sibling = sinopia_vk_context_new (&opts, error);
  if (sibling)
    sibling->sibling = TRUE;
  return sibling;
}

void
sinopia_vk_context_free (SinopiaVkContext *ctx)
{
  if (!ctx)
    return;
  if (ctx->device) {
    vkDeviceWaitIdle (ctx->device);
    g_clear_pointer (&ctx->dummy, sinopia_buffer_free);
    sinopia_vk_context_save_pipeline_cache (ctx, NULL);
    sinopia__pipelines_destroy (ctx);
    if (ctx->staging)
      vkDestroyBuffer (ctx->device, ctx->staging, NULL);
    if (ctx->staging_memory)
      vkFreeMemory (ctx->device, ctx->staging_memory, NULL);
    if (ctx->transfer_fence)
      vkDestroyFence (ctx->device, ctx->transfer_fence, NULL);
    if (ctx->command_pool)
      vkDestroyCommandPool (ctx->device, ctx->command_pool, NULL);
    if (ctx->blocks->len > 0)
      g_printerr ("sinopia: %u memory blocks still in use when the Vulkan context was freed\n",
                  ctx->blocks->len);
    vkDestroyDevice (ctx->device, NULL);
  }
  if (ctx->messenger) {
    PFN_vkDestroyDebugUtilsMessengerEXT destroy_messenger = (PFN_vkDestroyDebugUtilsMessengerEXT)
      vkGetInstanceProcAddr (ctx->instance, "vkDestroyDebugUtilsMessengerEXT");
    if (destroy_messenger)
      destroy_messenger (ctx->instance, ctx->messenger, NULL);
  }
  if (ctx->instance)
    vkDestroyInstance (ctx->instance, NULL);
  g_hash_table_unref (ctx->pipelines);
  g_ptr_array_unref (ctx->blocks);
  g_free (ctx->pipeline_cache_path);
  g_free (ctx);
}

const SinopiaVkDeviceInfo *
sinopia_vk_context_device_info (SinopiaVkContext *ctx)
{
  return &ctx->info;
}

guint
sinopia_vk_context_validation_messages (SinopiaVkContext *ctx)
{
  return ctx->validation_messages;
}

uint64_t
sinopia_vk_context_allocated_bytes (SinopiaVkContext *ctx)
{
  return ctx->allocated;
}

uint64_t
sinopia_vk_context_peak_bytes (SinopiaVkContext *ctx)
{
  return ctx->peak;
}

guint
sinopia_vk_context_pipelines_created (SinopiaVkContext *ctx)
{
  return ctx->pipelines_created;
}
