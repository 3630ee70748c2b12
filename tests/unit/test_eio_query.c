/* test_eio_query: unit tests of the Engine.IO query parser (protocol/eio_query.c),
 * with engine.io's reading of each case (Node's querystring). */
#include <string.h>

#include "check.h"
#include "eio_query.h"

CHECK_STATE;

static eio_query parse(const char *q)
{
    eio_query out;
    eio_query_parse(q, strlen(q), &out);
    return out;
}

static void test_common(void)
{
    eio_query q = parse("EIO=4&transport=polling&t=OabC12x");
    CHECK(q.eio == 4 && q.transport == EIO_QT_POLLING && !q.sid_present && q.sid[0] == 0);
    q = parse("EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAA_");
    CHECK(q.transport == EIO_QT_WEBSOCKET && q.sid_present && strcmp(q.sid, "AAAAAAAAAAAAAAAAAAA_") == 0);
    q = parse("");
    CHECK(q.eio == -1 && q.transport == EIO_QT_NONE && !q.sid_present);
    q = parse("transport=%70olling&EIO=%34"); /* percent-decoded, as Node does */
    CHECK(q.eio == 4 && q.transport == EIO_QT_POLLING);
}

static void test_refusals(void)
{
    CHECK(parse("EIO=abc").eio == -1);
    CHECK(parse("EIO=").eio == -1);
    CHECK(parse("EIO=3").eio == 3);
    CHECK(parse("EIO=99999").eio == -1);
    CHECK(parse("transport=abc").transport == EIO_QT_UNKNOWN);
    CHECK(parse("transport=").transport == EIO_QT_UNKNOWN);
    CHECK(parse("transport").transport == EIO_QT_UNKNOWN);
    /* a sid of the wrong length or alphabet names no session, but is a sid */
    eio_query q = parse("sid=abc");
    CHECK(q.sid_present && q.sid[0] == 0);
    char longq[300] = "sid=";
    memset(longq + 4, 'a', 200);
    q = parse(longq);
    CHECK(q.sid_present && q.sid[0] == 0);
    q = parse("sid=AAAAAAAAAAAAAAAAAAA%21");
    CHECK(q.sid_present && q.sid[0] == 0);
    q = parse("sid=");
    CHECK(q.sid_present && q.sid[0] == 0);
    /* twice: Node reads an array, which engine.io refuses */
    CHECK(parse("EIO=4&EIO=4").eio == -1);
    CHECK(parse("transport=polling&transport=polling").transport == EIO_QT_UNKNOWN);
    q = parse("sid=AAAAAAAAAAAAAAAAAAAA&sid=AAAAAAAAAAAAAAAAAAAA");
    CHECK(q.sid_present && q.sid[0] == 0);
    /* other parameters and stray separators are ignored */
    q = parse("&&j=1&b64=1&&EIO=4&");
    CHECK(q.eio == 4);
}

/* v3 clients: b64 (non-empty) and j (JSONP, refused) */
static void test_v3_flags(void)
{
    eio_query q = parse("EIO=3&transport=polling&b64=1");
    CHECK(q.eio == 3 && q.b64 == 1 && q.jsonp == 0);
    q = parse("EIO=3&b64=");
    CHECK(q.b64 == 0);
    q = parse("EIO=3&j=0");
    CHECK(q.jsonp == 1 && q.b64 == 0);
    q = parse("EIO=4&transport=polling");
    CHECK(q.b64 == 0 && q.jsonp == 0);
}

int main(void)
{
    test_common();
    test_refusals();
    test_v3_flags();
    return CHECK_DONE("test_eio_query");
}
