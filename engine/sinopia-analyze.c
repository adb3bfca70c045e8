/* sinopia-analyze.c — the shapes-world analyzer: scene parsing, blobs grown from pure-colour cores,
 * shape classes from coverage geometry, and the JSON report. */
#define G_LOG_DOMAIN "sinopia-analyze"

#include "sinopia-analyze.h"

#include <math.h>
#include <string.h>

#include "sinopia-json.h"

G_DEFINE_QUARK (sinopia-scene-error-quark, sinopia_scene_error)

static const char *const colour_names[SINOPIA_N_COLOURS] = {
  "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink", "white", "black",
};
static const guint8 prototypes[SINOPIA_N_COLOURS][3] = {
  { 220, 40, 40 }, { 240, 140, 30 }, { 240, 220, 40 }, { 50, 170, 60 },   { 40, 200, 210 },
  { 40, 70, 210 }, { 140, 50, 190 }, { 240, 130, 190 }, { 245, 245, 245 }, { 20, 20, 20 },
};
static const char *const shape_names[SINOPIA_N_SHAPES] = {
  "circle", "square", "triangle", "diamond", "star", "ring",
};
static const char *const size_names[SINOPIA_N_SIZES] = { "small", "medium", "large" };
static const char *const position_names[9] = {
  "top left", "top", "top right", "left", "center", "right", "bottom left", "bottom", "bottom right",
};

/* Largest image analysed: the per-pixel maps take 11 bytes a pixel. */
#define MAX_PIXELS ((uint64_t) 1 << 24)
/* Growth from the cores: the least coverage a pixel must have along the line from the background
 * to the blob's prototype, and its largest distance from that line. Generated colours are within
 * 17 (±10 per channel) of their prototype, so fringe pixels lie within 17 of the line. */
#define GROW_MIN_COVERAGE 0.06
#define GROW_MAX_RESIDUAL 40.0
/* Pixel labels: a pixel belongs to the colour whose mixing line from the background explains it
 * best, a line that needs less of the colour (a blurred or anti-aliased pixel) paying this much
 * per unit of colour distance left out; below LABEL_MIN_COVERAGE it is background. The purity
 * term decides cases such as orange (on the red–yellow line at 0.56, 13 away) over red. */
#define LABEL_PURITY 0.4
#define LABEL_MIN_COVERAGE 0.35
/* A region whose core colour reaches this coverage along its prototype's line is measured along
 * the line to that colour (its jitter included); one that never gets as pure (a thin, blurred
 * object) along the line to the prototype. */
#define PURE_COVERAGE 0.8
/* Size classes: geometric means of the extents 1/8, 1/5 and 1/3 of the side. */
#define SMALL_BELOW 0.1581
#define LARGE_ABOVE 0.2582
/* An object inside a box has at least this share of its area in it. */
#define BOX_MIN_INSIDE 0.7

const char *
sinopia_colour_name (int colour)
{
  return colour >= 0 && colour < SINOPIA_N_COLOURS ? colour_names[colour] : NULL;
}

const char *
sinopia_shape_name (int shape)
{
  return shape >= 0 && shape < SINOPIA_N_SHAPES ? shape_names[shape] : NULL;
}

const char *
sinopia_size_name (int size)
{
  return size >= 0 && size < SINOPIA_N_SIZES ? size_names[size] : NULL;
}

const char *
sinopia_position_name (int row, int col)
{
  return row >= 0 && row < 3 && col >= 0 && col < 3 ? position_names[row * 3 + col] : NULL;
}

gboolean
sinopia_colour_prototype (int colour, guint8 rgb[3])
{
  if (colour < 0 || colour >= SINOPIA_N_COLOURS)
    return FALSE;
  memcpy (rgb, prototypes[colour], 3);
  return TRUE;
}

/* ---- Scene ---------------------------------------------------------------------------------- */

static gboolean G_GNUC_PRINTF (2, 3)
scene_fail (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *msg = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_INVALID, "scene: %s", msg);
  return FALSE;
}

static int
name_index (const char *const *names, int n, const char *s)
{
  for (int i = 0; i < n; i++)
    if (strcmp (names[i], s) == 0)
      return i;
  return -1;
}

/* Member `key` of `obj` as one of `names`: -1 in *out when absent or null. */
static gboolean
get_name (const SinopiaJsonNode *obj, const char *where, const char *key, const char *const *names, int n,
          gboolean required, int *out, GError **error)
{
  const SinopiaJsonNode *v = sinopia_json_object_get (obj, key);
  *out = -1;
  if (v == NULL || sinopia_json_type (v) == SINOPIA_JSON_NULL) {
    if (required)
      return scene_fail (error, "%s.%s is missing", where, key);
    return TRUE;
  }
  gsize len;
  const char *s = sinopia_json_as_string (v, &len);
  if (s == NULL || strlen (s) != len)
    return scene_fail (error, "%s.%s must be a string, not %s", where, key, sinopia_json_type_phrase (v));
  *out = name_index (names, n, s);
  if (*out < 0) {
    GString *all = g_string_new (NULL);
    for (int i = 0; i < n; i++)
      g_string_append_printf (all, "%s%s", i ? ", " : "", names[i]);
    g_autofree char *shown = g_string_free (all, FALSE);
    return scene_fail (error, "%s.%s: unknown value \"%s\" (expected one of: %s)", where, key, s, shown);
  }
  return TRUE;
}

static gboolean
parse_object (const SinopiaJsonNode *node, guint index, SinopiaSceneObject *o, GError **error)
{
  g_autofree char *where = g_strdup_printf ("objects[%u]", index);
  if (sinopia_json_type (node) != SINOPIA_JSON_OBJECT)
    return scene_fail (error, "%s must be an object, not %s", where, sinopia_json_type_phrase (node));
  if (!get_name (node, where, "colour", colour_names, SINOPIA_N_COLOURS, TRUE, &o->colour, error) ||
      !get_name (node, where, "shape", shape_names, SINOPIA_N_SHAPES, FALSE, &o->shape, error) ||
      !get_name (node, where, "size", size_names, SINOPIA_N_SIZES, FALSE, &o->size, error))
    return FALSE;
  int position;
  if (!get_name (node, where, "position", position_names, 9, FALSE, &position, error))
    return FALSE;

  o->place = SINOPIA_PLACE_ANY;
  const SinopiaJsonNode *cell = sinopia_json_object_get (node, "cell");
  if (cell && sinopia_json_type (cell) != SINOPIA_JSON_NULL) {
    int64_t rc[2];
    if (sinopia_json_type (cell) != SINOPIA_JSON_ARRAY || sinopia_json_length (cell) != 2)
      return scene_fail (error, "%s.cell must be an array [row, col]", where);
    for (gsize k = 0; k < 2; k++) {
      g_autoptr (GError) local = NULL;
      if (!sinopia_json_as_int64 (sinopia_json_array_get (cell, k), 0, 2, &rc[k], &local))
        return scene_fail (error, "%s.cell[%zu]: %s", where, k, local->message);
    }
    if (position >= 0 && position != rc[0] * 3 + rc[1])
      return scene_fail (error, "%s: cell [%d, %d] is not the position \"%s\"", where, (int) rc[0], (int) rc[1],
                         position_names[position]);
    o->place = SINOPIA_PLACE_CELL;
    o->row = (int) rc[0];
    o->col = (int) rc[1];
  } else if (position >= 0) {
    o->place = SINOPIA_PLACE_CELL;
    o->row = position / 3;
    o->col = position % 3;
  }

  const SinopiaJsonNode *box = sinopia_json_object_get (node, "bbox");
  if (box && sinopia_json_type (box) != SINOPIA_JSON_NULL) {
    double b[4];
    if (sinopia_json_type (box) != SINOPIA_JSON_ARRAY || sinopia_json_length (box) != 4)
      return scene_fail (error, "%s.bbox must be an array [x0, y0, x1, y1]", where);
    for (gsize k = 0; k < 4; k++) {
      g_autoptr (GError) local = NULL;
      if (!sinopia_json_as_double (sinopia_json_array_get (box, k), &b[k], &local))
        return scene_fail (error, "%s.bbox[%zu]: %s", where, k, local->message);
      if (!isfinite (b[k]))
        return scene_fail (error, "%s.bbox[%zu] is not finite", where, k);
    }
    if (!(b[0] < b[2] && b[1] < b[3]))
      return scene_fail (error, "%s.bbox must have x0 < x1 and y0 < y1", where);
    if (o->place == SINOPIA_PLACE_ANY) {
      o->place = SINOPIA_PLACE_BOX;
      memcpy (o->box, b, sizeof b);
    }
  }
  return TRUE;
}

