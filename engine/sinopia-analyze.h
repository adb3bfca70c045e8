/* sinopia-analyze.h — a deterministic analyzer of shapes-world images (docs/shapes-world.md):
 * given an RGB image and the scene it should show, it measures the background colour and, for
 * each expected object, whether a blob of its colour is at its place and which shape it has.
 * It has no learned parts: the shapes are compared with templates drawn from their definitions,
 * and the few tolerances below are fixed by hand.
 *
 * Method.
 * - Background: the colour prototype most of the image's border (two pixels wide) is nearest
 *   to; its measured colour B is the per-channel median of those border pixels. It is plain
 *   when that colour holds at least SINOPIA_ANALYZE_MIN_BORDER_SHARE of the border; otherwise
 *   (noise, confetti) there is no background to find objects against: the background is not
 *   right and no object is found.
 * - Pixel labels: each pixel gets the colour whose mixing line from B explains it best (distance
 *   from the line, plus a penalty for the part of the colour it leaves out), or the background
 *   below coverage 0.35. So an anti-aliased or blurred red-over-blue pixel is red, not purple,
 *   and a thin blurred ring that never reaches its pure colour keeps it.
 * - Blobs: a core pixel has the same non-background label as its 8 neighbours. Blobs grow from
 *   the cores, all colours at once in breadth-first order, into neighbours near the mixing line
 *   from B to the colour (coverage ≥ 0.06); the connected regions are the blobs. A pixel's
 *   coverage is its projection on the line from B to the mean core colour (to the prototype
 *   when the cores never get 80 % pure), clamped to [0, 1]; a blob's area is its total
 *   coverage, its mask the pixels of coverage ≥ 1/2.
 * - Objects: an expected object is found when the blobs of its colour whose centroids lie at
 *   its place (its grid cell — the cell of (x, y) is (⌊3y/H⌋, ⌊3x/W⌋) — or inside its box with
 *   at least 70 % of their area in it) add up to at least SINOPIA_ANALYZE_MIN_AREA of the image;
 *   those fragments are measured as one blob. Without a place, the largest blob of the colour.
 * - Shape features, from the blob's coverage: fill = area (holes included) over its box (edges
 *   where the coverage crosses 1/2, to sub-pixel precision), aspect = height / width, the
 *   centroid's height in the box, solidity = filled mask over the area of its convex hull,
 *   holes = enclosed uncovered area over the filled area, and the edge harmonics: the means of
 *   cos 4θ (square +1, diamond −1), sin 3θ (upright triangle +1) and sin 5θ (star) over the
 *   inward normals θ of the half-coverage outline (of a copy smoothed by σ = 1 px, against noise).
 * - Shape class, by analysis by synthesis: each of the six shapes is drawn as the generator draws
 *   it (same geometry, 4×4 supersampled anti-aliasing) with the blob's area and sub-pixel
 *   position, blurred by the Gaussian (σ from 0 to 3 px) whose edge width (coverage between 0.1
 *   and 0.9 per outline length) is nearest the blob's, and measured the same way; the shape whose
 *   features are nearest wins, each feature scaled by a fixed tolerance. Pixelation of small
 *   objects and the blur of a decoder thus move template and blob alike.
 * - Size class from the width over the image width: small below 0.158, large above 0.258 (the
 *   geometric means of 1/8, 1/5 and 1/3).
 *
 * Ownership: scenes and analyses own all their memory; free them with the functions below.
 * Threads: every function may be called from any thread; nothing is shared.
 */
#pragma once

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define SINOPIA_SCENE_ERROR (sinopia_scene_error_quark ())
GQuark sinopia_scene_error_quark (void);

typedef enum {
  SINOPIA_SCENE_ERROR_INVALID, /* the JSON does not parse or does not follow the schema */
  SINOPIA_SCENE_ERROR_IMAGE,   /* sinopia_analyze: the image is empty or too large */
} SinopiaSceneErrorCode;

