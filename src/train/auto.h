/* --preset auto (auto.c): members trained, ensembled, the best on validation kept. */
#ifndef HFTC_TRAIN_AUTO_H
#define HFTC_TRAIN_AUTO_H

#include "hftc.h"

/* The model --preset auto chooses for o's data (o->auto_choice): see auto.c. */
hftc_status train_auto(const hftc_train_options *o, hftc_model **out);

#endif
