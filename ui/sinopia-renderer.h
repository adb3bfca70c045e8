/* sinopia-renderer.h — which GTK renderer draws the windows. Where the only OpenGL is a software
 * rasterizer (Mesa's llvmpipe, softpipe or swrast: the machines that run the engine on lavapipe),
 * GTK's default GL renderer competes with the engine for the same cores and is slower than
 * cairo: measured under Xvfb on 2 cores during generation, the main loop stalled 170 ms (p99) and
 * painting ran at 133 ms frames (p95) with GL, 8 ms and 17 ms with cairo. So cairo is chosen there.
 * A GSK_RENDERER set by the user always wins.
 * Threads: the main thread, before the first window is shown (GTK reads the choice once).
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Sets GSK_RENDERER=cairo when `display`'s OpenGL is a software rasterizer and GSK_RENDERER is
 * unset. Returns TRUE when it did. */
gboolean sinopia_renderer_avoid_software_gl (GdkDisplay *display);

G_END_DECLS
