/* Transfer between networks: the listed layers of one start from another's trained values. */
#include "model/transfer.h"

#include <string.h>

bool transfer_layer_listed(const char *tensor_name, const char *list)
{
    size_t len = strcspn(tensor_name, ".");
    for (const char *item = list; *item;) {
        size_t n = strcspn(item, ",");
        if (n == len && !strncmp(item, tensor_name, len))
            return true;
        item += n + (item[n] == ',');
    }
    return false;
}

size_t transfer_layers(network *dst, network *src, const char *list)
{
    param_set *to = network_params(dst), *from = network_params(src);
    size_t copied = 0;
    for (size_t i = 0; i < to->n_tensors; i++) {
        tensor *t = &to->tensors[i];
        const tensor *s = params_find(from, t->name);
        if (!s || !transfer_layer_listed(t->name, list) || s->size != t->size)
            continue;
        memcpy(t->value, s->value, t->size * sizeof(float));
        copied++;
    }
    return copied;
}
