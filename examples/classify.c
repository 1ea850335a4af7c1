/* Using libhftc from C: train a small hierarchical classifier on a few labelled lines, save it, load it
 * back and label new texts, as `hftc train` and `hftc predict` do.
 *
 *   cc classify.c $(pkg-config --cflags --libs hftc) -o classify && ./classify DIR
 *
 * DIR: a writable directory for the training file and the model. Prints each text's labels. */
#include <hftc.h>

#include <stdio.h>
#include <stdlib.h>

/* A two-level taxonomy (topic -> sport/science) and a few documents of each kind. */
static const char *const taxonomy = "Root\ttopic\ntopic\tsport\tscience\n";
static const char *const documents[] = {
    "sport\tthe team won the match after a late goal",
    "sport\tthe coach praised the players and the fans",
    "sport\ta record crowd saw the final of the cup",
    "sport\tthe striker scored twice in the second half",
    "sport\tthe players trained for the match",
    "sport\ta goal in the last minute won the cup",
    "science\tthe cell divides and the gene is copied",
    "science\ta new theory of the atom and its energy",
    "science\tthe experiment measured the speed of light",
    "science\tthe protein folds in the membrane of the cell",
    "science\tthe theory predicts the mass of the atom",
    "science\ta gene controls how the cell grows",
};

static int write_file(const char *path, const char *const *lines, size_t n)
{
    FILE *f = fopen(path, "w");
    for (size_t i = 0; f && i < n; i++)
        fprintf(f, "%s\n", lines[i]);
    return f && fclose(f) == 0 ? 0 : -1;
}

/* Called once per text, in order: the labels above the model's threshold, best first. */
static hftc_status print_labels(const hftc_prediction *p, void *user)
{
    const hftc_model *m = user;
    printf("text %zu:", p->index + 1);
    for (size_t i = 0; i < p->n_selected; i++)
        printf(" %s (%.2f)", hftc_model_label(m, p->selected[i]), p->probs[p->selected[i]]);
    printf("\n");
    return HFTC_STATUS_OK;
}

static int fail(const char *what)
{
    fprintf(stderr, "classify: %s: %s\n", what, hftc_last_error());
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: classify DIR\n");
        return 2;
    }
    char train_path[4096], taxonomy_path[4096], model_path[4096];
    snprintf(train_path, sizeof train_path, "%s/train.tsv", argv[1]);
    snprintf(taxonomy_path, sizeof taxonomy_path, "%s/taxonomy.tsv", argv[1]);
    snprintf(model_path, sizeof model_path, "%s/model.hftc", argv[1]);
    size_t n_docs = sizeof documents / sizeof *documents;
    if (write_file(train_path, documents, n_docs) || write_file(taxonomy_path, &taxonomy, 1)) {
        fprintf(stderr, "classify: cannot write in %s\n", argv[1]);
        return 1;
    }

    /* Train: the flat-cnn preset at toy sizes (no dropout, every epoch kept), validated on a quarter of
     * the training lines. */
    hftc_train_options o;
    if (hftc_train_options_init(&o, "flat-cnn") != HFTC_STATUS_OK)
        return fail("options");
    o.train_path = train_path;
    o.taxonomy_path = taxonomy_path;
    o.valid_fraction = 0.25f;
    o.dim = 16, o.filters = 8, o.hidden = 16, o.embed_dropout = o.hidden_dropout = 0.0f;
    o.epochs = o.patience = 40, o.lr = 0.01f, o.threads = 1;
    hftc_model *m = NULL;
    if (hftc_train(&o, &m) != HFTC_STATUS_OK)
        return fail("training");
    hftc_status st = hftc_model_save(m, model_path);
    hftc_model_free(m);
    if (st != HFTC_STATUS_OK)
        return fail("saving");

    /* Serve: load the file, label new texts. */
    if (hftc_model_load(&m, model_path) != HFTC_STATUS_OK)
        return fail("loading");
    const char *texts[] = {"the players scored a goal", "the theory of the gene"};
    hftc_input_options in = {.threshold = -1.0f}; /* the model's threshold and scoring */
    st = hftc_predict_documents(m, texts, 2, &in, 0, print_labels, m);
    hftc_model_free(m);
    return st == HFTC_STATUS_OK ? 0 : fail("predicting");
}
