/* The ranges of the settings a model stores. train checks its options against them (train/options.c) and
 * the model loader checks a file's stored values against the same (model/model_file.c), so a model file
 * is refused when it holds a value no training could have written. */
#ifndef HFTC_CORE_BOUNDS_H
#define HFTC_CORE_BOUNDS_H

#include <stdbool.h>

#define BOUNDS_MAX_LEN 100000           /* --max-len: tokens kept per document */
#define BOUNDS_MAX_DIM 4096             /* --dim, the embedding size without word vectors */
#define BOUNDS_MAX_VECTOR_DIM (1 << 20) /* word vectors' dimension, which sets the embedding size */
#define BOUNDS_MAX_FILTERS 65536        /* --filters */
#define BOUNDS_MAX_HIDDEN 65536         /* --hidden */
#define BOUNDS_MAX_RNN 4096             /* --rnn-hidden and --attention-dim */
#define BOUNDS_MAX_WEIGHT 1e6           /* --class-weights, --pos-weight */

/* The checks of the fractional settings; each is false for NaN. */
static inline bool bounds_threshold_ok(double v) { return v >= 0.0 && v <= 1.0; }           /* [0, 1] */
static inline bool bounds_dropout_ok(double v) { return v >= 0.0 && v < 1.0; }              /* [0, 1) */
static inline bool bounds_weight_ok(double v) { return v > 0.0 && v <= BOUNDS_MAX_WEIGHT; } /* (0, 1e6] */

#endif
