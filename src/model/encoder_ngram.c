/* The ngram encoder, fastText's supervised model (Joulin et al. 2017) with -wordNgrams 2: a document's
 * features are the mean of its words' vectors (the network's embedding, after its dropout) and of the rows
 * of a table of its own, "ngram.buckets" (buckets, E), that its word bigrams hash to (nn/bag.h: the bucket of
 * the token ids (a, b) is splitmix64(a * 2^32 + b) mod buckets), all averaged together as fastText averages
 * a document's input rows; D = E. The head (usually the output layer alone) follows.
 *
 * Bigrams are hashed from the ids the network reads (past the vocabulary: <unk>), so a bigram with an unknown
 * word has the bucket of (word, <unk>); fastText hashes the words' strings, unknown ones included. The table
 * is row-sparse like the embedding: a batch touches the rows of its bigrams only, its gradient holds those rows
 * alone (room for one batch's positions, nn/params.h), and the optimiser updates those. A table entry costs its
 * value, its best-epoch copy and, under Adam, two moments (SGD keeps none); the gradient costs one batch's rows
 * whatever the table's size.
 *
 * Its rows start uniform(-1/E, 1/E), fastText's initialisation of its input rows, rather than the
 * embedding's uniform(-0.25, 0.25): most buckets hold bigrams seen a handful of times, whose rows Adam moves
 * a few steps of the learning rate; rows 0.25 wide would keep mostly their random start, noise in every mean
 * they enter (at test time too), where rows 0.01 wide add next to none. (On WordNet's short glosses the two
 * came within a seed's variation: test micro-F1 0.625 from this start, 0.616 from the embedding's, with the
 * ngram preset and 2M buckets.) */
#include "model/network_internal.h"

#include "core/error.h"
#include "nn/bag.h"

#include <string.h>

typedef struct {
    tensor *buckets;   /* (buckets, E) */
    uint32_t *ids;     /* (B, S): the bucket of each bigram of the batch */
    uint32_t *scratch; /* bag_scratch_size (training) */
} ngram_state;

_Static_assert(sizeof(ngram_state) <= ENCODER_STATE_BYTES, "the network keeps the encoder state in its room");

static inline ngram_state *ngram_of(const network *net) { return encoder_state(net, ngram_state); }

static hftc_status ngram_check(const network_config *c, size_t batch_capacity, size_t length_capacity)
{
    (void)batch_capacity, (void)length_capacity; /* the network's own check bounds the positions */
    if (c->buckets < 1 || c->buckets > NETWORK_MAX_BUCKETS)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %zu buckets (1 to %d allowed)", c->buckets,
                         NETWORK_MAX_BUCKETS);
    if ((double)c->buckets * (double)c->embed_dim > 1e11)
        return error_set(HFTC_STATUS_INVALID_ARGUMENT, "network: %zu buckets x dimension %zu, too many parameters",
                         c->buckets, c->embed_dim);
    return HFTC_STATUS_OK;
}

static void ngram_setup(network *net)
{
    net->min_len = 1;
    net->features = net->cfg.embed_dim;
}

static void ngram_declare(network *net)
{
    const network_config *c = &net->cfg;
    ngram_of(net)->buckets = params_declare(&net->params, "ngram.buckets", 2, (size_t[]){c->buckets, c->embed_dim});
    tensor_set_row_sparse(ngram_of(net)->buckets, net->batch_capacity * network_max_len(net));
}

static void ngram_carve(network *net, arena *a, size_t B, size_t S, bool train)
{
    ngram_of(net)->ids = arena_alloc(a, B * S, sizeof(uint32_t));
    ngram_of(net)->scratch = arena_alloc(a, train ? bag_scratch_size(B, S, net->cfg.buckets) : 0, sizeof(uint32_t));
}

static void ngram_init(network *net, rng *r)
{
    init_uniform(ngram_of(net)->buckets, r, 1.0f / (float)net->cfg.embed_dim);
}

static void ngram_forward(network *net, const compute_context *cc, size_t B, size_t T, bool train, uint64_t seed)
{
    (void)train, (void)seed;
    ngram_state *s = ngram_of(net);
    bag_bigrams(s->ids, net->tokens, net->lengths, B, T, net->cfg.buckets);
    bag_forward(cc, net->features_out, net->input, s->ids, net->lengths, s->buckets->value, B, T, net->cfg.embed_dim);
}

// The words' part is their embedding itself: no projection, no word cache.
static size_t ngram_word_projection(const network *net, float *proj)
{
    (void)net, (void)proj;
    return 0;
}

static bool ngram_trains(const network *net, const bool *frozen)
{
    return tensor_trains(ngram_of(net)->buckets, frozen);
}

static void ngram_backward(network *net, const compute_context *cc, size_t B, size_t T, const bool *frozen,
                           bool emb_trains)
{
    ngram_state *s = ngram_of(net);
    size_t E = net->cfg.embed_dim;
    if (emb_trains)
        memset(net->demb, 0, B * T * E * sizeof(float));
    bag_backward(cc, emb_trains ? net->demb : NULL, grad_if_trains(s->buckets, frozen), s->buckets->touched_rows,
                 &s->buckets->n_touched, s->scratch, net->dfeatures, s->ids, net->lengths, B, T, E, net->cfg.buckets);
}

static void ngram_config_to_json(const network_config *c, json_t *j)
{
    json_object_set_new(j, "buckets", json_integer((json_int_t)c->buckets));
}

static const char *ngram_config_from_json(const json_t *j, network_config *c)
{
    json_int_t buckets;
    if (json_unpack((json_t *)j, "{s:I}", "buckets", &buckets) != 0 || buckets < 1 || buckets > NETWORK_MAX_BUCKETS)
        return "buckets";
    c->buckets = (size_t)buckets;
    return NULL;
}

static const char *const ngram_layers[] = {"ngram", NULL};

const encoder_ops encoder_ngram_ops = {.name = "ngram",
                                       .layers = ngram_layers,
                                       .config_to_json = ngram_config_to_json,
                                       .config_from_json = ngram_config_from_json,
                                       .reads_tokens = true,
                                       .check = ngram_check,
                                       .setup = ngram_setup,
                                       .declare = ngram_declare,
                                       .carve = ngram_carve,
                                       .init = ngram_init,
                                       .forward = ngram_forward,
                                       .word_projection = ngram_word_projection,
                                       .trains = ngram_trains,
                                       .backward = ngram_backward};
