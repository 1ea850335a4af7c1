/* A network: embedding -> encoder -> head, over a batch of padded token-id sequences. Encoders:
 * cnn (Kim's CNN, XML-CNN with dynamic pooling; encoder_cnn.c), bigru-att (BiGRU + attention, max
 * and mean pooling; encoder_bigru.c), onlstm (ordered-neurons LSTM, last state or max pooling;
 * encoder_onlstm.c), ngram (fastText: the mean of the words' and the hashed bigrams' vectors;
 * encoder_ngram.c) and bilstm (bidirectional LSTM, final states, max or mean pooling; encoder_bilstm.c). The head: [fc1
 * -> ReLU or tanh] -> dropout -> [batch norm] -> out. All memory (parameters, gradients, moments, activations) is sized
 * at creation for batch_capacity x length_capacity; training and inference allocate nothing. An inference-only network
 * holds its parameter values and forward activations only. */
#ifndef HFTC_MODEL_NETWORK_H
#define HFTC_MODEL_NETWORK_H

#include "hftc.h"

#include "core/arena.h"
#include "core/compute.h"
#include "core/rng.h"
#include "nn/params.h"

#include <jansson.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { ENCODER_CNN, ENCODER_BIGRU_ATT, ENCODER_ONLSTM, ENCODER_NGRAM, ENCODER_BILSTM } encoder_kind;
typedef enum { ACTIVATION_RELU, ACTIVATION_TANH } activation_kind;
typedef enum { RNN_POOL_LAST, RNN_POOL_MAX, RNN_POOL_MEAN } rnn_pool_kind;
typedef enum { HEAD_SIGMOID, HEAD_SOFTMAX } head_kind;
/* NETWORK_INFERENCE_SHARED: an inference network created without activations of its own, to be given a
 * shared arena by network_share_activations before it runs (network_create only). */
typedef enum { NETWORK_INFERENCE, NETWORK_TRAINING, NETWORK_INFERENCE_SHARED } network_mode;

#define NETWORK_MAX_WINDOWS HFTC_MAX_WINDOWS
#define NETWORK_MAX_CHUNKS 1024
#define NETWORK_MAX_STRIDE 16
#define NETWORK_MAX_BUCKETS 100000000

typedef struct {
    encoder_kind encoder;
    head_kind head;
    size_t vocab_size; /* V, including <pad> (id 0) and <unk> (id 1) */
    size_t embed_dim;  /* E */
    /* cnn */
    size_t n_windows; /* window sizes, e.g. 2, 3, 4 */
    size_t windows[NETWORK_MAX_WINDOWS];
    size_t n_filters;   /* F feature maps per window */
    size_t pool_chunks; /* p: each feature map is max-pooled over p chunks (XML-CNN); 0 or 1 = 1-max (Kim) */
    size_t conv_stride; /* windows start every conv_stride words (XML-CNN(2): 2); 0 or 1 = every word */
    /* bigru-att, onlstm, bilstm */
    size_t rnn_hidden;      /* GRU and LSTM units per direction; ON-LSTM units */
    size_t attention_dim;   /* A of the word attention; 0 = 2 * rnn_hidden */
    float rnn_dropout;      /* on the GRU outputs; on the ON-LSTM's and BiLSTM's pooled state */
    size_t onlstm_chunk;    /* units per master-gate value (divides rnn_hidden); 0 or 1 = one per unit */
    rnn_pool_kind rnn_pool; /* onlstm, bilstm: the final state, or max or mean over the words (rnn_pool.h) */
    /* ngram */
    size_t buckets; /* rows of the table the word bigrams hash to (fastText's -bucket) */
    /* head */
    size_t hidden;                     /* units of the hidden FC layer (XML-CNN's bottleneck, the MLP); 0 = none */
    activation_kind hidden_activation; /* of the hidden layer */
    bool hidden_batchnorm;             /* batch normalisation after the hidden layer's dropout */
    size_t n_classes;                  /* C */
    float embed_dropout;               /* after the embedding */
    float hidden_dropout;              /* after the hidden FC layer (on the pooled features when hidden = 0) */
    /* The embedding table is another network's (network_borrow_embedding): not a parameter of this
     * one, never trained (node classifiers below the top level of HTrans, which freezes it there). */
    bool borrowed_embedding;
} network_config;

/* The choices' names, as the options and model files spell them: parse returns false for an unknown one.
 * Encoders are a registry (network.c's table; encoder_kind is the place in it, the enumeration names the
 * built-in ones). */
bool encoder_parse(const char *name, encoder_kind *out);
const char *encoder_name(encoder_kind kind);
/* The encoders' names, comma-separated, into buf; returns the length written. */
size_t encoder_names_list(char *buf, size_t size);
/* The place of layer[0..len) among the layers of the network's own (embedding, fc1, bn, out) and of every
 * encoder, the layers fine-tuning may copy; -1 for a name no network has. */
int network_layer_index(const char *layer, size_t len);
/* Those layers' names, comma-separated, into buf; returns the length written. */
size_t encoder_layers_list(char *buf, size_t size);
/* A model file's config fields that belong to c's encoder: written into j, read back from j (NULL, or the
 * key that is missing or out of range). */
void encoder_config_to_json(const network_config *c, json_t *j);
const char *encoder_config_from_json(const json_t *j, network_config *c);
/* Whether c's encoder has attention weights (network_attention, --explain). */
bool encoder_has_attention(const network_config *c);
bool head_parse(const char *name, head_kind *out);
const char *head_name(head_kind kind);
bool activation_parse(const char *name, activation_kind *out);
const char *activation_name(activation_kind kind);
bool rnn_pool_parse(const char *name, rnn_pool_kind *out);
const char *rnn_pool_name(rnn_pool_kind kind);

