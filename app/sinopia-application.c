/* sinopia-application.c — startup (accelerators, app actions, settings), windows, recovery. */
#define G_LOG_DOMAIN "sinopia"

#include <string.h>

#include "sinopia-application.h"
#include "sinopia-preferences-window.h"
#include "sinopia-renderer.h"
#include "sinopia-window.h"

struct _SinopiaApplication {
  AdwApplication parent_instance;
  GSettings *settings;  /* NULL: no schema found, built-in defaults */
};

G_DEFINE_FINAL_TYPE (SinopiaApplication, sinopia_application, ADW_TYPE_APPLICATION)

/* The installed schema, else the one compiled into the build directory (so an uninstalled build
 * runs), else none. */
static GSettings *
settings_new (void)
{
  GSettingsSchemaSource *installed = g_settings_schema_source_get_default ();
  g_autoptr (GSettingsSchema) schema = installed ? g_settings_schema_source_lookup (installed, SINOPIA_APP_ID, TRUE)
                                                 : NULL;
  if (!schema)
    {
      g_autoptr (GSettingsSchemaSource) built
        = g_settings_schema_source_new_from_directory (SINOPIA_BUILD_SCHEMA_DIR, installed, FALSE, NULL);
      if (built)
        schema = g_settings_schema_source_lookup (built, SINOPIA_APP_ID, FALSE);
    }
  if (!schema)
    {
      g_info ("no GSettings schema %s: using the default preferences", SINOPIA_APP_ID);
      return NULL;
    }
  return g_settings_new_full (schema, NULL, NULL);
}

static SinopiaWindow *
new_window (SinopiaApplication *self)
{
  SinopiaWindow *window = sinopia_window_new (GTK_APPLICATION (self), self->settings);
  gtk_window_present (GTK_WINDOW (window));
  return window;
}

/* The newest autosave left behind by a session that did not end cleanly. */
static char *
find_autosave (void)
{
  g_autofree char *dir = sinopia_window_autosave_dir ();
  g_autoptr (GDir) folder = g_dir_open (dir, 0, NULL);
  g_autofree char *newest = NULL;
  const char *name;
  while (folder && (name = g_dir_read_name (folder)))
    if (g_str_has_suffix (name, ".sinopia") && (!newest || strcmp (name, newest) > 0))
      {
        g_free (newest);
        newest = g_strdup (name);
      }
  return newest ? g_build_filename (dir, newest, NULL) : NULL;
}

static void
sinopia_application_activate (GApplication *application)
{
  SinopiaApplication *self = SINOPIA_APPLICATION (application);
  gboolean first = gtk_application_get_active_window (GTK_APPLICATION (self)) == NULL;
  SinopiaWindow *window = new_window (self);
  g_autofree char *autosave = first ? find_autosave () : NULL;
  if (autosave)
    sinopia_window_offer_recovery (window, autosave);
}

static void
sinopia_application_open (GApplication *application, GFile **files, int n_files, const char *hint)
{
  SinopiaApplication *self = SINOPIA_APPLICATION (application);
  for (int i = 0; i < n_files; i++)
    sinopia_window_open_file (new_window (self), files[i]);
}

static void
quit_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  GtkApplication *application = data;
  GList *windows;
  /* closing each window keeps its unsaved work in its autosave */
  while ((windows = gtk_application_get_windows (application)))
    gtk_window_destroy (GTK_WINDOW (windows->data));
}

static void
new_window_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  new_window (SINOPIA_APPLICATION (data));
}

static void
about_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  GtkApplication *application = data;
  GtkWidget *about = adw_about_window_new ();
  gtk_window_set_transient_for (GTK_WINDOW (about), gtk_application_get_active_window (application));
  adw_about_window_set_application_name (ADW_ABOUT_WINDOW (about), "Sinopia");
  adw_about_window_set_application_icon (ADW_ABOUT_WINDOW (about), SINOPIA_APP_ID);
  adw_about_window_set_version (ADW_ABOUT_WINDOW (about), PACKAGE_VERSION);
  adw_about_window_set_comments (ADW_ABOUT_WINDOW (about),
                                 "Paint with words: regions, live previews and edits that keep what you like.");
  adw_about_window_set_license_type (ADW_ABOUT_WINDOW (about), GTK_LICENSE_GPL_3_0);
  gtk_window_present (GTK_WINDOW (about));
}

static void
preferences_cb (GSimpleAction *action, GVariant *parameter, gpointer data)
{
  SinopiaApplication *self = data;
  GtkWidget *window = sinopia_preferences_window_new (self->settings);
  gtk_window_set_transient_for (GTK_WINDOW (window), gtk_application_get_active_window (GTK_APPLICATION (self)));
  gtk_window_present (GTK_WINDOW (window));
}

static const GActionEntry app_entries[] = {
  { "quit", quit_cb },
  { "preferences", preferences_cb },
  { "new-window", new_window_cb },
  { "about", about_cb },
};

static void
sinopia_application_startup (GApplication *application)
{
  SinopiaApplication *self = SINOPIA_APPLICATION (application);
  G_APPLICATION_CLASS (sinopia_application_parent_class)->startup (application);
  sinopia_renderer_avoid_software_gl (gdk_display_get_default ());
  self->settings = settings_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_entries, G_N_ELEMENTS (app_entries), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", (const char *[]) { "<Primary>q", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.new-window",
                                         (const char *[]) { "<Primary>n", NULL });
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences",
                                         (const char *[]) { "<Primary>comma", NULL });
  /* without a schema there is nothing to store preferences in */
  g_simple_action_set_enabled (G_SIMPLE_ACTION (g_action_map_lookup_action (G_ACTION_MAP (self), "preferences")),
                               self->settings != NULL);
  sinopia_window_set_accels (GTK_APPLICATION (self));
}

static void
sinopia_application_dispose (GObject *object)
{
  g_clear_object (&SINOPIA_APPLICATION (object)->settings);
  G_OBJECT_CLASS (sinopia_application_parent_class)->dispose (object);
}

static void
sinopia_application_class_init (SinopiaApplicationClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sinopia_application_dispose;
  G_APPLICATION_CLASS (klass)->startup = sinopia_application_startup;
  G_APPLICATION_CLASS (klass)->activate = sinopia_application_activate;
  G_APPLICATION_CLASS (klass)->open = sinopia_application_open;
}

static void
sinopia_application_init (SinopiaApplication *self)
{
}

SinopiaApplication *
sinopia_application_new (void)
{
  return g_object_new (SINOPIA_TYPE_APPLICATION, "application-id", SINOPIA_APP_ID, "flags",
                       G_APPLICATION_HANDLES_OPEN, "resource-base-path", "/org/sinopia/Sinopia", NULL);
}
