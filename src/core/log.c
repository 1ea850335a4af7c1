/* Default log sink (stderr) and the settable callback. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

static void log_to_stderr(hftc_log_level level, const char *message, void *user)
{
    (void)user;
    static const char *const prefix[] = {"error: ", "warning: ", "", ""};
    fprintf(stderr, "%s%s\n", prefix[level], message);
}

static hftc_log_fn log_fn = log_to_stderr;
static hftc_log_level log_max_level = HFTC_LOG_WARN;
static void *log_user;

void hftc_set_log(hftc_log_fn fn, hftc_log_level max_level, void *user)
{
    log_fn = fn;
    log_max_level = max_level;
    log_user = user;
}

bool log_enabled(hftc_log_level level) { return log_fn && level <= log_max_level; }

void log_message(hftc_log_level level, const char *fmt, ...)
{
    if (!log_enabled(level))
        return;
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_fn(level, buf, log_user);
}
