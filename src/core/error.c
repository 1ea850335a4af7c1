/* Thread-local error messages behind hftc_last_error(). */
#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char error_message[1024];

const char *hftc_last_error(void) { return error_message; }

void error_clear(void) { error_message[0] = '\0'; }

hftc_status error_set(hftc_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    return status;
}

hftc_status error_wrap(hftc_status status, const char *fmt, ...)
{
    char message[sizeof error_message];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    /* message + ": " + the previous message, cut to fit */
    size_t used = strlen(message), previous = strlen(error_message);
    const char separator[] = ": ";
    for (size_t i = 0; i < 2 && used + 1 < sizeof message; i++)
        message[used++] = separator[i];
    size_t room = sizeof message - 1 - used;
    size_t n = previous < room ? previous : room;
    memcpy(message + used, error_message, n);
    message[used + n] = '\0';
    memcpy(error_message, message, used + n + 1);
    return status;
}