static gboolean
parse_scene (const SinopiaJsonNode *root, SinopiaScene *scene, GError **error)
{
  if (sinopia_json_type (root) != SINOPIA_JSON_OBJECT)
    return scene_fail (error, "the scene must be a JSON object, not %s", sinopia_json_type_phrase (root));
  const SinopiaJsonNode *w = sinopia_json_object_get (root, "width");
  const SinopiaJsonNode *h = sinopia_json_object_get (root, "height");
  if ((w == NULL) != (h == NULL))
    return scene_fail (error, "width and height must be given together");
  if (w) {
    int64_t v[2];
    g_autoptr (GError) local = NULL;
    if (!sinopia_json_as_int64 (w, 1, 1 << 16, &v[0], &local) || !sinopia_json_as_int64 (h, 1, 1 << 16, &v[1], &local))
      return scene_fail (error, "width/height: %s", local->message);
    scene->width = (int) v[0];
    scene->height = (int) v[1];
  }

  scene->background = -1;
  const SinopiaJsonNode *bg = sinopia_json_object_get (root, "background");
  if (bg && sinopia_json_type (bg) != SINOPIA_JSON_NULL) {
    if (sinopia_json_type (bg) != SINOPIA_JSON_OBJECT)
      return scene_fail (error, "background must be an object, not %s", sinopia_json_type_phrase (bg));
    if (!get_name (bg, "background", "colour", colour_names, SINOPIA_N_COLOURS, FALSE, &scene->background, error))
      return FALSE;
  }

  const SinopiaJsonNode *objects = sinopia_json_object_get (root, "objects");
  if (objects == NULL)
    return scene_fail (error, "objects is missing");
  if (sinopia_json_type (objects) != SINOPIA_JSON_ARRAY)
    return scene_fail (error, "objects must be an array, not %s", sinopia_json_type_phrase (objects));
  gsize n = sinopia_json_length (objects);
  if (n > SINOPIA_SCENE_MAX_OBJECTS)
    return scene_fail (error, "%zu objects, more than %d", n, SINOPIA_SCENE_MAX_OBJECTS);
  scene->objects = g_new0 (SinopiaSceneObject, MAX (n, 1));
  scene->n_objects = (guint) n;
  for (guint i = 0; i < n; i++)
    if (!parse_object (sinopia_json_array_get (objects, i), i, &scene->objects[i], error))
      return FALSE;
  return TRUE;
}

