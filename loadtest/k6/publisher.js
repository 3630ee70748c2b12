// k6 publisher for sio: POSTs stamped broadcasts to the HTTP API at a fixed rate, for
// loadtest/k6/subscriber.js (run both at once) to measure publish-to-delivery latency.
//
//   k6 run -e API_URL=https://sio-api.internal:3001 -e API_TOKEN=... -e ROOMS=room-1,room-2 loadtest/k6/publisher.js
//
// Each iteration: POST API_URL/v1/broadcast
//   {"namespace":NAMESPACE,"rooms":[room],"event":EVENT,"data":{"t":<µs since the epoch>,"room":room,"seq":n,"vu":__VU}}
// with Authorization: Bearer API_TOKEN, checks the 202, then sleeps to hold RATE per VU.
// `t` is stamped just before the request (k6 clocks have ms resolution: t is a multiple of 1000).
//
// Environment (all optional):
//   API_URL        base URL of the API port, or the full /v1/broadcast URL (default http://localhost:3001)
//   API_TOKEN      bearer token (sio's API_TOKEN)
//   ROOMS          rooms, one per broadcast, round-robin (default room-1)
//   NAMESPACE      (default /)
//   EVENT          (default bench)
//   RATE           broadcasts per second per VU (default 10)
//   VUS, DURATION  publisher VUs and run time (default 1 VU, 2m)
//   P99_MS         threshold on the API's p(99) response time (default 200)
import http from 'k6/http';
import { check, sleep } from 'k6';
import { Counter } from 'k6/metrics';

const env = (k, d) => (__ENV[k] === undefined || __ENV[k] === '' ? d : __ENV[k]);
const base = env('API_URL', 'http://localhost:3001').replace(/\/+$/, '');
const URL_ = /\/v1\/broadcast$/.test(base) ? base : `${base}/v1/broadcast`;
const TOKEN = env('API_TOKEN', '');
const ROOMS = env('ROOMS', 'room-1').split(',').map((r) => r.trim()).filter(Boolean);
const NAMESPACE = env('NAMESPACE', '/');
const EVENT = env('EVENT', 'bench');
const RATE = Number(env('RATE', '10'));

const published = new Counter('sio_published');
const publishErrors = new Counter('sio_publish_errors');

export const options = {
  vus: Number(env('VUS', '1')),
  duration: env('DURATION', '2m'),
  thresholds: {
    sio_publish_errors: ['count<1'],
    http_req_duration: [`p(99)<${Number(env('P99_MS', '200'))}`],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};

const headers = { 'Content-Type': 'application/json' };
if (TOKEN) headers.Authorization = `Bearer ${TOKEN}`;

let seq = 0; // per VU

export default function () {
  const started = Date.now();
  seq += 1;
  const room = ROOMS[(seq + __VU - 2) % ROOMS.length];
  const body = JSON.stringify({
    namespace: NAMESPACE,
    rooms: [room],
    event: EVENT,
    data: { t: Date.now() * 1000, room, seq, vu: __VU },
  });
  const res = http.post(URL_, body, { headers, timeout: '10s' });
  if (check(res, { 'broadcast accepted (202)': (r) => r.status === 202 })) published.add(1);
  else publishErrors.add(1);
  const left = 1 / RATE - (Date.now() - started) / 1000;
  if (left > 0) sleep(left);
}
