/* bench_report: turns the aggregated counters into the verdict (expected
 * deliveries = for every room, broadcasts confirmed x its subscribers; losses =
 * expected - distinct seqs seen) and prints it as a table and as JSON. */
#include "bench_report.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

void report_compute(bench_result *r)
{
    uint32_t rooms = r->cfg->rooms;
    r->subscriptions = r->expected = r->unique = r->losses = r->extra = 0;
    r->rooms_lossy = 0;
    for (uint32_t i = 0; i < rooms && r->room_subs; i++) {
        uint64_t subs = r->room_subs[i], got = r->room_unique[i];
        uint64_t want = r->published ? r->published[i] * subs : 0;
        r->subscriptions += subs;
        r->unique += got;
        if (!r->published)
            continue;
        r->expected += want;
        if (got < want) {
            r->losses += want - got;
            r->rooms_lossy++;
        } else {
            r->extra += got - want;
        }
    }
}

static double secs(uint64_t from_us, uint64_t to_us)
{
    return to_us > from_us ? (double)(to_us - from_us) / 1e6 : 0;
}

static double connect_rate(const bench_result *r)
{
    double s = secs(r->c.ramp_start_us, r->c.ramp_end_us);
    return s > 0 ? (double)r->c.ready / s : 0;
}

static double rx_rate(const bench_result *r)
{
    double s = secs(r->c.first_rx_us, r->c.last_rx_us);
    return s > 0 ? (double)r->c.deliveries / s : 0;
}

/* Deliveries per CPU-second of the workers after their ramp-up. */
static double rx_per_cpu(const bench_result *r)
{
    uint64_t cpu = r->c.cpu_us > r->c.cpu_ready_us ? r->c.cpu_us - r->c.cpu_ready_us : 0;
    return cpu ? (double)r->c.deliveries / ((double)cpu / 1e6) : 0;
}

static uint64_t errors_total(const bench_counters *c)
{
    return c->connect_errors + c->refused + c->nsp_errors + c->subscribe_errors + c->timeouts +
           c->protocol_errors + c->closes;
}

void report_print_table(const bench_result *r, FILE *out)
{
    const bench_counters *c = &r->c;
    const bench_config *cfg = r->cfg;
    fprintf(out, "\nsio-bench: %u connections (%s%s) over %u worker(s), %u rooms\n", cfg->connections,
            cfg->plain_path ? "plain websocket " : cfg->transport == TRANSPORT_POLLING ? "polling" : "websocket",
            cfg->plain_path ? cfg->plain_path : "", r->workers, cfg->rooms);
    fprintf(out, "  connections   ready %llu / %llu   %.0f conn/s during ramp-up (%.2f s)\n",
            (unsigned long long)c->ready, (unsigned long long)cfg->connections, connect_rate(r),
            secs(c->ramp_start_us, c->ramp_end_us));
    char status[32] = "";
    if (c->last_status)
        snprintf(status, sizeof(status), " (last: HTTP %u)", c->last_status);
    fprintf(out, "  errors        connect %llu  refused %llu%s  namespace %llu  subscribe %llu  "
                 "timeout %llu  protocol %llu  closed %llu\n",
            (unsigned long long)c->connect_errors, (unsigned long long)c->refused, status,
            (unsigned long long)c->nsp_errors, (unsigned long long)c->subscribe_errors,
            (unsigned long long)c->timeouts, (unsigned long long)c->protocol_errors,
            (unsigned long long)c->closes);
    for (uint32_t i = 0; i < c->errs.n; i++)
        fprintf(out, "    %8llu x %s\n", (unsigned long long)c->errs.e[i].count, c->errs.e[i].msg);
    if (r->pub) {
        const pub_stats *p = r->pub;
        double s = secs(p->start_us, p->end_us);
        fprintf(out, "  published     %llu of %llu planned (%.0f/s), %llu confirmed, %llu failed, "
                     "max backlog %llu\n",
                (unsigned long long)p->issued, (unsigned long long)p->planned,
                s > 0 ? (double)(p->issued - 1) / s : 0, (unsigned long long)p->ok,
                (unsigned long long)p->failed, (unsigned long long)p->max_backlog);
        for (uint32_t i = 0; i < p->errs.n; i++)
            fprintf(out, "    %8llu x %s\n", (unsigned long long)p->errs.e[i].count, p->errs.e[i].msg);
    }
    fprintf(out, "  deliveries    %llu (%.0f/s)   subscriptions %llu\n",
            (unsigned long long)c->deliveries, rx_rate(r), (unsigned long long)r->subscriptions);
    if (r->published)
        fprintf(out, "  expected      %llu   losses %llu (%u rooms)   extra %llu\n",
                (unsigned long long)r->expected, (unsigned long long)r->losses, r->rooms_lossy,
                (unsigned long long)r->extra);
    fprintf(out, "  integrity     duplicates %llu   out-of-order %llu   seq gaps %llu   stray %llu\n",
            (unsigned long long)c->duplicates, (unsigned long long)c->late,
            (unsigned long long)c->gaps, (unsigned long long)c->stray);
    const bench_hist *h = &r->lat;
    fprintf(out, "  latency (ms)  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%llu samples)\n",
            hist_percentile(h, 50) / 1e3, hist_percentile(h, 90) / 1e3, hist_percentile(h, 99) / 1e3,
            hist_percentile(h, 99.9) / 1e3, h->max / 1e3, (unsigned long long)h->count);
    fprintf(out, "  bench cost    %.2f CPU-s in the workers (%.2f after the ramp-up): "
                 "%.0f deliveries per CPU-second\n",
            (double)c->cpu_us / 1e6, (double)(c->cpu_us - c->cpu_ready_us) / 1e6, rx_per_cpu(r));
}