SinopiaScene *
sinopia_scene_parse (const char *json, gsize len, GError **error)
{
  g_return_val_if_fail (json != NULL || len == 0, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  g_autoptr (GError) local = NULL;
  g_autoptr (SinopiaJson) doc = sinopia_json_parse (json ? json : "", len, &local);
  if (doc == NULL) {
    scene_fail (error, "%s", local->message);
    return NULL;
  }
  SinopiaScene *scene = g_new0 (SinopiaScene, 1);
  if (!parse_scene (sinopia_json_root (doc), scene, error)) {
    sinopia_scene_free (scene);
    return NULL;
  }
  return scene;
}

void
sinopia_scene_free (SinopiaScene *scene)
{
  if (scene == NULL)
    return;
  g_free (scene->objects);
  g_free (scene);
}

/* ---- Blobs ---------------------------------------------------------------------------------- */

typedef struct {
  int colour;
  double mean[3];      /* mean of the core pixels */
  double line[3];      /* the colour whose line from the background gives the coverage */
  double area;         /* total coverage */
  double cx, cy;       /* coverage centroid */
  int x0, y0, x1, y1;  /* pixel bounds, x1 and y1 exclusive */
} Region;

typedef struct {
  const guint8 *rgb;
  int w, h;
  double bg[3];
  int *region;         /* per pixel: its region, or -1 */
  float *alpha;        /* per pixel: coverage of its region */
  GArray *regions;     /* Region */
  double min_area;
  double box_scale[2]; /* scene pixels → image pixels */
} Analyzer;

static int
nearest_colour (const guint8 *p)
{
  int best = 0, best_d = G_MAXINT;
  for (int c = 0; c < SINOPIA_N_COLOURS; c++) {
    int d = 0;
    for (int k = 0; k < 3; k++)
      d += (p[k] - prototypes[c][k]) * (p[k] - prototypes[c][k]);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

/* The majority prototype of the two-pixel border and the median colour of those pixels. */
static void
find_background (Analyzer *a, const guint8 *label, SinopiaAnalysis *out)
{
  guint counts[SINOPIA_N_COLOURS] = { 0 };
  guint total = 0;
  for (int y = 0; y < a->h; y++)
    for (int x = 0; x < a->w; x++)
      if (x < 2 || y < 2 || x >= a->w - 2 || y >= a->h - 2) {
        counts[label[(gsize) y * a->w + x]]++;
        total++;
      }
  int bg = 0;
  for (int c = 1; c < SINOPIA_N_COLOURS; c++)
    if (counts[c] > counts[bg])
      bg = c;
  guint hist[3][256] = { { 0 } };
  for (int y = 0; y < a->h; y++)
    for (int x = 0; x < a->w; x++) {
      gsize i = (gsize) y * a->w + x;
      if ((x < 2 || y < 2 || x >= a->w - 2 || y >= a->h - 2) && label[i] == bg)
        for (int k = 0; k < 3; k++)
          hist[k][a->rgb[i * 3 + k]]++;
    }
  for (int k = 0; k < 3; k++) {
    guint seen = 0, v = 0;
    while (v < 255 && (seen += hist[k][v]) * 2 < counts[bg])
      v++;
    out->background_rgb[k] = (guint8) v;
    a->bg[k] = v;
  }
  out->background = bg;
  out->background_share = (double) counts[bg] / total;
}

/* Coverage of pixel `p` along the line from the background to `colour` (unclamped), and the
 * squared distance of the pixel from that segment. */
static double
project (const double bg[3], const double colour[3], const guint8 *p, double *residual2)
{
  double d[3], dir[3], dot = 0, len2 = 0;
  for (int k = 0; k < 3; k++) {
    d[k] = p[k] - bg[k];
    dir[k] = colour[k] - bg[k];
    dot += d[k] * dir[k];
    len2 += dir[k] * dir[k];
  }
  double t = len2 > 0 ? dot / len2 : 0;
  if (residual2) {
    double tc = CLAMP (t, 0, 1), r2 = 0;
    for (int k = 0; k < 3; k++)
      r2 += (d[k] - tc * dir[k]) * (d[k] - tc * dir[k]);
    *residual2 = r2;
  }
  return t;
}

/* The label of pixel `p` (see LABEL_PURITY). */
static int
mix_label (const double bg[3], int bg_colour, const guint8 *p)
{
  int best = bg_colour;
  double best_score = G_MAXDOUBLE, best_t = 0;
  for (int c = 0; c < SINOPIA_N_COLOURS; c++) {
    if (c == bg_colour)
      continue;
    double proto[3], r2, len2 = 0;
    for (int k = 0; k < 3; k++) {
      proto[k] = prototypes[c][k];
      len2 += (proto[k] - bg[k]) * (proto[k] - bg[k]);
    }
    double t = project (bg, proto, p, &r2);
    double score = sqrt (r2) + LABEL_PURITY * (1 - CLAMP (t, 0.0, 1.0)) * sqrt (len2);
    if (score < best_score) {
      best_score = score;
      best = c;
      best_t = t;
    }
  }
  return best_t >= LABEL_MIN_COVERAGE ? best : bg_colour;
}

static const int nbr_dx[8] = { -1, 0, 1, -1, 1, -1, 0, 1 };
static const int nbr_dy[8] = { -1, -1, -1, 0, 0, 1, 1, 1 };

/* Cores, then breadth-first growth of every colour at once: `owner` receives each claimed pixel's
 * colour (-1: background), `core` marks the cores. */
static void
grow (const Analyzer *a, int bg, const guint8 *label, gint8 *owner, guint8 *core)
{
  gsize n = (gsize) a->w * a->h;
  guint32 *queue = g_new (guint32, n);
  gsize head = 0, tail = 0;
  memset (owner, -1, n);
  for (int y = 1; y < a->h - 1; y++)
    for (int x = 1; x < a->w - 1; x++) {
      gsize i = (gsize) y * a->w + x;
      if (label[i] == bg)
        continue;
      gboolean pure = TRUE;
      for (int k = 0; k < 8 && pure; k++)
        pure = label[i + (gssize) nbr_dy[k] * a->w + nbr_dx[k]] == label[i];
      if (pure) {
        core[i] = 1;
        owner[i] = (gint8) label[i];
        queue[tail++] = (guint32) i;
      }
    }
  double protos[SINOPIA_N_COLOURS][3];
  for (int c = 0; c < SINOPIA_N_COLOURS; c++)
    for (int k = 0; k < 3; k++)
      protos[c][k] = prototypes[c][k];
  while (head < tail) {
    gsize i = queue[head++];
    int x = (int) (i % a->w), y = (int) (i / a->w), c = owner[i];
    for (int k = 0; k < 8; k++) {
      int qx = x + nbr_dx[k], qy = y + nbr_dy[k];
      if (qx < 0 || qy < 0 || qx >= a->w || qy >= a->h)
        continue;
      gsize q = (gsize) qy * a->w + qx;
      double r2;
      if (owner[q] >= 0 || project (a->bg, protos[c], a->rgb + q * 3, &r2) < GROW_MIN_COVERAGE ||
          r2 > GROW_MAX_RESIDUAL * GROW_MAX_RESIDUAL)
        continue;
      owner[q] = (gint8) c;
      queue[tail++] = (guint32) q;
    }
  }
  g_free (queue);
}

/* Connected regions of claimed pixels of one colour, their core colours and coverage. */
static void
find_regions (Analyzer *a, const gint8 *owner, const guint8 *core)
{
  gsize n = (gsize) a->w * a->h;
  guint32 *stack = g_new (guint32, n);
  for (gsize i = 0; i < n; i++)
    a->region[i] = -1;
  for (gsize seed = 0; seed < n; seed++) {
    if (owner[seed] < 0 || a->region[seed] >= 0)
      continue;
    int id = (int) a->regions->len;
    Region r = { .colour = owner[seed], .x0 = a->w, .y0 = a->h };
    double sum[3] = { 0 };
    guint n_core = 0;
    gsize top = 0, first = seed;
    stack[top++] = (guint32) seed;
    a->region[seed] = id;
    /* Pixels of the region are visited twice: once to collect it, once for the coverage. */
    GArray *pixels = g_array_new (FALSE, FALSE, sizeof (guint32));
    while (top > 0) {
      gsize i = stack[--top];
      g_array_append_val (pixels, i);
      int x = (int) (i % a->w), y = (int) (i / a->w);
      if (core[i]) {
        for (int k = 0; k < 3; k++)
          sum[k] += a->rgb[i * 3 + k];
        n_core++;
      }
      for (int k = 0; k < 8; k++) {
        int qx = x + nbr_dx[k], qy = y + nbr_dy[k];
        if (qx < 0 || qy < 0 || qx >= a->w || qy >= a->h)
          continue;
        gsize q = (gsize) qy * a->w + qx;
        if (owner[q] == owner[first] && a->region[q] < 0) {
          a->region[q] = id;
          stack[top++] = (guint32) q;
        }
      }
    }
    double proto[3], dot = 0, len2 = 0;
    for (int k = 0; k < 3; k++) {
      proto[k] = prototypes[r.colour][k];
      r.mean[k] = n_core ? sum[k] / n_core : proto[k];
      dot += (r.mean[k] - a->bg[k]) * (proto[k] - a->bg[k]);
      len2 += (proto[k] - a->bg[k]) * (proto[k] - a->bg[k]);
    }
    memcpy (r.line, len2 > 0 && dot / len2 >= PURE_COVERAGE ? r.mean : proto, sizeof r.line);
    double sx = 0, sy = 0;
    for (guint j = 0; j < pixels->len; j++) {
      gsize i = g_array_index (pixels, guint32, j);
      int x = (int) (i % a->w), y = (int) (i / a->w);
      double t = CLAMP (project (a->bg, r.line, a->rgb + i * 3, NULL), 0.0, 1.0);
      a->alpha[i] = (float) t;
      r.area += t;
      sx += t * (x + 0.5);
      sy += t * (y + 0.5);
      r.x0 = MIN (r.x0, x);
      r.y0 = MIN (r.y0, y);
      r.x1 = MAX (r.x1, x + 1);
      r.y1 = MAX (r.y1, y + 1);
    }
    r.cx = r.area > 0 ? sx / r.area : (r.x0 + r.x1) / 2.0;
    r.cy = r.area > 0 ? sy / r.area : (r.y0 + r.y1) / 2.0;
    g_array_unref (pixels);
    g_array_append_val (a->regions, r);
  }
  g_free (stack);
}

/* ---- Shape ---------------------------------------------------------------------------------- */

/* The shape features (SinopiaBlob): fill, aspect, centroid height, solidity, holes, and the outline's
 * edge harmonics cos 4θ (square +1, diamond −1), sin 3θ (upright triangle +1), sin 5θ (star). */
enum { F_FILL, F_ASPECT, F_CENTROID_Y, F_SOLIDITY, F_HOLES, F_EDGE_C4, F_EDGE_S3, F_EDGE_S5, N_FEATURES };

/* How far a blob's features may stray from its shape's template: colour jitter, noise, a blur that
 * is not quite Gaussian, a not quite regular shape. Distances are in these units. */
static const double spread[N_FEATURES] = { 0.05, 0.06, 0.03, 0.06, 0.05, 0.15, 0.15, 0.2 };

/* The shapes as tools/train/shapes.py draws them: ring hole radius and star inner radius over the
 * outer one, and the supersampling of the anti-aliasing. */
#define RING_INNER 0.55
#define STAR_INNER 0.42
#define SUPERSAMPLE 4
/* Area of each shape for a width (extent) of 1: π/4, 1, √3/4, 1/2, 5 · 0.42 · sin 36° / (4 sin² 72°)
 * for the star, π/4 · (1 − 0.55²) for the ring. */
static const double unit_area[SINOPIA_N_SHAPES] = { G_PI / 4, 1, 0.43301, 0.5, 0.34117, G_PI / 4 * 0.6975 };
/* Gaussian blurs (σ, pixels) the templates are tried with. */
static const double template_blurs[] = { 0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0 };
#define MAX_TEMPLATE_BLUR 3.0
/* Gaussian σ of the smoothing before the outline's directions are measured. */
#define OUTLINE_SMOOTHING 1.0

typedef struct {
  double area;          /* total coverage */
  double cx, cy;        /* coverage centroid, grid coordinates */
  double box[4];        /* half-coverage box, grid coordinates */
  double f[N_FEATURES];
  double edge_width;    /* coverage in transition (0.1–0.9) per outline length: grows with blur */
} Features;

typedef double Point[2];

static double
cross (const double *o, const double *p, const double *q)
{
  return (p[0] - o[0]) * (q[1] - o[1]) - (p[1] - o[1]) * (q[0] - o[0]);
}

static int
compare_points (const void *pa, const void *pb)
{
  const double *p = pa, *q = pb;
  if (p[0] != q[0])
    return p[0] < q[0] ? -1 : 1;
  return p[1] < q[1] ? -1 : p[1] > q[1];
}

/* Area of the convex hull of `n` points (sorted in place), by the monotone chain. */
static double
hull_area (Point *pts, gsize n)
{
  if (n < 3)
    return 0;
  qsort (pts, n, sizeof pts[0], compare_points);
  Point *hull = g_new (Point, 2 * n);
  gsize k = 0;
  for (gsize i = 0; i < n; i++) {
    while (k >= 2 && cross (hull[k - 2], hull[k - 1], pts[i]) <= 0)
      k--;
    memcpy (hull[k++], pts[i], sizeof pts[i]);
  }
  for (gsize i = n - 1, lower = k + 1; i-- > 0;) {
    while (k >= lower && cross (hull[k - 2], hull[k - 1], pts[i]) <= 0)
      k--;
    memcpy (hull[k++], pts[i], sizeof pts[i]);
  }
  double area = 0;
  for (gsize i = 0; i + 1 < k; i++)
    area += hull[i][0] * hull[i + 1][1] - hull[i + 1][0] * hull[i][1];
  g_free (hull);
  return fabs (area) / 2;
}

static float
cell_at (const float *cov, int gw, int gh, int x, int y)
{
  return x < 0 || y < 0 || x >= gw || y >= gh ? 0.0f : cov[(gsize) y * gw + x];
}

/* cos 4θ, sin 3θ and sin 5θ of the inward normal θ of the half-coverage outline (marching squares
 * over pixel centres, segments weighted by their length), and the outline's length. */
static double
edge_harmonics (const float *cov, int gw, int gh, double out[3])
{
  double sum[3] = { 0 }, length = 0;
  for (int y = -1; y < gh; y++)
    for (int x = -1; x < gw; x++) {
      /* Corners in order round the cell: (x, y), (x+1, y), (x+1, y+1), (x, y+1). */
      const int cx[4] = { 0, 1, 1, 0 }, cy[4] = { 0, 0, 1, 1 };
      double v[4], px[4], py[4];
      for (int k = 0; k < 4; k++)
        v[k] = cell_at (cov, gw, gh, x + cx[k], y + cy[k]);
      int n = 0;
      for (int k = 0; k < 4; k++) {
        int j = (k + 1) % 4;
        if ((v[k] >= 0.5) == (v[j] >= 0.5))
          continue;
        double t = (0.5 - v[k]) / (v[j] - v[k]);
        px[n] = cx[k] + t * (cx[j] - cx[k]);
        py[n++] = cy[k] + t * (cy[j] - cy[k]);
      }
      /* Inwards = up the bilinear field's gradient. A saddle (n = 4) gives two segments. */
      double gx = (v[1] + v[2] - v[0] - v[3]) / 2, gy = (v[2] + v[3] - v[0] - v[1]) / 2;
      for (int seg = 0; seg + 1 < n; seg += 2) {
        double dx = px[seg + 1] - px[seg], dy = py[seg + 1] - py[seg];
        double len = hypot (dx, dy);
        if (len == 0)
          continue;
        double nx = -dy, ny = dx;
        if (nx * gx + ny * gy < 0) {
          nx = -nx;
          ny = -ny;
        }
        double theta = atan2 (ny, nx);
        sum[0] += len * cos (4 * theta);
        sum[1] += len * sin (3 * theta);
        sum[2] += len * sin (5 * theta);
        length += len;
      }
    }
  for (int k = 0; k < 3; k++)
    out[k] = length > 0 ? sum[k] / length : 0;
  return length;
}

/* Separable Gaussian blur of `src` into `dst` (zero outside the grid). */
static void
blur_grid (const float *src, float *dst, int gw, int gh, double sigma)
{
  gsize gn = (gsize) gw * gh;
  if (sigma <= 0) {
    memcpy (dst, src, gn * sizeof *dst);
    return;
  }
  int radius = (int) ceil (3 * sigma);
  double *kernel = g_new (double, 2 * radius + 1), total = 0;
  for (int i = -radius; i <= radius; i++)
    total += kernel[i + radius] = exp (-0.5 * i * i / (sigma * sigma));
  float *tmp = g_new (float, gn);
  for (int y = 0; y < gh; y++)
    for (int x = 0; x < gw; x++) {
      double acc = 0;
      for (int i = -radius; i <= radius; i++)
        acc += kernel[i + radius] * cell_at (src, gw, gh, x + i, y);
      tmp[(gsize) y * gw + x] = (float) (acc / total);
    }
  for (int y = 0; y < gh; y++)
    for (int x = 0; x < gw; x++) {
      double acc = 0;
      for (int i = -radius; i <= radius; i++)
        acc += kernel[i + radius] * cell_at (tmp, gw, gh, x, y + i);
      dst[(gsize) y * gw + x] = (float) (acc / total);
    }
  g_free (tmp);
  g_free (kernel);
}

/* The features of a coverage grid whose border cells are empty. */
static void
grid_features (const float *cov, int gw, int gh, Features *ft)
{
  gsize gn = (gsize) gw * gh;
  guint8 *state = g_new0 (guint8, gn); /* 1: mask (coverage ≥ 1/2), 2: reached from outside */
  double area = 0, sx = 0, sy = 0, band = 0;
  for (int gy = 0; gy < gh; gy++)
    for (int gx = 0; gx < gw; gx++) {
      gsize i = (gsize) gy * gw + gx;
      double t = cov[i];
      area += t;
      sx += t * (gx + 0.5);
      sy += t * (gy + 0.5);
      state[i] = t >= 0.5;
      if (t > 0.1 && t < 0.9)
        band += t * (1 - t);
    }
  memset (ft, 0, sizeof *ft);
  ft->area = area;
  ft->cx = area > 0 ? sx / area : gw / 2.0;
  ft->cy = area > 0 ? sy / area : gh / 2.0;

  /* The outside, 4-connected (the mask is 8-connected); unreached non-mask cells are holes. */
  guint32 *stack = g_new (guint32, gn);
  gsize top = 0;
  state[0] = 2;
  stack[top++] = 0;
  while (top > 0) {
    gsize i = stack[--top];
    int gx = (int) (i % gw), gy = (int) (i / gw);
    const int dx[4] = { -1, 1, 0, 0 }, dy[4] = { 0, 0, -1, 1 };
    for (int k = 0; k < 4; k++) {
      int qx = gx + dx[k], qy = gy + dy[k];
      if (qx < 0 || qy < 0 || qx >= gw || qy >= gh)
        continue;
      gsize q = (gsize) qy * gw + qx;
      if (state[q] == 0) {
        state[q] = 2;
        stack[top++] = (guint32) q;
      }
    }
  }
  g_free (stack);
  double hole = 0;
  gsize filled = 0, n_pts = 0;
  Point *pts = g_new (Point, 2 * (gsize) gh);
  for (int gy = 0; gy < gh; gy++) {
    int first = -1, last = -1;
    for (int gx = 0; gx < gw; gx++) {
      gsize i = (gsize) gy * gw + gx;
      if (state[i] == 0)
        hole += 1.0 - cov[i];
      if (state[i] != 2) {
        filled++;
        if (first < 0)
          first = gx;
        last = gx;
      }
    }
    if (first >= 0) {
      pts[n_pts][0] = first;
      pts[n_pts++][1] = gy;
      pts[n_pts][0] = last;
      pts[n_pts++][1] = gy;
    }
  }
  g_free (state);
  /* The hull of the filled pixels' squares: the hull of their centres grown by a unit square
   * (Minkowski sum: area + width + height + 1). */
  double hull = 0;
  if (n_pts > 0) {
    double px0 = G_MAXDOUBLE, px1 = -G_MAXDOUBLE, py0 = pts[0][1], py1 = pts[n_pts - 1][1];
    for (gsize i = 0; i < n_pts; i++) {
      px0 = MIN (px0, pts[i][0]);
      px1 = MAX (px1, pts[i][0]);
    }
    hull = hull_area (pts, n_pts) + (px1 - px0) + (py1 - py0) + 1;
  }
  g_free (pts);

  /* Sub-pixel edges where the coverage crosses 1/2, interpolated between the outermost mask pixel
   * of each row (column) and its outer neighbour: exact for anti-aliased straight edges, and a
   * symmetric blur leaves a straight edge's half-coverage line where it was. */
  double *e = ft->box;
  e[0] = e[1] = G_MAXDOUBLE;
  e[2] = e[3] = -G_MAXDOUBLE;
  for (int gy = 1; gy < gh - 1; gy++) {
    const float *row = cov + (gsize) gy * gw;
    int first = 1, last = gw - 2;
    while (first <= last && row[first] < 0.5f)
      first++;
    while (last >= first && row[last] < 0.5f)
      last--;
    if (first > last)
      continue;
    e[0] = MIN (e[0], first - 0.5 + (0.5 - row[first - 1]) / (row[first] - row[first - 1]));
    e[2] = MAX (e[2], last + 0.5 + (row[last] - 0.5) / (row[last] - row[last + 1]));
  }
  for (int gx = 1; gx < gw - 1; gx++) {
    int first = 1, last = gh - 2;
    while (first <= last && cov[(gsize) first * gw + gx] < 0.5f)
      first++;
    while (last >= first && cov[(gsize) last * gw + gx] < 0.5f)
      last--;
    if (first > last)
      continue;
    double in = cov[(gsize) first * gw + gx], out = cov[(gsize) (first - 1) * gw + gx];
    e[1] = MIN (e[1], first - 0.5 + (0.5 - out) / (in - out));
    in = cov[(gsize) last * gw + gx];
    out = cov[(gsize) (last + 1) * gw + gx];
    e[3] = MAX (e[3], last + 0.5 + (in - 0.5) / (in - out));
  }
  if (e[0] > e[2]) {
    /* No cell reaches half coverage: the grid without its border. */
    e[0] = e[1] = 1;
    e[2] = gw - 1;
    e[3] = gh - 1;
  }
  double bw = MAX (e[2] - e[0], 0.5), bh = MAX (e[3] - e[1], 0.5);
  ft->f[F_FILL] = (area + hole) / (bw * bh);
  ft->f[F_ASPECT] = bh / bw;
  ft->f[F_CENTROID_Y] = (ft->cy - e[1]) / bh;
  ft->f[F_SOLIDITY] = hull > 0 ? filled / hull : 0;
  ft->f[F_HOLES] = area + hole > 0 ? hole / (area + hole) : 0;
  /* Noise makes the outline zigzag and scatters its directions; on a smoothed copy they hold. */
  float *smooth = g_new (float, gn);
  blur_grid (cov, smooth, gw, gh, OUTLINE_SMOOTHING);
  double length = edge_harmonics (smooth, gw, gh, ft->f + F_EDGE_C4);
  g_free (smooth);
  ft->edge_width = length > 0 ? band / length : 0;
}

/* ---- Templates ------------------------------------------------------------------------------ */

/* Vertices of a polygonal shape of width `extent` whose bounding box is centred on (cx, cy), as
 * tools/train/shapes.py's shape_polygon; returns their number, 0 for circle and ring. */
static int
shape_polygon (int shape, double cx, double cy, double extent, Point v[10])
{
  double r = extent / 2, h = extent * sqrt (3) / 2;
  switch (shape) {
  case SINOPIA_SHAPE_SQUARE: {
    const Point p[4] = { { cx - r, cy - r }, { cx + r, cy - r }, { cx + r, cy + r }, { cx - r, cy + r } };
    memcpy (v, p, sizeof p);
    return 4;
  }
  case SINOPIA_SHAPE_DIAMOND: {
    const Point p[4] = { { cx, cy - r }, { cx + r, cy }, { cx, cy + r }, { cx - r, cy } };
    memcpy (v, p, sizeof p);
    return 4;
  }
  case SINOPIA_SHAPE_TRIANGLE: {
    const Point p[3] = { { cx, cy - h / 2 }, { cx + r, cy + h / 2 }, { cx - r, cy + h / 2 } };
    memcpy (v, p, sizeof p);
    return 3;
  }
  case SINOPIA_SHAPE_STAR: {
    double outer = extent / (2 * sin (G_PI * 72 / 180));
    double lo[2] = { G_MAXDOUBLE, G_MAXDOUBLE }, hi[2] = { -G_MAXDOUBLE, -G_MAXDOUBLE };
    for (int i = 0; i < 10; i++) {
      double angle = G_PI * (-90 + 36 * i) / 180, rad = i % 2 ? outer * STAR_INNER : outer;
      v[i][0] = rad * cos (angle);
      v[i][1] = rad * sin (angle);
      for (int k = 0; k < 2; k++) {
        lo[k] = MIN (lo[k], v[i][k]);
        hi[k] = MAX (hi[k], v[i][k]);
      }
    }
    for (int i = 0; i < 10; i++) {
      v[i][0] += cx - (lo[0] + hi[0]) / 2;
      v[i][1] += cy - (lo[1] + hi[1]) / 2;
    }
    return 10;
  }
  default:
    return 0;
  }
}

/* Even-odd rule, as the generator's point-in-polygon test. */
static gboolean
inside_polygon (const Point *v, int n, double x, double y)
{
  gboolean inside = FALSE;
  for (int i = 0; i < n; i++) {
    const double *p = v[i], *q = v[(i + 1) % n];
    if (p[1] == q[1])
      continue;
    if ((p[1] > y) != (q[1] > y) && x < (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]) + p[0])
      inside = !inside;
  }
  return inside;
}

/* Coverage of `shape` (width `extent`, box centred on (cx, cy)) on a gw × gh grid, with the
 * generator's 4×4 supersampling. */
static void
render_shape (int shape, double extent, double cx, double cy, int gw, int gh, float *cov)
{
  Point v[10];
  int n = shape_polygon (shape, cx, cy, extent, v);
  double r2 = extent * extent / 4, inner2 = r2 * RING_INNER * RING_INNER;
  for (int gy = 0; gy < gh; gy++)
    for (int gx = 0; gx < gw; gx++) {
      int count = 0;
      for (int sy = 0; sy < SUPERSAMPLE; sy++)
        for (int sx = 0; sx < SUPERSAMPLE; sx++) {
          double x = gx + (sx + 0.5) / SUPERSAMPLE, y = gy + (sy + 0.5) / SUPERSAMPLE;
          double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
          if (n > 0)
            count += inside_polygon ((const Point *) v, n, x, y);
          else
            count += d2 <= r2 && (shape != SINOPIA_SHAPE_RING || d2 >= inner2);
        }
      cov[(gsize) gy * gw + gx] = (float) count / (SUPERSAMPLE * SUPERSAMPLE);
    }
}

/* The shape whose template looks most like the blob: each shape is drawn as the generator draws
 * it, with the blob's area and sub-pixel position, blurred as much as the blob's edges are (the
 * blur whose edge width is nearest), and measured like the blob; the nearest features win.
 * Pixelation and blur thus move template and blob alike. `blur` receives the winner's blur. */
static int
classify (const Features *blob, double frac_x, double frac_y, double *blur)
{
  int best = 0;
  double best_d = G_MAXDOUBLE;
  *blur = 0;
  for (int s = 0; s < SINOPIA_N_SHAPES; s++) {
    double extent = sqrt (MAX (blob->area, 1.0) / unit_area[s]);
    int pad = (int) ceil (3 * MAX_TEMPLATE_BLUR) + 2;
    int gw = (int) ceil (extent) + 2 * pad, gh = gw;
    gsize gn = (gsize) gw * gh;
    float *sharp = g_new (float, gn), *cov = g_new (float, gn);
    render_shape (s, extent, floor (gw / 2.0) + frac_x, floor (gh / 2.0) + frac_y, gw, gh, sharp);
    Features ft = { 0 };
    double best_width = G_MAXDOUBLE, sigma = 0;
    for (gsize k = 0; k < G_N_ELEMENTS (template_blurs); k++) {
      Features t;
      blur_grid (sharp, cov, gw, gh, template_blurs[k]);
      grid_features (cov, gw, gh, &t);
      if (fabs (t.edge_width - blob->edge_width) < best_width) {
        best_width = fabs (t.edge_width - blob->edge_width);
        ft = t;
        sigma = template_blurs[k];
      }
    }
    g_free (sharp);
    g_free (cov);
    double d = 0;
    for (int k = 0; k < N_FEATURES; k++)
      d += (blob->f[k] - ft.f[k]) * (blob->f[k] - ft.f[k]) / (spread[k] * spread[k]);
    if (d < best_d) {
      best_d = d;
      best = s;
      *blur = sigma;
    }
  }
  return best;
}

/* ---- Measurement ---------------------------------------------------------------------------- */

/* Measures the union of the regions marked in `selected` as one blob. */
static void
measure (const Analyzer *a, const gboolean *selected, SinopiaBlob *b)
{
  memset (b, 0, sizeof *b);
  int x0 = a->w, y0 = a->h, x1 = 0, y1 = 0;
  double rgb_sum[3] = { 0 }, rgb_weight = 0;
  for (guint r = 0; r < a->regions->len; r++) {
    if (!selected[r])
      continue;
    const Region *reg = &g_array_index (a->regions, Region, r);
    x0 = MIN (x0, reg->x0);
    y0 = MIN (y0, reg->y0);
    x1 = MAX (x1, reg->x1);
    y1 = MAX (y1, reg->y1);
    for (int k = 0; k < 3; k++)
      rgb_sum[k] += reg->mean[k] * reg->area;
    rgb_weight += reg->area;
    b->colour = reg->colour;
  }
  g_return_if_fail (x0 < x1 && y0 < y1);
  for (int k = 0; k < 3; k++)
    b->rgb[k] = (guint8) CLAMP (lround (rgb_weight > 0 ? rgb_sum[k] / rgb_weight : 0), 0, 255);

  /* A grid over the bounds plus one empty cell all round, so the outside is connected. */
  int gw = x1 - x0 + 2, gh = y1 - y0 + 2;
  float *cov = g_new0 (float, (gsize) gw * gh);
  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++) {
      gsize i = (gsize) y * a->w + x;
      if (a->region[i] >= 0 && selected[a->region[i]])
        cov[(gsize) (y - y0 + 1) * gw + (x - x0 + 1)] = a->alpha[i];
    }
  Features ft;
  grid_features (cov, gw, gh, &ft);
  g_free (cov);

  /* Grid coordinates are image coordinates shifted by (x0 − 1, y0 − 1). */
  b->area = ft.area;
  b->centroid[0] = ft.cx + x0 - 1;
  b->centroid[1] = ft.cy + y0 - 1;
  for (int k = 0; k < 4; k++)
    b->box[k] = ft.box[k] + (k % 2 ? y0 : x0) - 1;
  b->fill = ft.f[F_FILL];
  b->aspect = ft.f[F_ASPECT];
  b->centroid_y = ft.f[F_CENTROID_Y];
  b->solidity = ft.f[F_SOLIDITY];
  b->holes = ft.f[F_HOLES];
  memcpy (b->edges, ft.f + F_EDGE_C4, sizeof b->edges);
  double cx = (b->box[0] + b->box[2]) / 2, cy = (b->box[1] + b->box[3]) / 2;
  b->shape = classify (&ft, cx - floor (cx), cy - floor (cy), &b->blur);
  double rel = (b->box[2] - b->box[0]) / a->w;
  b->size = rel < SMALL_BELOW ? SINOPIA_SIZE_SMALL : rel > LARGE_ABOVE ? SINOPIA_SIZE_LARGE : SINOPIA_SIZE_MEDIUM;
  b->row = CLAMP ((int) floor (3 * b->centroid[1] / a->h), 0, 2);
  b->col = CLAMP ((int) floor (3 * b->centroid[0] / a->w), 0, 2);
}

/* ---- Objects -------------------------------------------------------------------------------- */

static gboolean
region_in_place (const Analyzer *a, guint r, const SinopiaSceneObject *o)
{
  const Region *reg = &g_array_index (a->regions, Region, r);
  if (o->place == SINOPIA_PLACE_ANY)
    return TRUE;
  if (o->place == SINOPIA_PLACE_CELL)
    return CLAMP ((int) floor (3 * reg->cy / a->h), 0, 2) == o->row &&
           CLAMP ((int) floor (3 * reg->cx / a->w), 0, 2) == o->col;
  double bx0 = o->box[0] * a->box_scale[0], by0 = o->box[1] * a->box_scale[1];
  double bx1 = o->box[2] * a->box_scale[0], by1 = o->box[3] * a->box_scale[1];
  if (reg->cx < bx0 || reg->cx >= bx1 || reg->cy < by0 || reg->cy >= by1 || reg->area <= 0)
    return FALSE;
  double inside = 0;
  for (int y = reg->y0; y < reg->y1; y++)
    for (int x = reg->x0; x < reg->x1; x++) {
      gsize i = (gsize) y * a->w + x;
      if (a->region[i] == (int) r && x + 0.5 >= bx0 && x + 0.5 < bx1 && y + 0.5 >= by0 && y + 0.5 < by1)
        inside += a->alpha[i];
    }
  return inside >= BOX_MIN_INSIDE * reg->area;
}

/* The largest region of at least the minimum area for which `want_colour` and `want_place` hold
 * (-1: any colour), or -1. */
static int
largest_region (const Analyzer *a, const SinopiaSceneObject *o, int colour, gboolean same_colour,
                gboolean want_place)
{
  int best = -1;
  double best_area = a->min_area;
  for (guint r = 0; r < a->regions->len; r++) {
    const Region *reg = &g_array_index (a->regions, Region, r);
    if ((reg->colour == colour) != same_colour || reg->area < best_area)
      continue;
    if (o->place != SINOPIA_PLACE_ANY && region_in_place (a, r, o) != want_place)
      continue;
    best = (int) r;
    best_area = reg->area;
  }
  return best;
}

static void
match_object (const Analyzer *a, const SinopiaSceneObject *o, gboolean *used, SinopiaObjectResult *res)
{
  guint n = a->regions->len;
  g_autofree gboolean *selected = g_new0 (gboolean, MAX (n, 1));
  double total = 0;
  if (o->place == SINOPIA_PLACE_ANY) {
    int r = largest_region (a, o, o->colour, TRUE, TRUE);
    if (r >= 0) {
      selected[r] = TRUE;
      total = g_array_index (a->regions, Region, r).area;
    }
  } else {
    for (guint r = 0; r < n; r++) {
      const Region *reg = &g_array_index (a->regions, Region, r);
      if (reg->colour == o->colour && region_in_place (a, r, o)) {
        selected[r] = TRUE;
        total += reg->area;
      }
    }
  }
  res->expected = *o;
  if (total >= a->min_area) {
    res->found = TRUE;
    measure (a, selected, &res->blob);
    for (guint r = 0; r < n; r++)
      used[r] = used[r] || selected[r];
    res->shape_ok = o->shape < 0 || res->blob.shape == o->shape;
    res->size_ok = o->size < 0 || res->blob.size == o->size;
    return;
  }
  int elsewhere = largest_region (a, o, o->colour, TRUE, FALSE);
  int other = o->place == SINOPIA_PLACE_ANY ? -1 : largest_region (a, o, o->colour, FALSE, TRUE);
  if (elsewhere >= 0) {
    memset (selected, 0, n * sizeof *selected);
    selected[elsewhere] = TRUE;
    res->seen_elsewhere = TRUE;
    measure (a, selected, &res->elsewhere);
  }
  if (other >= 0) {
    memset (selected, 0, n * sizeof *selected);
    selected[other] = TRUE;
    res->other_in_place = TRUE;
    measure (a, selected, &res->in_place);
  }
}

SinopiaAnalysis *
sinopia_analyze (const guint8 *rgb, guint width, guint height, const SinopiaScene *scene, GError **error)
{
  g_return_val_if_fail (rgb != NULL && scene != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);
  if (width < 3 || height < 3 || (uint64_t) width * height > MAX_PIXELS) {
    g_set_error (error, SINOPIA_SCENE_ERROR, SINOPIA_SCENE_ERROR_IMAGE,
                 "cannot analyze an image of %u×%u pixels (from 3×3 to %" G_GUINT64_FORMAT " pixels)", width, height,
                 MAX_PIXELS);
    return NULL;
  }
  gsize n = (gsize) width * height;
  Analyzer a = {
    .rgb = rgb,
    .w = (int) width,
    .h = (int) height,
    .min_area = SINOPIA_ANALYZE_MIN_AREA * n,
    .box_scale = { scene->width > 0 ? (double) width / scene->width : 1.0,
                   scene->height > 0 ? (double) height / scene->height : 1.0 },
  };
  SinopiaAnalysis *out = g_new0 (SinopiaAnalysis, 1);
  out->width = width;
  out->height = height;

  guint8 *label = g_new (guint8, n);
  for (gsize i = 0; i < n; i++)
    label[i] = (guint8) nearest_colour (rgb + i * 3);
  find_background (&a, label, out);
  for (gsize i = 0; i < n; i++)
    label[i] = (guint8) mix_label (a.bg, out->background, rgb + i * 3);
  out->expected_background = scene->background;
  out->plain_background = out->background_share >= SINOPIA_ANALYZE_MIN_BORDER_SHARE;
  out->background_ok = out->plain_background && (scene->background < 0 || scene->background == out->background);

  gint8 *owner = g_new (gint8, n);
  guint8 *core = g_new0 (guint8, n);
  grow (&a, out->background, label, owner, core);
  a.region = g_new (int, n);
  a.alpha = g_new0 (float, n);
  a.regions = g_array_new (FALSE, FALSE, sizeof (Region));
  find_regions (&a, owner, core);
  g_free (label);
  g_free (owner);
  g_free (core);

  guint n_regions = a.regions->len;
  g_autofree gboolean *used = g_new0 (gboolean, MAX (n_regions, 1));
  out->n_objects = scene->n_objects;
  out->objects = g_new0 (SinopiaObjectResult, MAX (scene->n_objects, 1));
  for (guint k = 0; k < scene->n_objects; k++)
    if (out->plain_background)
      match_object (&a, &scene->objects[k], used, &out->objects[k]);
    else
      out->objects[k].expected = scene->objects[k];

  out->extra = g_new0 (SinopiaBlob, MAX (n_regions, 1));
  g_autofree gboolean *one = g_new0 (gboolean, MAX (n_regions, 1));
  for (guint r = 0; r < n_regions; r++) {
    if (used[r] || g_array_index (a.regions, Region, r).area < a.min_area)
      continue;
    one[r] = TRUE;
    measure (&a, one, &out->extra[out->n_extra++]);
    one[r] = FALSE;
  }
  g_free (a.region);
  g_free (a.alpha);
  g_array_unref (a.regions);
  return out;
}

void
sinopia_analysis_free (SinopiaAnalysis *analysis)
{
  if (analysis == NULL)
    return;
  g_free (analysis->objects);
  g_free (analysis->extra);
  g_free (analysis);
}

/* ---- JSON ----------------------------------------------------------------------------------- */

static void
append_number (GString *s, double v, int decimals)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  char format[8];
  g_snprintf (format, sizeof format, "%%.%df", decimals);
  g_string_append (s, g_ascii_formatd (buf, sizeof buf, format, v));
}

