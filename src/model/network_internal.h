/* The network's insides, shared by network.c (embedding, head, loss, modes) and the encoders
 * (encoder_cnn.c, encoder_bigru.c, encoder_onlstm.c, encoder_ngram.c, encoder_bilstm.c). An encoder reads the embedded
 * batch net->input (B, T, E) (or, in inference with a word cache, its first layer's products net->projected; one that
 * says reads_tokens also the ids net->tokens) and writes net->features_out (B, D); its backward pass reads
 * net->dfeatures (B, D) and, when the embedding trains, writes net->demb. */
#ifndef HFTC_MODEL_NETWORK_INTERNAL_H
#define HFTC_MODEL_NETWORK_INTERNAL_H

#include "model/network.h"

#include "core/arena.h"
#include "core/packed_gemm.h"
#include "nn/word_cache.h"

#include <jansson.h>
#include <stddef.h>

typedef struct encoder_ops encoder_ops;

/* Room for an encoder's state in the network; each encoder checks that its type fits. */
#define ENCODER_STATE_BYTES 512
/* The network's encoder state as the encoder's own type. */
#define encoder_state(net, type) ((type *)(void *)(net)->encoder_state)

struct network {
    network_config cfg;
    const encoder_ops *enc;
    size_t batch_capacity, length_capacity; /* the largest batch and document (tokens) its buffers hold */
    size_t min_len;    /* documents are laid out with at least this many rows (the CNN's widest window) */
    size_t features;   /* D: the encoder's output per document */
    network_mode mode; /* training: gradients, moments and backward buffers exist */
    param_set params;
    tensor *embedding, *fc1_w, *fc1_b, *out_w, *out_b;
    tensor *bn_w, *bn_b, *bn_mean, *bn_var; /* hidden_batchnorm: gamma, beta, running statistics */
    tensor borrowed; /* the embedding when cfg.borrowed_embedding: values owned elsewhere, never trained */
    /* The encoder's own tensors and buffers, of its private type (encoder_state), inside the network so that
     * a copy of the network (network_activation_bytes plans on one) copies them too. */
    _Alignas(max_align_t) unsigned char encoder_state[ENCODER_STATE_BYTES];

    arena own_acts;                  /* the activations, unless they live in a shared arena */
    arena *acts;                     /* &own_acts or the shared arena */
    uint32_t *tokens;                /* (B, T') with T' = max(T, min_len); ids checked against V, set for t < lengths */
    size_t *lengths;                 /* (B) clamped to T */
    size_t *emb_valid;               /* (B) lengths * E: the elements of each document the dropout draws */
    float *emb, *demb;               /* (B, T', E) */
    const float *input;              /* the encoder's input: emb, or an embedded batch given to predict */
    word_cache *word_cache;          /* inference: each word's projection by the encoder's first layer */
    float *head_packing;             /* with the word cache: storage of the head's weights packed once */
    packed_matrix fc1_t, out_t;      /* fc1_w^T and out_w^T there (core/packed_gemm.h), else as they are */
    const float *const *projected;   /* (B*T) rows of word_cache for this batch, used instead of input; or NULL */
    uint8_t *emb_mask;               /* (B, T', E) */
    float *features_out, *dfeatures; /* (B, D) */
    float *hidden, *dhidden;         /* (B, H) */
    float *hidden_drop;              /* (B, H) hidden after dropout (training) */
    const float *head_in;            /* the output layer's input in the last forward pass */
    float *normed, *bn_xhat;         /* (B, H) after batch norm, the normalised input (training) */
    float *bn_inv_std;               /* (H) */
    double *bn_sums;                 /* (2H) batch norm's statistics (training) */
    uint8_t *head_mask;              /* (B, max(H, D)): dropout on the input of the output layer */
    float *logits, *probs, *dlogits; /* (B, C) */
    uint32_t *emb_scratch;           /* embedding_scratch_size */
};

