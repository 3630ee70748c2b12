/* log: one JSON object per line on stdout (CloudWatch Logs picks each up as an
 * event), filtered by LOG_LEVEL. The level is set once at start-up from the
 * process config; log_write() is safe from both threads (stdio locks). */
#ifndef SIO_LOG_H
#define SIO_LOG_H

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;

/* "debug" | "info" | "warn" | "error"; unknown names mean info. */
void log_set_level(const char *name);
/* `fields_json`: NULL, or extra members as JSON text without braces, e.g.
 * "\"port\":3000". `msg` must not need escaping (a fixed string). */
void log_write(log_level level, const char *msg, const char *fields_json);

/* Same, with the extra members taken from a JSON object (steals the reference;
 * values are escaped by jansson). */
#include <jansson.h>
void log_json(log_level level, const char *msg, json_t *fields);

/* An lws_set_log_level() emit function: libwebsockets' lines as JSON log lines. */
void log_lws_line(int lws_level, const char *line);

#endif
