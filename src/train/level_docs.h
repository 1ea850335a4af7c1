/* The documents a flat or level network trains and is validated on (level_docs.c): a single-label head's,
 * those with exactly one label among its outputs; a multi-label head's, every document (--level-docs all) or,
 * for a level, those with a category at its level or the level above (reach, as the HFT-CNN authors' code
 * builds each level's problem: ShimShim46/HFT-CNN, data_helper.py, build_problem). */
#ifndef HFTC_TRAIN_LEVEL_DOCS_H
#define HFTC_TRAIN_LEVEL_DOCS_H

#include "train/trainer.h"

/* The documents of in that part (of a model with taxonomy t, its head single-label or not) trains on under
 * kind, in in's order, into out (out->idx allocated, out->ds = in->ds, no prefix). A single-label head's
 * document with two labels among the part's outputs is an error naming it (what: "training", "validation");
 * a flat part (level 0) takes every document whatever kind says. */
hftc_status level_docs_split(level_docs_kind kind, bool single_label, const taxonomy *t, const model_part *part,
                             const split *in, const char *what, split *out);

#endif
