/* Presets: each is a row of option settings over the option table (options_table.c), applied over the
 * row it builds on. The comments say where each value comes from. */
#include "train/options.h"

#include "core/error.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    const char *base;     /* the preset these settings change; NULL: the table's values */
    const char *settings; /* "name=value ..." over the option table */
} preset_spec;

/* flat-cnn: the HFT-CNN paper's Table 2 Flat baseline, Kim CNN over short text (the table's values: 300-d
 * embeddings, windows 2, 3, 4 of 128 filters, 1,024 hidden units, dropout .25 and .5, the first 13 words,
 * Adam 1e-3, batch 100, at most 40 epochs stopped on the validation loss after 3 without a gain).
 * woft-cnn and hft-cnn: the paper's per-level models WoFT(B) and HFT(B), without and with fine-tuning (level
 * k's embedding and convolutions start from level k-1's trained ones; the dense layers start fresh), read
 * with Boolean scoring. Level k's model trains and is validated on the documents with a category at level k
 * or k-1 (level-docs=reach), as the authors' code builds each level's problem for both (ShimShim46/HFT-CNN,
 * data_helper.py, build_problem: "if (layer in doc['hie_info']) or ((layer-1) in doc['hie_info'])"); the
 * paper does not say.
 * xml-cnn: the same paper's XML-CNN comparison (Liu et al. 2017), as its Chainer code builds it
 * (ShimShim46/HFT-CNN, xml_cnn_model.py, train.py): the same embedding, windows, filters, dropouts and
 * optimisation, a 512-unit bottleneck, and dynamic max pooling. That code convolves with stride 2 and keeps
 * the max of each 2 neighbouring outputs: at 13 words, 5, 5 and 4 maxima per feature map for windows 2, 3, 4,
 * the i-th over window starts 2i and 2i + 2. Over stride-1 windows, 5 chunks keep 5 maxima over about the
 * same spans (exactly the same for window 3): the paper's XML-CNN(1), "the same window sizes and stride size as
 * HFT-CNN".
 * xml-cnn2: the paper's XML-CNN(2), the convolution at stride 2 as that code has it (window starts 0, 2, 4, ...;
 * torch.nn.Conv1d(stride=2)); its maxima over neighbouring pairs become the same 5 adaptive chunks, over the
 * 6, 6 and 5 strided windows of a 13-word text.
 *
 * The HTrans paper's settings (Banerjee et al. 2019): 100-d embeddings, BiGRU 96 per direction with word
 * attention, max and mean pooling, dropout .4 on the GRU outputs, batch 128, the first 100 words, at most 10
 * epochs with early stopping (patience 3), Adam 1e-3, threshold 0.5.
 *   gru-att        one binary classifier per category (all documents), trained from scratch (GRU-Att-basic)
 *   gru-att-cw     the same with the class-weight search {1,2,3,5,10,30,50} on each validation split
 *   htrans         + transfer: a child starts from its parent's whole model, output layer re-initialised,
 *                  lr 5e-4 for the transferred layers, 1e-3 for the output layer, the embedding frozen
 *                  below the top level
 *   gru-att-multi  one multi-label model over all categories (per-class weights from an htrans model
 *                  with --class-weights-from), its epoch chosen on the validation weighted F1 (the paper:
 *                  "We optimize the weighted F1-score during training the multi-label model")
 *
 * The HFT-ONLSTM paper's settings (Gao et al.; WOS): pretrained 300-d vectors, not trained (pass them with
 * --embeddings), dropout .25 after them, an ON-LSTM of 500 units (chunk 10, the reference code's default; the
 * paper does not say) with dropout .25 on its last state, the MLP head (fc1 500 tanh, dropout .5, batch
 * norm), one softmax per level, Adam 1e-3 x 0.1 after 3 epochs without a gain in validation accuracy, early
 * stopping on it (patience 6, at most 30 epochs), batch 64, the first 100 words, each level's decision its
 * softmax's best category, as the paper reads a level (`--scoring argmax`; the joint embedding reads the category
 * so chosen above; `--scoring top-down` restricts each level to the children of the category chosen above).
 *   hft-onlstm          the joint embedding (below the top level the parent category's name words go before
 *                       the text) and fine-tuning: level k's embedding and ON-LSTM start from level k-1's, the
 *                       head fresh
 *   woft-onlstm         the joint embedding, each level trained from scratch (the project's ablation: the
 *                       paper has none)
 *   hft-onlstm-nojoint  fine-tuning without the parent's words (the project's other ablation)
 *
 * ngram: fastText's supervised model (Joulin et al. 2017), the flat baseline "FastText" of the HFT-ONLSTM
 * paper's Table 2 (overall accuracy only; the paper gives none of its settings, so they are fastText's own
 * defaults, src/args.cc, where they fit): the mean of the word and the hashed word-bigram vectors (-wordNgrams 2,
 * fastText's recommended setting for classification; the encoder always uses bigrams) straight into the output
 * layer (no hidden layer, no dropout: fastText has neither), -dim 100, -minCount 1 (the table's min-count),
 * sigmoid outputs (-loss ova, one-vs-all, fastText's multi-label loss), the flat strategy, and fastText's
 * optimiser: SGD with the rate per document decaying linearly to 0 (--optimizer sgd), which keeps no moments, so
 * a table entry costs a value (and the best-epoch copy); the gradient has room for one batch's rows only (10 x 500
 * positions: 2 MB at E = 100, nn/params.h). The table's buckets, 1,000,000, are half of fastText's -bucket
 * 2000000 (at E = 100, 1M buckets wrote a 416 MB model on WordNet). The rate is 1.0, the top
 * of fastText's tutorial's 0.1-1.0, in batches of 10 documents (about fastText's per-document updates: on amazon,
 * batch 1 and batch 10 at 0.1 reached 0.309 and 0.306 test micro-F1 in 15 epochs, batch 10 in a third of the
 * time), chosen on validation micro-F1 among 0.1, 0.25, 0.5 and 1.0 at 25 epochs (rcv1dev 0.620, 0.681, 0.707,
 * 0.726; 20ng 0.808, 0.878, 0.891, 0.891; amazon 0.338, then 0.340 for the other three: on its 5,670 outputs
 * 0.25 and above diverge in the first epoch, and the trainer starts over at half the rate until it does not,
 * 0.125 there). Adam at 0.05 in batches of 100, this preset before, reached 0.123 / 0.006 on amazon's test split
 * against 0.319 / 0.030 now. 25 epochs (fastText's baselines in the data
 * README: 25 and 50), every one run, the best on validation micro-F1 kept. max-len 500: fastText reads whole
 * documents; 500 tokens keep most of an abstract or a news story.
 * transfer-layers embedding,ngram: all but the output layer, for --strategy level --transfer finetune.
 *
 * bilstm-max, bilstm-mean: the same paper's flat baselines "BiLSTM/Maxpool" and "BiLSTM/Meanpool" (Table 2, overall
 * accuracy only; its references [36], [23]: Conneau et al.'s BiLSTM-max encoder): a bidirectional LSTM
 * (torch.nn.LSTM's cell) over the words, its states max- or mean-pooled over each document's words, then the usual
 * head. The paper's: flat (one classifier, no levels, no fine-tuning), the pooling. The paper gives none of their
 * settings, so the rest is chosen, from the hft-onlstm preset above where it applies: pretrained 300-d vectors not
 * trained, dropout .25 after them, 500 LSTM units per direction (the ON-LSTM's size, as torch.nn.LSTM(300, 500,
 * bidirectional=True) counts it: 1,000 features), dropout .25 on the pooled features, the MLP head (fc1 500 tanh,
 * dropout .5, batch norm), Adam 1e-3 x 0.1 after 3 epochs without a gain, patience 6, at most 30 epochs, batch 64,
 * the first 100 words. Flat over the taxonomy's ancestor-closed label sets needs sigmoid outputs (one softmax
 * cannot hold a document's labels at every level), so epochs are chosen on validation micro-F1 (accuracy is a
 * softmax's), and on single-path data the leaf decision (the best leaf and its ancestors: a flat classifier's one
 * answer, as the paper reads them) is kept when validation prefers it (--tune-scoring).
 * transfer-layers embedding,lstm: all but the head, for --strategy level --transfer finetune.
 *
 * hdltex: the same paper's baseline HDLTex (Kowsari et al. 2017): a local classifier per parent node, a softmax
 * over its children trained on the node's documents, each trained on its own (no transfer: HDLTex's networks are
 * independent), the categories chosen top-down (the best top-level category, then the best of its children, ...).
 * HDLTex's own networks (DNN, CNN, RNN per node) are not the comparison's point: the encoder and its settings are
 * bilstm-max's above, so the row differs from BiLSTM/Maxpool by the strategy alone; a softmax's epochs are chosen
 * on validation accuracy (as hft-onlstm's), and the decision is top-down, not tuned. The frozen vectors are one
 * table every part reads (HDLTex's one GloVe embedding), not a copy per part.
 *
 * linear: the strong baseline practitioners reach for first, scikit-learn's TfidfVectorizer(ngram_range=(1, 2),
 * sublinear_tf=True, min_df=2) + one-vs-rest LogisticRegression(solver="liblinear"), over every label of the
 * ancestor-closed sets (the flat strategy), C chosen on validation from {1, 10, 100} and one threshold tuned
 * there (data/README's "strongest simple baselines": a tuned threshold is worth more than the learner). Whole
 * documents (max-len 100000, the bound), words of any count in the vocabulary (min-count 1: min-df decides which
 * become features). liblinear's own stopping tolerance for its primal solvers (0.01). On single-path data the
 * leaf decision when validation prefers it (20ng: a one-of-the-leaves choice beats thresholds by far).
 *
 * auto: the members above that a practitioner would try (linear, linear with the SVM loss, ngram, hft-cnn),
 * each with its own preset, ensembled, the best on validation kept (train/auto.c). */
