/* cli_part_record: which entry of a model's training record trained a part (hftc info, hftc report). */
#include "commands.h"

#include <jansson.h>
#include <string.h>

const json_t *cli_part_record(const json_t *training, const char *name, size_t k)
{
    const json_t *history = json_object_get(training, "history"), *parts = json_object_get(training, "parts"), *p;
    size_t j;
    for (size_t i = json_array_size(history); i-- > 0;)
        json_array_foreach(json_object_get(json_array_get(history, i), "parts"), j, p)
        {
            const char *part = json_string_value(json_object_get(p, "part"));
            if (part && !strcmp(part, name))
                return p;
        }
    json_array_foreach(parts, j, p)
    {
        const char *part = json_string_value(json_object_get(p, "part"));
        if (part && !strcmp(part, name))
            return p;
    }
    p = json_array_get(parts, k);
    return p && !json_object_get(p, "part") ? p : NULL;
}
