/* Library logging: every message goes through the callback set by hftc_set_log(). */
#ifndef HFTC_CORE_LOG_H
#define HFTC_CORE_LOG_H

#include "hftc.h"

#include <stdbool.h>

void log_message(hftc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool log_enabled(hftc_log_level level);

#define log_error(...) log_message(HFTC_LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_message(HFTC_LOG_WARN, __VA_ARGS__)
#define log_info(...) log_message(HFTC_LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_message(HFTC_LOG_DEBUG, __VA_ARGS__)

#endif
