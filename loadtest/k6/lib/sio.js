// Engine.IO v4 / Socket.IO v5 text framing for k6 scripts (k6 has no Socket.IO client).
// Pure functions: no k6 import, so they run the same under k6 and the runner.
//
// Engine.IO packet = one WebSocket text frame: <type digit><payload>
//   0 open {"sid","upgrades","pingInterval","pingTimeout","maxPayload"}, 1 close,
//   2 ping (the server's heartbeat; answer 3 pong), 3 pong, 4 message, 6 noop
// Socket.IO packet = the payload of an Engine.IO message: <type>[/nsp,][ackId][JSON]
//   0 CONNECT, 1 DISCONNECT, 2 EVENT, 3 ACK, 4 CONNECT_ERROR, 5/6 binary (not handled)

export const EIO = { OPEN: '0', CLOSE: '1', PING: '2', PONG: '3', MESSAGE: '4', NOOP: '6' };
export const SIO = { CONNECT: '0', DISCONNECT: '1', EVENT: '2', ACK: '3', CONNECT_ERROR: '4' };

/**
 * The WebSocket URL of a Socket.IO server from http(s)://, ws(s):// or host[:port],
 * with or without the Socket.IO path: ws://HOST/socket.io/?EIO=4&transport=websocket
 */
export function socketUrl(target, sioPath = '/socket.io/') {
  let t = String(target).trim();
  if (!/^[a-z]+:\/\//i.test(t)) t = `ws://${t}`;
  t = t.replace(/^http(s?):\/\//i, 'ws$1://');
  const m = t.match(/^(wss?:\/\/[^/?#]+)(\/[^?#]*)?/i);
  if (!m) throw new Error(`bad target URL '${target}'`);
  let p = m[2] && m[2] !== '/' ? m[2] : sioPath;
  if (!p.endsWith('/')) p += '/';
  return `${m[1]}${p}?EIO=4&transport=websocket`;
}

const nspPrefix = (nsp) => (nsp && nsp !== '/' ? `${nsp},` : '');

/** CONNECT to a namespace, with the auth payload {"token": jwt} when a token is given. */
export function connectPacket(nsp, token) {
  return `4${SIO.CONNECT}${nspPrefix(nsp)}${token ? JSON.stringify({ token }) : ''}`;
}

/** An EVENT, with an ack id when one is given: 421["subscribe",["a","b"]] */
export function eventPacket(nsp, args, ackId) {
  return `4${SIO.EVENT}${nspPrefix(nsp)}${ackId === undefined ? '' : ackId}${JSON.stringify(args)}`;
}

/**
 * Parses a Socket.IO packet (the text after the Engine.IO '4'):
 * {type, nsp, id (ack id or undefined), data (parsed JSON or undefined)}; null if malformed.
 */
export function parseSio(s) {
  const type = s[0];
  if (!type || type < '0' || type > '6') return null;
  let i = 1;
  let nsp = '/';
  if (s[i] === '/') {
    const comma = s.indexOf(',', i);
    if (comma < 0) {
      nsp = s.slice(i);
      i = s.length;
    } else {
      nsp = s.slice(i, comma);
      i = comma + 1;
    }
  }
  let j = i;
  while (j < s.length && s[j] >= '0' && s[j] <= '9') j += 1;
  const id = j > i ? Number(s.slice(i, j)) : undefined;
  let data;
  if (j < s.length) {
    try {
      data = JSON.parse(s.slice(j));
    } catch (_) {
      return null;
    }
  }
  return { type, nsp, id, data };
}

/**
 * Publish-to-delivery latency in ms from the publish time in a broadcast's data:
 * sio's benchmarks stamp {"t": <µs since the epoch>}, other publishers {"ts": <ms>}.
 * null when the data carries neither.
 */
export function latencyMs(data, nowMs) {
  if (!data || typeof data !== 'object') return null;
  if (typeof data.t === 'number' && Number.isFinite(data.t)) return nowMs - data.t / 1000;
  if (typeof data.ts === 'number' && Number.isFinite(data.ts)) return nowMs - data.ts;
  return null;
}

/** The rooms of a VU: all of ROOMS, or `perVu` of them, round-robin from the VU number. */
export function roomsFor(list, vu, perVu) {
  const rooms = String(list || '').split(',').map((r) => r.trim()).filter(Boolean);
  if (!rooms.length) throw new Error('no rooms: set ROOMS to a comma-separated list');
  if (!perVu || perVu >= rooms.length) return rooms;
  const out = [];
  for (let i = 0; i < perVu; i += 1) out.push(rooms[(vu - 1 + i) % rooms.length]);
  return out;
}

/** k6 `--stage` syntax "30s:100,1m:100,15s:0" -> [{duration, target}], or null. */
export function parseStages(s) {
  if (!s) return null;
  return String(s).split(',').map((st) => {
    const [duration, target] = st.split(':');
    if (!duration || target === undefined || !/^\d+$/.test(target.trim())) throw new Error(`bad stage '${st}' (expected DURATION:TARGET)`);
    return { duration: duration.trim(), target: Number(target) };
  });
}
