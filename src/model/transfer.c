/* Transfer between networks: the listed layers of one start from another's trained values. */
#include "model/transfer.h"

#include <string.h>

bool transfer_layers_parse(const char *list, uint64_t *layers)
{
    *layers = 0;
    for (const char *item = list; *item;) {
        size_t n = strcspn(item, ",");
        int index = n ? network_layer_index(item, n) : -2;
        if (index == -1 || index >= 64)
            return false;
        *layers |= index >= 0 ? (uint64_t)1 << index : 0;
        item += n + (item[n] == ',');
    }
    return true;
}

bool transfer_layer_listed(const char *tensor_name, uint64_t layers)
{
    int index = network_layer_index(tensor_name, strcspn(tensor_name, "."));
    return index >= 0 && index < 64 && (layers >> index & 1);
}

size_t transfer_layers(network *dst, network *src, uint64_t layers)
{
    param_set *to = network_params(dst), *from = network_params(src);
    size_t copied = 0;
    for (size_t i = 0; i < to->n_tensors; i++) {
        tensor *t = &to->tensors[i];
        const tensor *s = params_find(from, t->name);
        if (!s || !transfer_layer_listed(t->name, layers) || s->size != t->size)
            continue;
        memcpy(t->value, s->value, t->size * sizeof(float));
        copied++;
    }
    return copied;
}
