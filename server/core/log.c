#include "log.h"

#include <stdio.h>
#include <string.h>
#include "wall_clock.h"
#include <stdlib.h>
#include <time.h>

static log_level threshold = LOG_INFO; /* process config: written once at start-up */

void log_set_level(const char *name)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0)
            threshold = (log_level)i;
}

void log_write(log_level level, const char *msg, const char *fields_json)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    if (level < threshold)
        return;
    char when[32];
    wall_iso(wall_ms(), when);
    fprintf(stdout, "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"%s%s}\n", when, names[level],
            msg, fields_json ? "," : "", fields_json ? fields_json : "");
    fflush(stdout);
}

void log_json(log_level level, const char *msg, json_t *fields)
{
    char *text = level >= threshold && fields ? json_dumps(fields, JSON_COMPACT) : NULL;
    json_decref(fields);
    if (!text) {
        log_write(level, msg, NULL);
        return;
    }
    size_t n = strlen(text);
    text[n - 1] = '\0'; /* members only: drop the braces */
    log_write(level, msg, n > 2 ? text + 1 : NULL);
    free(text);
}

void log_lws_line(int lws_level, const char *line)
{
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        n--;
    /* LLL_ERR is 1, LLL_WARN 2; everything else lws prints is informational */
    log_level level = lws_level == 1 ? LOG_ERROR : lws_level == 2 ? LOG_WARN : LOG_INFO;
    log_json(level, "libwebsockets", json_pack("{ss%}", "line", line, n));
}
