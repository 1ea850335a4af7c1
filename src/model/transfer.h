/* Fine-tuning transfer (HFT-CNN, HTrans): a new network's chosen layers start from another
 * network's trained values; the others keep their fresh initialisation. Layers are chosen as a set of
 * network_layer_index places (bit i: layer i). */
#ifndef HFTC_MODEL_TRANSFER_H
#define HFTC_MODEL_TRANSFER_H

#include "model/network.h"

#include <stdint.h>

/* The set of the layers in a comma-separated list of layer names ("embedding,conv"; empty items are
 * skipped); false when a name is no network's layer. */
bool transfer_layers_parse(const char *list, uint64_t *layers);
/* Whether the tensor's layer (its name up to the first dot: "embedding", "conv", "fc1", "out") is in
 * layers. */
bool transfer_layer_listed(const char *tensor_name, uint64_t layers);
/* Copies into dst the values of src's tensors whose layer is in layers and whose name and size match;
 * returns how many tensors were copied. */
size_t transfer_layers(network *dst, network *src, uint64_t layers);

#endif
