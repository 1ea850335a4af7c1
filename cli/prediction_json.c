/* One prediction as JSON (commands.h): what hftc predict --json prints and hftc serve answers, in one place. */
#include "commands.h"

#include "hftc.h"

#include <jansson.h>

json_t *cli_prediction_json(const hftc_model *m, const hftc_prediction *p, size_t k)
{
    size_t n = k && k < p->n_selected ? k : p->n_selected;
    json_t *labels = json_array(), *scores = json_array(), *words = json_array(), *weights = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(labels, json_string(hftc_model_label(m, p->selected[i])));
        json_array_append_new(scores, json_real(p->probs[p->selected[i]]));
        json_t *row = json_array(), *row_weights = json_array();
        for (size_t j = 0; j < p->n_words && p->word_weights[i * p->n_words + j] > 0.0f; j++) {
            json_array_append_new(row, json_string(p->words[i * p->n_words + j]));
            json_array_append_new(row_weights, json_real(p->word_weights[i * p->n_words + j]));
        }
        json_array_append_new(words, row);
        json_array_append_new(weights, row_weights);
    }
    json_t *j = json_pack("{s:I, s:o, s:o}", "doc", (json_int_t)p->index + 1, "labels", labels, "scores", scores);
    if (p->n_words) {
        json_object_set_new(j, "words", words);
        json_object_set_new(j, "word_weights", weights);
    } else {
        json_decref(words), json_decref(weights);
    }
    return j;
}