typedef enum {
  SINOPIA_COLOUR_RED,
  SINOPIA_COLOUR_ORANGE,
  SINOPIA_COLOUR_YELLOW,
  SINOPIA_COLOUR_GREEN,
  SINOPIA_COLOUR_CYAN,
  SINOPIA_COLOUR_BLUE,
  SINOPIA_COLOUR_PURPLE,
  SINOPIA_COLOUR_PINK,
  SINOPIA_COLOUR_WHITE,
  SINOPIA_COLOUR_BLACK,
  SINOPIA_N_COLOURS
} SinopiaColour;

typedef enum {
  SINOPIA_SHAPE_CIRCLE,
  SINOPIA_SHAPE_SQUARE,
  SINOPIA_SHAPE_TRIANGLE,
  SINOPIA_SHAPE_DIAMOND,
  SINOPIA_SHAPE_STAR,
  SINOPIA_SHAPE_RING,
  SINOPIA_N_SHAPES
} SinopiaShape;

typedef enum {
  SINOPIA_SIZE_SMALL,
  SINOPIA_SIZE_MEDIUM,
  SINOPIA_SIZE_LARGE,
  SINOPIA_N_SIZES
} SinopiaSize;

/* Names as in the scene JSON ("red", "circle", "small", "top left"); NULL when out of range. */
const char *sinopia_colour_name (int colour);
const char *sinopia_shape_name (int shape);
const char *sinopia_size_name (int size);
const char *sinopia_position_name (int row, int col);
/* The sRGB prototype of a colour; FALSE when out of range. */
gboolean sinopia_colour_prototype (int colour, guint8 rgb[3]);

/* The blobs' minimum area, a fraction of the image: below a small star's area (~87 px at 128²). */
#define SINOPIA_ANALYZE_MIN_AREA 0.002
/* A plain background's least share of the border: a world scene keeps well over half of it
 * even with three large objects on the border cells (an eighth each at most); an untrained
 * model's confetti gives its most common colour about a quarter. */
#define SINOPIA_ANALYZE_MIN_BORDER_SHARE 0.5
/* Scenes with more objects are rejected. */
#define SINOPIA_SCENE_MAX_OBJECTS 64

typedef enum {
  SINOPIA_PLACE_ANY,  /* no place given */
  SINOPIA_PLACE_CELL, /* `cell` or `position` */
  SINOPIA_PLACE_BOX,  /* `bbox` only */
} SinopiaPlace;

typedef struct {
  int colour;       /* SinopiaColour */
  int shape;        /* SinopiaShape, or -1 when the scene does not say */
  int size;         /* SinopiaSize, or -1 */
  SinopiaPlace place;
  int row, col;     /* SINOPIA_PLACE_CELL */
  double box[4];    /* SINOPIA_PLACE_BOX: x0, y0, x1, y1 in scene pixels (x1, y1 exclusive) */
} SinopiaSceneObject;

typedef struct {
  int width, height;   /* the scene's size in pixels; 0 when not given (boxes are then image pixels) */
  int background;      /* SinopiaColour, or -1 when not given */
  guint n_objects;
  SinopiaSceneObject *objects;
} SinopiaScene;

/* Parses the scene JSON of docs/shapes-world.md (`len` bytes, need not be NUL-terminated).
 * Used keys: width, height, background.colour, objects[].colour (required), .shape, .size,
 * .cell or .position (both present: they must agree), .bbox; unknown keys are ignored. Returns
 * (transfer full) a scene to free with sinopia_scene_free, or NULL with a SINOPIA_SCENE_ERROR
 * naming the offending key. */
SinopiaScene *sinopia_scene_parse (const char *json, gsize len, GError **error);
void sinopia_scene_free (SinopiaScene *scene);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaScene, sinopia_scene_free)

