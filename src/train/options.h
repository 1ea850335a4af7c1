/* The training options inside the library: the option table (options_table.c), the presets over it
 * (options_presets.c) and their checks (options.c). */
#ifndef HFTC_TRAIN_OPTIONS_H
#define HFTC_TRAIN_OPTIONS_H

#include "hftc.h"

#include <jansson.h>

/* What an option is, beside its value (the table's flags). */
enum {
    OPTION_INCIDENTAL = 1,  /* does not change what a training computes: threads, file names and formats (what
                             * was read from them is fingerprinted), checkpointing */
    OPTION_FIXED = 2,       /* set by hftc_train_options_init alone: the preset */
    OPTION_RUN_NEUTRAL = 4, /* does not change a node classifier that starts from scratch: the preset's name, the
                             * scoring stored for inference, how children start, the class weights (--reuse-runs
                             * compares their list on its own) */
};

/* Every option at its value before any preset. */
void train_options_reset(hftc_train_options *o);
/* Applies "name=value name=value" settings (a preset's row); no string (file) options. */
hftc_status train_options_apply(hftc_train_options *o, const char *settings);
/* Every option as the training record keeps it: {"max_len": 13, ...} (the option's name, '_' for '-'). */
json_t *train_options_json(const hftc_train_options *o);
/* Deletes from train_options_json's object the options with any of flags. */
void train_options_drop(json_t *options, unsigned flags);

#endif
