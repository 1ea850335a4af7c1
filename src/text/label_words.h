/* The words of each label's name, for the joint embedding of HFT-ONLSTM: a document of level k > 1 is
 * read as its parent category's words followed by its text, embedded by the same table.
 * A label's words come from a label-name file when it names the label ("C15: PERFORMANCE" ->
 * "performance"), else from the label itself split on non-alphanumerics ("comp.sys.mac" -> "comp
 * sys mac"); both are then tokenised like the text. The model file keeps the words as text (one
 * string per label, words separated by spaces); the ids are looked up in the model's vocabulary. */
#ifndef HFTC_TEXT_LABEL_WORDS_H
#define HFTC_TEXT_LABEL_WORDS_H

#include "core/strmap.h"
#include "text/tokenizer.h"
#include "text/vocab.h"

#include <stdint.h>

typedef struct {
    size_t n_labels;
    char **text;    /* n_labels strings: each label's words, separated by single spaces */
    size_t *start;  /* n_labels + 1 offsets into ids */
    uint32_t *ids;  /* vocabulary ids */
    size_t longest; /* the most words of any label */
} label_words;

/* The words of labels 0 .. strmap_count(labels) - 1 as text (no ids yet). names_path (NULL: none) has
 * lines "label<TAB>name" or "label: name" (leading white space ignored, as in RCV1's indented
 * rcv1.label_meaning); labels it does not know are ignored (a label-name file may describe a larger
 * taxonomy), a label listed twice or a line of neither form is an error naming file and line. */
hftc_status label_words_read(label_words *lw, const strmap *labels, const char *names_path,
                             const tokenizer_options *tok);
/* The words as text, from a model file. */
hftc_status label_words_from_texts(label_words *lw, const char *const *texts, size_t n_labels);
/* Counts every word min_count times into v (before vocab_finalize), so no label word falls below it. */
hftc_status label_words_count(const label_words *lw, vocab *v, size_t min_count);
/* Looks the words up in the finalised vocabulary; *n_unknown gets the number of words it lacks (read as
 * <unk>). */
hftc_status label_words_lookup(label_words *lw, const vocab *v, size_t *n_unknown);
static inline size_t label_words_n(const label_words *lw, uint32_t label)
{
    return lw->start[label + 1] - lw->start[label];
}
void label_words_free(label_words *lw);

#endif
