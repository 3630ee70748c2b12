/* test_redis_url: unit tests of the Redis URL parser (adapters/redis/redis_url.c):
 * valid URLs with every optional part, percent-decoding, IPv6, and invalid
 * URLs with their messages (which must never contain the password). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "redis_conn.h"

CHECK_STATE;

#define SECRET "s3cr3tPW"

static int streq(const char *a, const char *b)
{
    if (!a || !b)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Parses a URL that must be valid and checks every field. */
static void check_ok(const char *url, const char *host, int port, const char *user,
                     const char *password, int db, int tls)
{
    redis_endpoint e;
    char err[256];
    int rc = redis_url_parse(url, &e, err, sizeof err);
    CHECK(rc == 0);
    if (rc) {
        fprintf(stderr, "  %s: unexpected error: %s\n", url, err);
        return;
    }
    CHECK(streq(e.host, host));
    CHECK(e.port == port);
    CHECK(streq(e.user, user));
    CHECK(streq(e.password, password));
    CHECK(e.db == db);
    CHECK(e.tls == tls);
    CHECK(e.ca_file == NULL && e.sni == NULL);
    if (!streq(e.host, host) || e.port != port || e.db != db)
        fprintf(stderr, "  %s: got host=%s port=%d db=%d\n", url, e.host, e.port, e.db);
    redis_endpoint_free(&e);
    CHECK(e.host == NULL && e.password == NULL);
}

/* Parses a URL that must be rejected: the message must contain `want` and
 * never the secret; the endpoint is left empty. */
static void check_bad(const char *url, const char *want)
{
    redis_endpoint e;
    char err[256];
    int rc = redis_url_parse(url, &e, err, sizeof err);
    CHECK(rc == -1);
    CHECK(strstr(err, want) != NULL);
    CHECK(strstr(err, SECRET) == NULL);
    CHECK(e.host == NULL && e.user == NULL && e.password == NULL);
    if (rc != -1 || !strstr(err, want))
        fprintf(stderr, "  %s: rc=%d err='%s' (want '%s')\n", url, rc, err, want);
    if (rc == 0)
        redis_endpoint_free(&e);
}

static void test_valid(void)
{
    check_ok("redis://localhost", "localhost", 6379, NULL, NULL, 0, 0);
    check_ok("redis://127.0.0.1:7000", "127.0.0.1", 7000, NULL, NULL, 0, 0);
    check_ok("rediss://cache.example.com:6380/2", "cache.example.com", 6380, NULL, NULL, 2, 1);
    check_ok("REDISS://h", "h", 6379, NULL, NULL, 0, 1);
    check_ok("redis://h/", "h", 6379, NULL, NULL, 0, 0);
    check_ok("redis://h:1/0", "h", 1, NULL, NULL, 0, 0);
    check_ok("redis://h:65535/15", "h", 65535, NULL, NULL, 15, 0);
    check_ok("redis://my_host-1.internal", "my_host-1.internal", 6379, NULL, NULL, 0, 0);
    check_ok("redis://h/2147483647", "h", 6379, NULL, NULL, 2147483647, 0);
}

static void test_credentials(void)
{
    check_ok("redis://:pw@h", "h", 6379, NULL, "pw", 0, 0);
    check_ok("redis://alice:pw@h:6380/3", "h", 6380, "alice", "pw", 3, 0);
    check_ok("redis://a%40b:p%3Aw%2F%25%20x@h", "h", 6379, "a@b", "p:w/% x", 0, 0);
    check_ok("redis://u:p%c3%A9@h", "h", 6379, "u", "p\xc3\xa9", 0, 0);
    /* the last '@' ends the credentials; ':' inside the password is kept */
    check_ok("redis://:a@b:c@h", "h", 6379, NULL, "a@b:c", 0, 0);
    check_ok("redis://u::@h", "h", 6379, "u", ":", 0, 0);
}

static void test_ipv6(void)
{
    check_ok("redis://[::1]", "::1", 6379, NULL, NULL, 0, 0);
    check_ok("redis://[::1]:7001/4", "::1", 7001, NULL, NULL, 4, 0);
    check_ok("rediss://:pw@[2001:db8::5]:6380", "2001:db8::5", 6380, NULL, "pw", 0, 1);
}

static void test_invalid(void)
{
    check_bad("", "redis://");
    check_bad("http://h", "redis://");
    check_bad("redis:/h", "redis://");
    check_bad("redis://", "no host");
    check_bad("redis:///0", "no host");
    check_bad("redis://:" SECRET "@", "no host");
    check_bad("redis://:" SECRET "@:6379", "no host");
    check_bad("redis://h:", "empty port");
    check_bad("redis://h:0", "1..65535");
    check_bad("redis://h:65536", "1..65535");
    check_bad("redis://h:-1", "1..65535");
    check_bad("redis://h:12ab", "1..65535");
    check_bad("redis://h:99999999999999", "1..65535");
    check_bad("redis://h/x", "database");
    check_bad("redis://h/-1", "database");
    check_bad("redis://h/1/2", "database");
    check_bad("redis://h/2147483648", "database");
    check_bad("redis://::1", "brackets");
    check_bad("redis://[::1", "closing ']'");
    check_bad("redis://[nothex]:1", "IPv6");
    check_bad("redis://[]:1", "IPv6");
    check_bad("redis://[::1]x", "after ']'");
    check_bad("redis://[::1]:0", "1..65535");
    check_bad("redis://h?db=1", "query");
    check_bad("redis://h#x", "query");
    check_bad("redis://ho st", "spaces");
    check_bad("redis://h\xc3\xa9", "non-ASCII");
    check_bad("redis://h$t", "not a valid host");
    check_bad("redis://" SECRET "@h", "[user]:password");
    check_bad("redis://user:@h", "empty password");
    check_bad("redis://:%zz" SECRET "@h", "percent-escape");
    check_bad("redis://:" SECRET "%4@h", "percent-escape");
    check_bad("redis://:" SECRET "%00@h", "percent-escape");
    check_bad("redis://%g0:" SECRET "@h", "percent-escape");
    check_bad("redis://:" SECRET "@h:70000", "1..65535");
    check_bad("redis://:" SECRET "@bad$host", "not a valid host");
    check_bad("redis://u:" SECRET "/x@h", "%2F");
    check_bad("redis://u:x/" SECRET "@h", "%2F");
}

static void test_edge_arguments(void)
{
    redis_endpoint e;
    char err[8];
    CHECK(redis_url_parse(NULL, &e, err, sizeof err) == -1);
    CHECK(redis_url_parse("redis://h", NULL, err, sizeof err) == -1);
    /* a short or absent error buffer is fine */
    CHECK(redis_url_parse("nope", &e, err, sizeof err) == -1 && strlen(err) == sizeof err - 1);
    CHECK(redis_url_parse("nope", &e, NULL, 0) == -1);
    redis_endpoint_free(NULL);
    redis_endpoint_free(&e); /* an emptied endpoint frees again safely */
}

int main(void)
{
    test_valid();
    test_credentials();
    test_ipv6();
    test_invalid();
    test_edge_arguments();
    return CHECK_DONE("test_redis_url");
}
