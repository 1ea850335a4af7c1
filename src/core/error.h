/* Error reporting: a status code plus a thread-local message read by hftc_last_error(). */
#ifndef HFTC_CORE_ERROR_H
#define HFTC_CORE_ERROR_H

#include "hftc.h"

/* Records the message for this thread and returns status, so callers write
 *   return error_set(HFTC_STATUS_FORMAT, "%s:%zu: missing tab", path, line); */
hftc_status error_set(hftc_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prepends "context: " to the current message (for adding a file name at a higher level). */
hftc_status error_wrap(hftc_status status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void error_clear(void);

/* Propagates a non-OK status. */
#define TRY(expr)                                                                                                      \
    do {                                                                                                               \
        hftc_status try_status_ = (expr);                                                                              \
        if (try_status_ != HFTC_STATUS_OK)                                                                             \
            return try_status_;                                                                                        \
    } while (0)

#endif
