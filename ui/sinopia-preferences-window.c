/* sinopia-preferences-window.c — GSettings-bound preference rows. */
#define G_LOG_DOMAIN "sinopia-preferences"

#include "sinopia-preferences-window.h"

struct _SinopiaPreferencesWindow {
  AdwPreferencesWindow parent_instance;
  GSettings *settings;
};

G_DEFINE_FINAL_TYPE (SinopiaPreferencesWindow, sinopia_preferences_window, ADW_TYPE_PREFERENCES_WINDOW)

static void
sinopia_preferences_window_dispose (GObject *object)
{
  g_clear_object (&SINOPIA_PREFERENCES_WINDOW (object)->settings);
  G_OBJECT_CLASS (sinopia_preferences_window_parent_class)->dispose (object);
}

static void
sinopia_preferences_window_class_init (SinopiaPreferencesWindowClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = sinopia_preferences_window_dispose;
}

static void
sinopia_preferences_window_init (SinopiaPreferencesWindow *self)
{
}

static GtkWidget *
entry_row (GSettings *settings, const char *key, const char *title, const char *name)
{
  GtkWidget *row = adw_entry_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_widget_set_name (row, name);
  g_settings_bind (settings, key, row, "text", G_SETTINGS_BIND_DEFAULT);
  return row;
}

static GtkWidget *
spin_row (GSettings *settings, const char *key, const char *title, const char *subtitle, double max, double step,
          const char *name)
{
  GtkWidget *row = adw_action_row_new ();
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  GtkWidget *spin = gtk_spin_button_new_with_range (0, max, step);
  gtk_widget_set_name (spin, name);
  gtk_widget_set_valign (spin, GTK_ALIGN_CENTER);
  g_settings_bind (settings, key, spin, "value", G_SETTINGS_BIND_DEFAULT);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), spin);
  return row;
}

GtkWidget *
sinopia_preferences_window_new (GSettings *settings)
{
  g_return_val_if_fail (G_IS_SETTINGS (settings), NULL);
  SinopiaPreferencesWindow *self = g_object_new (SINOPIA_TYPE_PREFERENCES_WINDOW, NULL);
  self->settings = g_object_ref (settings);
  AdwPreferencesPage *page = ADW_PREFERENCES_PAGE (adw_preferences_page_new ());

  AdwPreferencesGroup *engine = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (engine, "Engine");
  adw_preferences_group_set_description (engine, "Used by windows opened from now on, and by Retry. Empty: the "
                                                 "best device, and $SINOPIA_MODEL or the built-in model.");
  adw_preferences_group_add (engine, entry_row (settings, "device", "Vulkan device (index or part of its name)",
                                                "device"));
  adw_preferences_group_add (engine, entry_row (settings, "model-folder", "Model folder", "model-folder"));
  adw_preferences_page_add (page, engine);

  AdwPreferencesGroup *generation = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_group_set_title (generation, "Generation");
  adw_preferences_group_add (generation, spin_row (settings, "default-steps", "Default steps",
                                                   "For new documents; 0 uses the model's", 1000, 1,
                                                   "default-steps"));
  adw_preferences_group_add (generation, spin_row (settings, "live-delay-ms", "Live pause (ms)",
                                                   "How long Live mode waits after the last edit", 5000, 50,
                                                   "live-delay-ms"));
  adw_preferences_page_add (page, generation);
  adw_preferences_window_add (ADW_PREFERENCES_WINDOW (self), page);
  return GTK_WIDGET (self);
}
