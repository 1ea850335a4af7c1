/* Fuzzing the model file loader (src/model/model_file.c over src/model/safetensors.c): every kind of model
 * file (networks of each strategy, linear models, ensembles, checkpoints). Input: the file. A model that
 * loads is described (hftc info) and predicts two texts, whose probabilities must be in [0, 1]. The fuzz
 * build does not refuse a file whose checksums do not match (safetensors.c), or nearly every mutation would
 * stop there. */
#include "fuzz.h"

#include <math.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hftc_model *m;
    if (hftc_model_load(&m, fuzz_file("model", data, size)) != HFTC_STATUS_OK)
        return 0;
    free(hftc_model_describe(m));
    size_t n_labels = hftc_model_num_labels(m);
    static const char *const texts[] = {"the team won the match", ""};
    float *probs = malloc(2 * (n_labels ? n_labels : 1) * sizeof *probs);
    if (!probs)
        abort();
    if (hftc_predict_texts(m, texts, 2, probs) == HFTC_STATUS_OK)
        for (size_t i = 0; i < 2 * n_labels; i++)
            if (!(probs[i] >= 0.0f && probs[i] <= 1.0f))
                abort();
    free(probs);
    hftc_model_free(m);
    return 0;
}
