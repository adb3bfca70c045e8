/* sinopia-renderer.c — cairo instead of a software-rasterized GL renderer. */
#define G_LOG_DOMAIN "sinopia-renderer"

#include <epoxy/gl.h>
#include <string.h>

#include "sinopia-renderer.h"

static gboolean
is_software_rasterizer (const char *renderer)
{
  static const char *const names[] = { "llvmpipe", "softpipe", "swrast", "Software Rasterizer" };
  for (guint i = 0; renderer && i < G_N_ELEMENTS (names); i++)
    if (strstr (renderer, names[i]))
      return TRUE;
  return FALSE;
}

gboolean
sinopia_renderer_avoid_software_gl (GdkDisplay *display)
{
  g_return_val_if_fail (GDK_IS_DISPLAY (display), FALSE);
  if (g_getenv ("GSK_RENDERER"))
    return FALSE;
  g_autoptr (GError) error = NULL;
  g_autoptr (GdkGLContext) context = gdk_display_create_gl_context (display, &error);
  /* without OpenGL GTK draws with cairo anyway */
  if (!context || !gdk_gl_context_realize (context, &error))
    return FALSE;
  gdk_gl_context_make_current (context);
  gboolean software = is_software_rasterizer ((const char *) glGetString (GL_RENDERER));
  gdk_gl_context_clear_current ();
  if (software)
    {
      g_debug ("OpenGL is a software rasterizer: drawing with cairo");
      g_setenv ("GSK_RENDERER", "cairo", FALSE);
    }
  return software;
}
