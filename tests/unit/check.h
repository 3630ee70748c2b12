/* check.h: the unit tests' assertion macros. A failed CHECK prints where and
 * what, counts, and lets the test go on; CHECK_DONE() prints the one-line
 * summary and gives main()'s exit status. Each test file defines CHECK_STATE
 * once (the counters are per test executable, never shared). */
#ifndef SIO_TEST_CHECK_H
#define SIO_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

typedef struct check_counts {
    int run;
    int failed;
} check_counts;

#define CHECK_STATE static check_counts check_counts_

#define CHECK(cond)                                                                  \
    do {                                                                             \
        check_counts_.run++;                                                         \
        if (!(cond)) {                                                               \
            check_counts_.failed++;                                                  \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                            \
    } while (0)

/* Compares a (pointer, length) byte range with a C string literal or buffer. */
#define CHECK_MEM(ptr, len, expect)                                                  \
    do {                                                                             \
        const void *cm_p_ = (ptr);                                                   \
        size_t cm_len_ = (len);                                                      \
        const char *cm_e_ = (expect);                                                \
        check_counts_.run++;                                                         \
        if (cm_len_ != strlen(cm_e_) || (cm_len_ && memcmp(cm_p_, cm_e_, cm_len_))) {\
            check_counts_.failed++;                                                  \
            fprintf(stderr, "%s:%d: CHECK_MEM failed: got \"%.*s\", want \"%s\"\n", \
                    __FILE__, __LINE__, (int)cm_len_, (const char *)cm_p_, cm_e_);   \
        }                                                                            \
    } while (0)

#define CHECK_DONE(name)                                                             \
    (printf("%s: %d checks, %d failed\n", (name), check_counts_.run,                 \
            check_counts_.failed),                                                   \
     check_counts_.failed ? 1 : 0)

#endif