static json_t *errtab_json(const bench_errtab *t)
{
    json_t *a = json_array();
    for (uint32_t i = 0; i < t->n; i++)
        json_array_append_new(a, json_pack("{sssI}", "message", t->e[i].msg, "count",
                                           (json_int_t)t->e[i].count));
    return a;
}

void report_print_json(const bench_result *r, FILE *out)
{
    const bench_counters *c = &r->c;
    const bench_config *cfg = r->cfg;
    const bench_hist *h = &r->lat;
    json_t *j = json_object();
    json_object_set_new(j, "protocol", json_string(cfg->plain_path ? "plain" : "socket.io"));
    json_object_set_new(j, "connections", json_pack("{sIsIsIsIsIsfsf}",
        "target", (json_int_t)cfg->connections, "attempted", (json_int_t)c->attempted,
        "ready", (json_int_t)c->ready, "joined", (json_int_t)c->joined,
        "pings", (json_int_t)c->pings,
        "rate_per_s", connect_rate(r), "ramp_s", secs(c->ramp_start_us, c->ramp_end_us)));
    json_object_set_new(j, "errors", json_pack("{sIsIsIsIsIsIsIsIso}",
        "total", (json_int_t)errors_total(c), "connect", (json_int_t)c->connect_errors,
        "refused", (json_int_t)c->refused, "namespace", (json_int_t)c->nsp_errors,
        "subscribe", (json_int_t)c->subscribe_errors, "timeout", (json_int_t)c->timeouts,
        "protocol", (json_int_t)c->protocol_errors, "closed", (json_int_t)c->closes,
        "messages", errtab_json(&c->errs)));
    if (c->last_status)
        json_object_set_new(json_object_get(j, "errors"), "last_http_status",
                            json_integer(c->last_status));
    if (r->pub) {
        const pub_stats *p = r->pub;
        json_object_set_new(j, "published", json_pack("{sIsIsIsIsIsfso}",
            "planned", (json_int_t)p->planned, "issued", (json_int_t)p->issued,
            "ok", (json_int_t)p->ok, "failed", (json_int_t)p->failed,
            "max_backlog", (json_int_t)p->max_backlog, "secs", secs(p->start_us, p->end_us),
            "errors", errtab_json(&p->errs)));
    } else {
        json_object_set_new(j, "published", json_null());
    }
    json_t *d = json_pack("{sIsIsIsIsIsIsbsf}",
        "deliveries", (json_int_t)c->deliveries, "subscriptions", (json_int_t)r->subscriptions,
        "unique", (json_int_t)r->unique, "duplicates", (json_int_t)c->duplicates,
        "out_of_order", (json_int_t)c->late, "gaps", (json_int_t)c->gaps,
        "order_ok", c->late == 0, "rate_per_s", rx_rate(r));
    json_object_set_new(d, "stray", json_integer((json_int_t)c->stray));
    json_object_set_new(d, "other_events", json_integer((json_int_t)c->other_events));
    json_object_set_new(d, "compressed", json_integer((json_int_t)c->compressed));
    json_object_set_new(d, "expected", r->published ? json_integer((json_int_t)r->expected) : json_null());
    json_object_set_new(d, "losses", r->published ? json_integer((json_int_t)r->losses) : json_null());
    json_object_set_new(d, "extra", r->published ? json_integer((json_int_t)r->extra) : json_null());
    json_object_set_new(j, "delivery", d);
    json_object_set_new(j, "latency_us", json_pack("{sIsIsIsIsIsIsIsf}",
        "count", (json_int_t)h->count, "min", (json_int_t)h->min,
        "p50", (json_int_t)hist_percentile(h, 50), "p90", (json_int_t)hist_percentile(h, 90),
        "p99", (json_int_t)hist_percentile(h, 99), "p999", (json_int_t)hist_percentile(h, 99.9),
        "max", (json_int_t)h->max, "mean", h->count ? (double)h->sum / (double)h->count : 0.0));
    json_object_set_new(j, "bench", json_pack("{sIsIsfsfsIsf}",
        "workers", (json_int_t)r->workers, "workers_reported", (json_int_t)r->workers_reported,
        "cpu_s", (double)c->cpu_us / 1e6,
        "cpu_after_ramp_s", (double)(c->cpu_us - c->cpu_ready_us) / 1e6,
        "bytes_in", (json_int_t)c->bytes_in,
        "deliveries_per_cpu_s", rx_per_cpu(r)));
    json_object_set_new(j, "duration_s", json_real(secs(r->run_start_us, r->run_end_us)));
    if (r->fatal[0])
        json_object_set_new(j, "fatal", json_string(r->fatal));
    char *text = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
    if (text)
        fprintf(out, "RESULT %s\n", text);
    free(text);
    json_decref(j);
    fflush(out);
}

int report_exit_code(const bench_result *r, FILE *err)
{
    if (r->fatal[0]) {
        fprintf(err, "sio-bench: error: %s\n", r->fatal);
        return 1;
    }
    if (r->workers_reported < r->workers) {
        fprintf(err, "sio-bench: error: %u of %u workers did not report\n",
                r->workers - r->workers_reported, r->workers);
        return 1;
    }
    if (r->pub && r->pub->planned && r->pub->ok == 0) {
        fprintf(err, "sio-bench: error: no broadcast was accepted%s%s\n",
                r->pub->errs.n ? ": " : "", r->pub->errs.n ? r->pub->errs.e[0].msg : "");
        return 1;
    }
    return 0;
}
