// k6 subscriber for sio: WebSocket-only Socket.IO v5 clients that join rooms and
// measure publish-to-delivery latency of the broadcasts they receive.
//
//   k6 run -e TARGET_URL=wss://sio.example.com -e JWT=... -e ROOMS=room-1,room-2 loadtest/k6/subscriber.js
//
// Each iteration is one client session: connect to TARGET_URL (/socket.io/?EIO=4&transport=websocket),
// answer the Engine.IO open packet with a Socket.IO CONNECT (40, or 40{"token":JWT}), answer the
// server's pings (2 -> 3), subscribe with 421["subscribe",[rooms]] and check the ack
// 431[{"ok":true,"rooms":[...]}], then count the 42["<EVENT>",data] broadcasts for
// SESSION_SECONDS and record now - data.t (µs, as sio's benchmarks stamp) or now - data.ts (ms).
// Publishers: loadtest/k6/publisher.js, sio-bench, or any service stamping `t` / `ts`.
//
// Environment (all optional):
//   TARGET_URL          http(s)://, ws(s):// or host:port; a comma-separated list spreads the VUs
//                       round-robin over several nodes (default http://localhost:3000)
//   SIO_PATH            Socket.IO path when TARGET_URL has none (default /socket.io/)
//   NAMESPACE           (default /)
//   JWT                 sent as the CONNECT auth payload {"token": JWT}
//   ROOMS, ROOMS_PER_VU rooms to join (default room-1); ROOMS_PER_VU > 0: that many of them per VU
//   EVENT               the broadcast event to count (default bench, as sio-bench publishes)
//   SESSION_SECONDS     how long each session listens before it closes and the VU reconnects (default 60)
//   STAGES              ramping VUs, k6 --stage syntax (default 30s:50,1m:50,15s:0);
//   VUS + DURATION      instead: a constant number of VUs
//   P99_MS              threshold on the p(99) delivery latency (default 500)
//   MAX_CONNECT_ERRORS  threshold on failed connections (default 0)
//   CONNECT_TIMEOUT_MS  handshake + CONNECT deadline (default 10000)
//   PUBLISH_EVERY_MS    > 0: each subscribed client also emits `publish` {room,event,data:{t,...}}
//                       at this interval (needs PUBLISH_PATTERNS or a JWT `publish` claim on sio)
import ws from 'k6/ws';
import { check, sleep } from 'k6';
import { Counter, Rate, Trend } from 'k6/metrics';
import {
  EIO, SIO, socketUrl, connectPacket, eventPacket, parseSio, latencyMs, roomsFor, parseStages,
} from './lib/sio.js';

const env = (k, d) => (__ENV[k] === undefined || __ENV[k] === '' ? d : __ENV[k]);
const TARGETS = env('TARGET_URL', 'http://localhost:3000').split(',').map((s) => s.trim()).filter(Boolean);
const SIO_PATH = env('SIO_PATH', '/socket.io/');
const NAMESPACE = env('NAMESPACE', '/');
const JWT = env('JWT', '');
const EVENT = env('EVENT', 'bench');
const SESSION_MS = Number(env('SESSION_SECONDS', '60')) * 1000;
const CONNECT_TIMEOUT_MS = Number(env('CONNECT_TIMEOUT_MS', '10000'));
const PUBLISH_EVERY_MS = Number(env('PUBLISH_EVERY_MS', '0'));
const SUBSCRIBE_ACK = 1;

const latency = new Trend('sio_delivery_latency', true);
const deliveries = new Counter('sio_deliveries');
const connectErrors = new Counter('sio_connect_errors');
const errors = new Counter('sio_errors'); // after connecting: bad packets, refused subscribe/publish, drops
const subscribed = new Rate('sio_subscribed');
const subscribeTime = new Trend('sio_subscribe_duration', true);
const clockSkew = new Counter('sio_negative_latency'); // a publish time ahead of this clock: not recorded
const clientPublishes = new Counter('sio_client_publishes');

export const options = {
  thresholds: {
    sio_delivery_latency: [`p(99)<${Number(env('P99_MS', '500'))}`],
    sio_connect_errors: [`count<=${Number(env('MAX_CONNECT_ERRORS', '0'))}`],
    sio_deliveries: ['count>0'],
    sio_subscribed: ['rate>=0.99'],
  },
  summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)', 'count'],
};
if (__ENV.DURATION) {
  options.vus = Number(env('VUS', '10'));
  options.duration = __ENV.DURATION;
} else {
  options.stages = parseStages(env('STAGES', '30s:50,1m:50,15s:0'));
}