static const preset_spec presets[] = {
    {"flat-cnn", NULL, ""},
    {"woft-cnn", NULL, "strategy=level scoring=bsf level-docs=reach"},
    {"hft-cnn", "woft-cnn", "transfer=finetune"},
    {"xml-cnn", NULL, "pool-chunks=5 hidden=512"},
    {"xml-cnn2", "xml-cnn", "conv-stride=2"},
    {"gru-att", NULL,
     "encoder=bigru-att strategy=node transfer-layers=embedding,gru,attention windows=none dim=100 max-len=100 "
     "batch=128 epochs=10 hidden=0 embed-dropout=0 hidden-dropout=0"},
    {"gru-att-cw", "gru-att", "class-weights=1,2,3,5,10,30,50"},
    {"htrans", "gru-att-cw", "transfer=finetune transfer-lr=5e-4 freeze-child-embeddings=1"},
    {"gru-att-multi", "gru-att", "strategy=flat early-stop=weighted-f1"},
    {"hft-onlstm", NULL,
     "encoder=onlstm head=softmax strategy=level transfer=finetune transfer-layers=embedding,onlstm "
     "joint-embedding=1 windows=none dim=300 freeze-embeddings=1 embed-dropout=0.25 rnn-hidden=500 "
     "onlstm-chunk=10 rnn-dropout=0.25 rnn-pool=last hidden=500 hidden-activation=tanh batchnorm=1 "
     "hidden-dropout=0.5 max-len=100 batch=64 epochs=30 patience=6 lr-patience=3 lr-decay=0.1 "
     "early-stop=accuracy scoring=argmax"},
    {"woft-onlstm", "hft-onlstm", "transfer=none"},
    {"hft-onlstm-nojoint", "hft-onlstm", "joint-embedding=0"},
    {"ngram", NULL,
     "encoder=ngram transfer-layers=embedding,ngram windows=none dim=100 hidden=0 embed-dropout=0 hidden-dropout=0 "
     "max-len=500 optimizer=sgd lr=1 batch=10 epochs=25 patience=25 early-stop=micro-f1"},
    {"bilstm-max", NULL,
     "encoder=bilstm transfer-layers=embedding,lstm windows=none dim=300 freeze-embeddings=1 embed-dropout=0.25 "
     "rnn-hidden=500 rnn-dropout=0.25 rnn-pool=max hidden=500 hidden-activation=tanh batchnorm=1 hidden-dropout=0.5 "
     "max-len=100 batch=64 epochs=30 patience=6 lr-patience=3 lr-decay=0.1 early-stop=micro-f1 tune-scoring=1"},
    {"bilstm-mean", "bilstm-max", "rnn-pool=mean"},
    {"hdltex", "bilstm-max",
     "strategy=parent head=softmax scoring=top-down transfer=none early-stop=accuracy tune-scoring=0"},
    {"auto", NULL, "auto=1"},
    {"linear", NULL,
     "family=linear linear-loss=logreg linear-c=1,10,100 ngrams=2 min-df=2 sublinear-tf=1 max-len=100000 "
     "min-count=1 tune-threshold=1 tune-scoring=1"},
};

