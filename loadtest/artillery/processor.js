'use strict';
/*
 * Processor of scenario.yml (artillery 2.x, socketio engine). Artillery's socketio
 * engine can emit and wait for an ack or a reply, but has no listen-only step: receiving
 * broadcasts needs a function that attaches a handler to the virtual user's socket
 * (context.sockets[''], the default-namespace socket.io-client 4 socket the engine
 * connected before the first step) and reports through `events`:
 *
 *   histogram broadcast_latency              publish-to-delivery ms, from data.t (µs since the
 *                                            epoch, sio's benchmarks) or data.ts (ms)
 *   counter   broadcasts_received            every broadcast event received
 *   counter   broadcasts_unstamped           ... of them without t / ts
 *   counter   negative_latency               a stamp ahead of this machine's clock (not recorded)
 *   counter   listeners_without_broadcasts   virtual users that received nothing while listening
 *   counter   unexpected_disconnects         the server or the network closed a listening socket
 *
 * Functions are plain `function (context, events, done)`: artillery calls async ones
 * differently.
 */
const { performance } = require('node:perf_hooks');

const nowMs = () => performance.timeOrigin + performance.now();

function latencyMs(data, now) {
  if (!data || typeof data !== 'object') return null;
  if (typeof data.t === 'number' && Number.isFinite(data.t)) return now - data.t / 1000;
  if (typeof data.ts === 'number' && Number.isFinite(data.ts)) return now - data.ts;
  return null;
}

/** Turns the config variables (strings, maybe unset) into what the flow uses. */
function prepareRooms(context, events, done) {
  const v = context.vars;
  const rooms = String(v.rooms || 'room-1').split(',').map((r) => r.trim()).filter(Boolean);
  v.roomList = rooms.length ? rooms : ['room-1'];
  v.event = v.event || 'bench';
  v.listenSeconds = Number(v.listenSeconds) > 0 ? Number(v.listenSeconds) : 30;
  return done();
}

function listenForBroadcasts(context, events, done) {
  const socket = context.sockets && context.sockets[''];
  if (!socket) return done(new Error('no socket.io connection to listen on'));
  const state = { received: 0, stopped: false, event: context.vars.event };
  state.onEvent = (data) => {
    state.received += 1;
    events.emit('counter', 'broadcasts_received', 1);
    const ms = latencyMs(data, nowMs());
    if (ms === null) events.emit('counter', 'broadcasts_unstamped', 1);
    else if (ms < 0) events.emit('counter', 'negative_latency', 1);
    else events.emit('histogram', 'broadcast_latency', ms);
  };
  state.onDisconnect = (reason) => {
    if (!state.stopped && reason !== 'io client disconnect') events.emit('counter', 'unexpected_disconnects', 1);
  };
  socket.on(state.event, state.onEvent);
  socket.on('disconnect', state.onDisconnect);
  context.sioListener = state; // not in context.vars: those are templated
  return done();
}

function stopListening(context, events, done) {
  const state = context.sioListener;
  const socket = context.sockets && context.sockets[''];
  if (state && socket) {
    state.stopped = true;
    socket.off(state.event, state.onEvent);
    socket.off('disconnect', state.onDisconnect);
    if (state.received === 0) events.emit('counter', 'listeners_without_broadcasts', 1);
  }
  return done();
}

module.exports = { prepareRooms, listenForBroadcasts, stopListening, latencyMs };