static void
append_numbers (GString *s, const double *v, int n, int decimals)
{
  g_string_append_c (s, '[');
  for (int i = 0; i < n; i++) {
    if (i)
      g_string_append (s, ", ");
    append_number (s, v[i], decimals);
  }
  g_string_append_c (s, ']');
}

static void
append_name (GString *s, const char *name)
{
  if (name)
    g_string_append_printf (s, "\"%s\"", name);
  else
    g_string_append (s, "null");
}

static void
append_blob (GString *s, const SinopiaBlob *b)
{
  g_string_append (s, "{\"colour\": ");
  append_name (s, sinopia_colour_name (b->colour));
  g_string_append_printf (s, ", \"rgb\": [%u, %u, %u], \"area\": ", b->rgb[0], b->rgb[1], b->rgb[2]);
  append_number (s, b->area, 1);
  g_string_append (s, ", \"centroid\": ");
  append_numbers (s, b->centroid, 2, 2);
  g_string_append (s, ", \"box\": ");
  append_numbers (s, b->box, 4, 2);
  g_string_append_printf (s, ", \"cell\": [%d, %d], \"position\": ", b->row, b->col);
  append_name (s, sinopia_position_name (b->row, b->col));
  g_string_append (s, ", \"shape\": ");
  append_name (s, sinopia_shape_name (b->shape));
  g_string_append (s, ", \"size\": ");
  append_name (s, sinopia_size_name (b->size));
  g_string_append (s, ", \"features\": {\"fill\": ");
  append_number (s, b->fill, 3);
  g_string_append (s, ", \"aspect\": ");
  append_number (s, b->aspect, 3);
  g_string_append (s, ", \"centroid_y\": ");
  append_number (s, b->centroid_y, 3);
  g_string_append (s, ", \"solidity\": ");
  append_number (s, b->solidity, 3);
  g_string_append (s, ", \"holes\": ");
  append_number (s, b->holes, 3);
  g_string_append (s, ", \"edges\": ");
  append_numbers (s, b->edges, 3, 3);
  g_string_append (s, ", \"blur\": ");
  append_number (s, b->blur, 1);
  g_string_append (s, "}}");
}