let publishSeq = 0; // per VU: each VU has its own copy of the module

export default function () {
  const url = socketUrl(TARGETS[(__VU - 1) % TARGETS.length], SIO_PATH);
  const rooms = roomsFor(env('ROOMS', 'room-1'), __VU, Number(env('ROOMS_PER_VU', '0')));
  const st = { connected: false, subscribed: false, failed: false, closing: false };
  let subscribeAt = 0;

  const connectFailed = () => {
    if (st.connected || st.failed) return;
    st.failed = true;
    connectErrors.add(1);
  };

  const res = ws.connect(url, { tags: { name: 'sio' } }, (socket) => {
    const close = () => {
      if (st.closing) return;
      st.closing = true;
      if (st.connected) socket.send(`4${SIO.DISCONNECT}${NAMESPACE !== '/' ? `${NAMESPACE},` : ''}`);
      socket.close();
    };

    const onSio = (p) => {
      if (!p) {
        errors.add(1);
        return;
      }
      if (p.nsp !== NAMESPACE) return;
      switch (p.type) {
        case SIO.CONNECT:
          st.connected = true;
          subscribeAt = Date.now();
          socket.send(eventPacket(NAMESPACE, ['subscribe', rooms], SUBSCRIBE_ACK));
          break;
        case SIO.CONNECT_ERROR:
          connectFailed();
          close();
          break;
        case SIO.ACK: {
          const a = Array.isArray(p.data) ? p.data[0] : undefined;
          if (p.id === SUBSCRIBE_ACK) {
            const ok = Boolean(a && a.ok === true && Array.isArray(a.rooms) && rooms.every((r) => a.rooms.includes(r)));
            subscribeTime.add(Date.now() - subscribeAt);
            subscribed.add(ok);
            st.subscribed = ok;
            if (!ok) {
              errors.add(1);
              close();
            }
          } else if (!(a && a.ok === true)) {
            errors.add(1); // a refused publish
          }
          break;
        }
        case SIO.EVENT: {
          const [name, data] = Array.isArray(p.data) ? p.data : [];
          if (name !== EVENT) break;
          deliveries.add(1);
          const ms = latencyMs(data, Date.now());
          if (ms === null) break;
          if (ms >= 0) latency.add(ms);
          else clockSkew.add(1);
          break;
        }
        case SIO.DISCONNECT: // kicked out of the namespace
          errors.add(1);
          close();
          break;
        default:
          break;
      }
    };

    socket.on('message', (msg) => {
      switch (msg[0]) {
        case EIO.OPEN:
          socket.send(connectPacket(NAMESPACE, JWT));
          break;
        case EIO.PING:
          socket.send(EIO.PONG);
          break;
        case EIO.MESSAGE:
          onSio(parseSio(msg.slice(1)));
          break;
        default: // close, noop
          break;
      }
    });
    socket.on('error', () => {
      // after connecting, an error is followed by 'close', which counts the drop
      if (!st.connected) connectFailed();
    });
    socket.on('close', () => {
      if (st.connected && !st.closing) errors.add(1); // dropped by the server or the network
      else if (!st.connected) connectFailed();
    });
    socket.setTimeout(() => {
      if (!st.connected) {
        connectFailed();
        close();
      }
    }, CONNECT_TIMEOUT_MS);
    socket.setTimeout(close, SESSION_MS);
    if (PUBLISH_EVERY_MS > 0) {
      socket.setInterval(() => {
        if (!st.subscribed || st.closing) return;
        publishSeq += 1;
        const room = rooms[publishSeq % rooms.length];
        const data = { t: Date.now() * 1000, room, seq: publishSeq, vu: __VU };
        socket.send(eventPacket(NAMESPACE, ['publish', { room, event: EVENT, data }], SUBSCRIBE_ACK + publishSeq));
        clientPublishes.add(1);
      }, PUBLISH_EVERY_MS);
    }
  });

  if (!res || res.status !== 101) connectFailed();
  check(res, { 'websocket handshake 101': (r) => Boolean(r) && r.status === 101 });
  check(st, {
    'socket.io connected': (s) => s.connected,
    'subscribed (ack ok)': (s) => s.subscribed,
  });
  if (!st.connected) sleep(1); // back off before reconnecting
}