typedef struct {
  int colour;          /* SinopiaColour of the mean core colour */
  guint8 rgb[3];       /* that mean */
  double area;         /* total coverage, pixels */
  double centroid[2];  /* x, y in image pixels (pixel (i, j) covers [j, j+1) × [i, i+1)) */
  double box[4];       /* x0, y0, x1, y1, sub-pixel edges */
  int row, col;        /* grid cell of the centroid */
  int shape;           /* SinopiaShape */
  int size;            /* SinopiaSize */
  /* The shape features (see the top of this file). */
  double fill, aspect, centroid_y, solidity, holes;
  double edges[3];     /* edge harmonics: cos 4θ, sin 3θ, sin 5θ */
  double blur;         /* Gaussian σ of the matching template (pixels) */
} SinopiaBlob;

typedef struct {
  SinopiaSceneObject expected;
  gboolean found;             /* a blob of the colour at the place; `blob` describes it */
  SinopiaBlob blob;
  gboolean shape_ok;          /* found, and the shape is the expected one (or none was expected) */
  gboolean size_ok;           /* found, and the size class is the expected one (or none was expected) */
  gboolean seen_elsewhere;    /* not found: the largest blob of the colour elsewhere is `elsewhere` */
  SinopiaBlob elsewhere;
  gboolean other_in_place;    /* not found: the largest blob of another colour at the place */
  SinopiaBlob in_place;
} SinopiaObjectResult;

typedef struct {
  guint width, height;
  int background;             /* SinopiaColour */
  guint8 background_rgb[3];   /* measured */
  double background_share;    /* fraction of the border nearest to `background` */
  int expected_background;    /* from the scene, -1 when not given */
  gboolean plain_background;  /* background_share ≥ SINOPIA_ANALYZE_MIN_BORDER_SHARE */
  /* plain, and background == expected_background (TRUE when none was expected) */
  gboolean background_ok;
  guint n_objects;
  SinopiaObjectResult *objects; /* in the scene's order */
  guint n_extra;
  SinopiaBlob *extra;         /* blobs of at least the minimum area that no expected object took */
} SinopiaAnalysis;

/* Analyzes `rgb` (width × height × 3 bytes, rows top to bottom, no padding) against `scene`.
 * Returns (transfer full) an analysis to free with sinopia_analysis_free, or NULL with a
 * SINOPIA_SCENE_ERROR_IMAGE error for an image under 3×3 or over 2^24 pixels. */
SinopiaAnalysis *sinopia_analyze (const guint8 *rgb, guint width, guint height, const SinopiaScene *scene,
                                  GError **error);
void sinopia_analysis_free (SinopiaAnalysis *analysis);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (SinopiaAnalysis, sinopia_analysis_free)

/* The analysis as one line of JSON. Returns (transfer full, g_free) UTF-8 text:
 *   {"width", "height",
 *    "background": {"colour", "rgb", "border_share", "plain", "expected" (or null), "ok"},
 *    "objects": [{"expected": {"colour", "shape", "size" (null when not given), and "cell" +
 *                              "position" or "bbox" when given},
 *                 "found", "shape_ok", "size_ok",
 *                 "blob": BLOB when found, else null,
 *                 "elsewhere": BLOB (the largest blob of the colour away from the place) or null,
 *                 "in_place": BLOB (the largest blob of another colour at the place) or null}],
 *    "extra": [BLOB...],
 *    "summary": {"objects", "found", "shape_ok", "size_ok", "background_ok", "extra", "all_ok"}}
 *   BLOB = {"colour", "rgb", "area", "centroid": [x, y], "box": [x0, y0, x1, y1], "cell": [row, col],
 *           "position", "shape", "size", "features": {"fill", "aspect", "centroid_y", "solidity",
 *           "holes", "edges": [cos 4θ, sin 3θ, sin 5θ], "blur"}}
 * all_ok: the background and every object found with the expected shape. */
char *sinopia_analysis_to_json (const SinopiaAnalysis *analysis);

G_END_DECLS