static void
append_optional_blob (GString *s, const char *key, gboolean present, const SinopiaBlob *b)
{
  g_string_append_printf (s, ", \"%s\": ", key);
  if (present)
    append_blob (s, b);
  else
    g_string_append (s, "null");
}

char *
sinopia_analysis_to_json (const SinopiaAnalysis *an)
{
  g_return_val_if_fail (an != NULL, NULL);
  GString *s = g_string_new (NULL);
  g_string_append_printf (s, "{\"width\": %u, \"height\": %u, \"background\": {\"colour\": ", an->width, an->height);
  append_name (s, sinopia_colour_name (an->background));
  g_string_append_printf (s, ", \"rgb\": [%u, %u, %u], \"border_share\": ", an->background_rgb[0],
                          an->background_rgb[1], an->background_rgb[2]);
  append_number (s, an->background_share, 3);
  g_string_append_printf (s, ", \"plain\": %s, \"expected\": ", an->plain_background ? "true" : "false");
  append_name (s, sinopia_colour_name (an->expected_background));
  g_string_append_printf (s, ", \"ok\": %s}, \"objects\": [", an->background_ok ? "true" : "false");
  guint found = 0, shapes = 0, sizes = 0;
  for (guint k = 0; k < an->n_objects; k++) {
    const SinopiaObjectResult *r = &an->objects[k];
    const SinopiaSceneObject *o = &r->expected;
    found += r->found;
    shapes += r->shape_ok;
    sizes += r->size_ok;
    g_string_append (s, k ? ", {\"expected\": {\"colour\": " : "{\"expected\": {\"colour\": ");
    append_name (s, sinopia_colour_name (o->colour));
    g_string_append (s, ", \"shape\": ");
    append_name (s, sinopia_shape_name (o->shape));
    g_string_append (s, ", \"size\": ");
    append_name (s, sinopia_size_name (o->size));
    if (o->place == SINOPIA_PLACE_CELL) {
      g_string_append_printf (s, ", \"cell\": [%d, %d], \"position\": ", o->row, o->col);
      append_name (s, sinopia_position_name (o->row, o->col));
    } else if (o->place == SINOPIA_PLACE_BOX) {
      g_string_append (s, ", \"bbox\": ");
      append_numbers (s, o->box, 4, 2);
    }
    g_string_append_printf (s, "}, \"found\": %s, \"shape_ok\": %s, \"size_ok\": %s", r->found ? "true" : "false",
                            r->shape_ok ? "true" : "false", r->size_ok ? "true" : "false");
    append_optional_blob (s, "blob", r->found, &r->blob);
    append_optional_blob (s, "elsewhere", r->seen_elsewhere, &r->elsewhere);
    append_optional_blob (s, "in_place", r->other_in_place, &r->in_place);
    g_string_append_c (s, '}');
  }
  g_string_append (s, "], \"extra\": [");
  for (guint k = 0; k < an->n_extra; k++) {
    if (k)
      g_string_append (s, ", ");
    append_blob (s, &an->extra[k]);
  }
  gboolean all = an->background_ok && found == an->n_objects && shapes == an->n_objects;
  g_string_append_printf (s, "], \"summary\": {\"objects\": %u, \"found\": %u, \"shape_ok\": %u, \"size_ok\": %u, "
                          "\"background_ok\": %s, \"extra\": %u, \"all_ok\": %s}}",
                          an->n_objects, found, shapes, sizes, an->background_ok ? "true" : "false", an->n_extra,
                          all ? "true" : "false");
  return g_string_free (s, FALSE);
}