typedef struct network network;

hftc_status network_create(network **out, const network_config *cfg, size_t batch_capacity, size_t length_capacity,
                           network_mode mode);
/* Switching to training allocates zeroed gradients and Adam moments and the backward buffers;
 * switching to inference frees them. Parameter values are kept either way. */
hftc_status network_set_mode(network *net, network_mode mode);
void network_free(network *net);
/* Networks that never run at the same time (a model's node classifiers, in inference mode) can share
 * one activation arena of at least network_activation_bytes of each: after this call net computes in
 * shared, which must outlive it (or its next network_set_mode, which gives it its own again). */
size_t network_activation_bytes(const network *net);
hftc_status network_share_activations(network *net, arena *shared);
/* Inference through network_predict reads each word's projection by the encoder's first layer from a
 * word cache (nn/word_cache.h: computed when a batch first uses the word, from the values the
 * parameters have then) when the whole table, vocab_size x N floats (N: 9 F for Kim's windows 2, 3,
 * 4, 6 H for the BiGRU, the ON-LSTM's gate rows), is at most max_bytes; only the rows of words seen
 * are allocated. Off (and OK) for 0, a training network, a borrowed embedding not given its table or an encoder
 * without a first-layer projection (ngram, N = 0: its words' part is their embedding itself); network_set_mode and
 * network_borrow_embedding turn it off. The parameter values must not change while it is on (set it again after
 * changing them). */
hftc_status network_set_word_cache(network *net, size_t max_bytes);
bool network_has_word_cache(const network *net);
/* The bytes of the whole table a word cache of net reserves; 0 where it cannot have one. */
size_t network_word_cache_bytes(const network *net);
/* A network created with cfg.borrowed_embedding reads its embedding from table (V, E), owned by the
 * caller and unchanged while the network lives. */
void network_borrow_embedding(network *net, const float *table);
const network_config *network_get_config(const network *net);
param_set *network_params(network *net);
/* The (V, E) embedding table the network reads (its own or the borrowed one). */
const float *network_embedding(const network *net);
/* PyTorch default initialisation for conv and dense layers; embedding uniform(-0.25, 0.25),
 * row 0 (<pad>) zero. */
void network_init(network *net, rng *r);

/* cc: the threads the passes below run on (the caller's: the trainer's, or the model's for prediction).
 * tokens (B, T) row-major, padded with 0 past lengths[b]; 1 <= T <= length_capacity, B <= batch_capacity.
 * Positions past a document's length never change its result.
 * targets (B, C): 0/1 for the sigmoid head (multi-label), a one-hot row for softmax.
 * pos_weight (C) or NULL: BCE weight of positive targets.
 * Training pass: forward with dropout drawn from dropout_seed (one stream per document, so
 * results do not depend on the thread count), loss (mean over B x C for sigmoid, over B for
 * softmax, as PyTorch's defaults), backward adding into the gradients of tensors whose group
 * is not frozen (frozen[group] true); adds this batch's rows to touched_rows of the row-sparse tensors (the
 * embedding, ngram's buckets), whose compact gradients hold one batch's rows (nn/params.h). Returns the loss.
 * Ids >= vocab_size are read as <unk> (1). T may exceed length_capacity up to the largest window. B or T out of
 * range, a network in inference mode, or a batch whose rows might not fit in a row-sparse gradient beside those of
 * earlier batches (a table of more rows than batch_capacity x length_capacity, its gradient not consumed since):
 * returns NaN, changes nothing and sets the error message (hftc_last_error).
 * A data-parallel share of a batch (cc->share, core/compute.h): the documents [first, first + B) of the batch's total,
 * the loss and gradients their part of the whole batch's (a mean over the total), the caller summing the shares'
 * gradients across the processes; B = 0 (an empty share) computes nothing but takes part in batch norm's sums. */
float network_train_batch(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths,
                          size_t B, size_t T, const float *targets, const float *pos_weight, const bool *frozen,
                          uint64_t dropout_seed);
/* Inference (no dropout): probabilities (B, C) into probs. If targets is not NULL, returns the
 * loss as network_train_batch would compute it without dropout; else 0. */
float network_predict(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths, size_t B,
                      size_t T, const float *targets, const float *pos_weight, float *probs);
/* The embedding lookup of network_predict alone, so that networks reading the same table share it:
 * sets *embedded to the (B, T', E) batch and *clamped to its lengths, both inside net's activations,
 * and returns T' (0 on a bad batch, with the error message set). */
size_t network_embed_batch(network *net, const compute_context *cc, const uint32_t *tokens, const size_t *lengths,
                           size_t B, size_t T, const float **embedded, const size_t **clamped);
/* The word attention of the last forward pass of a bigru-att network: (B, *T) weights, each document's
 * summing to 1 over its positions (0 past its length); NULL for other encoders. */
const float *network_attention(const network *net, size_t *T);
/* Whether the encoder reads the batch's token ids besides their embedding (ngram: its bigrams): such a network
 * predicts from the tokens (network_predict), never from another network's embedded batch. */
bool network_reads_tokens(const network *net);
/* Whether predicting one document runs faster on several threads than on one: an ON-LSTM whose recurrent step reads
 * enough weights to split (onlstm_splits_steps). A model predicts a handful of documents on one thread otherwise. */
bool network_threads_pay_alone(const network *net);
/* network_predict from an embedded batch (B, T, E) with lengths (B), as network_embed_batch made it
 * (with a network reading the same table); embedded may lie in this network's shared activations. Refused
 * (INVALID_ARGUMENT) for a network that reads the token ids. */
hftc_status network_predict_embedded(network *net, const compute_context *cc, const float *embedded,
                                     const size_t *lengths, size_t B, size_t T, float *probs);

#endif
