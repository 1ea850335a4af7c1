/* The files a training or an ensemble writes, checked before the work (outputs.c). */
#ifndef HFTC_TRAIN_OUTPUTS_H
#define HFTC_TRAIN_OUTPUTS_H

#include "hftc.h"

#include <stdbool.h>

/* Whether path and file are the same file under any name (writing path would destroy file), or where
 * neither exists yet, the same place. */
bool same_file(const char *path, const char *file);

#endif