/* An encoder: a file of its own (encoder_cnn.c is the template) and a line in network.c's table. */
struct encoder_ops {
    const char *name; // as options and model files spell it: "cnn"
    // The layers of its tensors (the names' first part) that fine-tuning may copy, NULL-terminated.
    const char *const *layers;
    // Writes its configuration's fields (those not common to every network) into a model file's config j.
    void (*config_to_json)(const network_config *c, json_t *j);
    // Reads them back from j into c; NULL, or the key that is missing or out of range (core/bounds.h).
    const char *(*config_from_json)(const json_t *j, network_config *c);
    // The attention weights (B, *T) of the last forward pass, or NULL; NULL when the encoder has none.
    const float *(*attention)(const network *net, size_t *T);
    // Whether forward reads net->tokens (B, T) besides net->input: it cannot run from another network's embedding.
    bool reads_tokens;
    // Encoder-specific configuration checks (sizes in range, nothing overflowing).
    hftc_status (*check)(const network_config *c, size_t batch_capacity, size_t length_capacity);
    // Sets net->min_len and net->features from the configuration.
    void (*setup)(network *net);
    // Declares the encoder's tensors (between the embedding and the head).
    void (*declare)(network *net);
    // Carves the encoder's buffers for B documents of S rows; train: the backward ones too.
    void (*carve)(network *net, arena *a, size_t B, size_t S, bool train);
    // PyTorch's default initialisation of the encoder's layers.
    void (*init)(network *net, rng *r);
    // net->input (B, T, E) -> net->features_out; train: dropout from seed, keep what backward needs.
    void (*forward)(network *net, const compute_context *cc, size_t B, size_t T, bool train, uint64_t seed);
    // The encoder's first layer as a projection of each word without bias (word_cache): returns its
    // width N and, when proj is not NULL, writes proj (N, E). 0: no such layer, no word cache.
    size_t (*word_projection)(const network *net, float *proj);
    // Whether any encoder tensor is outside the frozen groups.
    bool (*trains)(const network *net, const bool *frozen);
    // Whether one document's forward pass uses several threads to advantage (network_threads_pay_alone); NULL:
    // it does not.
    bool (*threads_pay_alone)(const network *net);
    // net->dfeatures -> gradients of the encoder's tensors that train; zeroes and fills net->demb
    // when emb_trains.
    void (*backward)(network *net, const compute_context *cc, size_t B, size_t T, const bool *frozen, bool emb_trains);
};

/* The recurrent encoders' common fields of a model file's config: rnn_hidden, attention_dim, rnn_dropout. */
void recurrent_config_to_json(const network_config *c, json_t *j);
const char *recurrent_config_from_json(const json_t *j, network_config *c);

/* A bidirectional torch.nn.GRU's or LSTM's tensors, named as torch names them (prefix "gru" or "lstm"):
 * <prefix>.weight_ih_l0 (G, E), .weight_hh_l0 (G, H), .bias_ih_l0 and .bias_hh_l0 (G), direction 1's with the suffix
 * "_reverse"; and their initialisation as torch's, every value uniform(-1/sqrt(H), 1/sqrt(H)). */
void recurrent_declare(network *net, const char *prefix, tensor *w_ih[2], tensor *w_hh[2], tensor *b_ih[2],
                       tensor *b_hh[2], size_t G);
void recurrent_init(const network *net, tensor *const w_ih[2], tensor *const w_hh[2], tensor *const b_ih[2],
                    tensor *const b_hh[2], rng *r);

// The rows a document is laid out in at most (T' <= this): max(length_capacity, min_len). A batch has at most
// batch_capacity times as many positions, the most rows of a row-sparse table one batch touches.
static inline size_t network_max_len(const network *net)
{
    return net->length_capacity > net->min_len ? net->length_capacity : net->min_len;
}

// Whether t's gradient is wanted: its group is not frozen.
static inline bool tensor_trains(const tensor *t, const bool *frozen) { return !frozen || !frozen[t->group]; }

// t's gradient if it trains, else NULL.
static inline float *grad_if_trains(tensor *t, const bool *frozen) { return tensor_trains(t, frozen) ? t->grad : NULL; }

void init_uniform(tensor *t, rng *r, float bound);

/* network_caches.c: the word cache and the head's packed weights dropped (the values may change from here on); one
 * of the head's dense layers, w and b, with its weights packed (packed) while the caches are on. */
void network_drop_inference_caches(network *net);
void network_head_dense(const compute_context *cc, const network *net, float *out, const float *inp,
                        const packed_matrix *packed, const tensor *w, const tensor *b, size_t B, size_t I, size_t O);

#endif