#define N_PRESETS (sizeof presets / sizeof *presets)

static const preset_spec *preset_find(const char *name)
{
    for (size_t i = 0; name && i < N_PRESETS; i++)
        if (!strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}

const char *hftc_preset_name(size_t i) { return i < N_PRESETS ? presets[i].name : NULL; }

/* Applies preset's row after the rows it builds on. */
static hftc_status preset_apply(hftc_train_options *o, const preset_spec *preset)
{
    if (preset->base)
        TRY(preset_apply(o, preset_find(preset->base)));
    hftc_status st = train_options_apply(o, preset->settings);
    return st == HFTC_STATUS_OK ? st : error_wrap(st, "preset %s", preset->name);
}

hftc_status hftc_train_options_init(hftc_train_options *o, const char *name)
{
    const preset_spec *preset = preset_find(name ? name : "flat-cnn");
    if (!preset) {
        char list[512] = "";
        for (size_t i = 0, used = 0; i < N_PRESETS && used < sizeof list; i++)
            used += (size_t)snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", presets[i].name);
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "unknown preset \"%s\" (known: %s)", name, list);
    }
    train_options_reset(o);
    TRY(preset_apply(o, preset));
    snprintf(o->preset, sizeof o->preset, "%s", preset->name);
    return HFTC_STATUS_OK;
}
