/* Fine-tuning transfer (HFT-CNN, HTrans): a new network's chosen layers start from another
 * network's trained values; the others keep their fresh initialisation. */
#ifndef HFTC_MODEL_TRANSFER_H
#define HFTC_MODEL_TRANSFER_H

#include "model/network.h"

/* Whether the tensor's layer (its name up to the first dot: "embedding", "conv", "fc1", "out") is
 * in the comma-separated list. */
bool transfer_layer_listed(const char *tensor_name, const char *list);
/* Copies into dst the values of src's tensors whose layer is listed and whose name and size match;
 * returns how many tensors were copied. */
size_t transfer_layers(network *dst, network *src, const char *list);

#endif
