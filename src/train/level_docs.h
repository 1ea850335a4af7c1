/* The documents a flat, level or parent network trains and is validated on (level_docs.c): a single-label
 * head's, those with exactly one label among its outputs; a multi-label head's, every document (--level-docs all)
 * or, for a level, those with a category at its level or the level above (reach, as the HFT-CNN authors' code
 * builds each level's problem: ShimShim46/HFT-CNN, data_helper.py, build_problem). A parent part's (of_node) are
 * only those of its node (the top level's: every document), as HDLTex trains a node's classifier. */
#ifndef HFTC_TRAIN_LEVEL_DOCS_H
#define HFTC_TRAIN_LEVEL_DOCS_H

#include "train/trainer.h"

/* The documents of in that part (of a model with taxonomy t, its head single-label or not) trains on under
 * kind, in in's order, into out (out->idx allocated, out->ds = in->ds, no prefix). A single-label head's
 * document with two labels among the part's outputs is an error naming it (what: "training", "validation");
 * a flat part (level 0) takes every document whatever kind says. */
hftc_status level_docs_split(level_docs_kind kind, bool single_label, const taxonomy *t, const model_part *part,
                             const split *in, const char *what, split *out);

/* A part none of whose validation documents (va) has a label among its outputs would stop early on nothing but the
 * loss of all-negative answers shrinking (amazon's level 8 trained all its 40 epochs so): then a seeded fraction
 * of its training documents with such a label (at least one), and the same fraction of the others, leave tr to
 * become its validation split (va->ds = tr->ds, in file order). *held: how many left (0: va has a positive,
 * or tr has fewer than two to spare one; both unchanged). */
hftc_status level_docs_hold_out(const taxonomy *t, const model_part *part, float fraction, uint64_t seed, split *tr,
                                split *va, size_t *held);

#endif
