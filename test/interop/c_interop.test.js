'use strict';
// Interop: the C SDK (test/interop/c_peer.c, built by meson) and the official exp-sdk@5.0.0 on
// one reference server: broadcasts answered across the two, several responders, consumer
// channels, and channel ids of non-ASCII names. meson passes EXP_BUILD_DIR; without it (plain
// `node --test`) these tests are skipped.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const EXP = require('exp-sdk');
const { startServer, within, deferred, channelId, cPeer, USER, DEVICE, CONSUMER } = require('./helpers');

const PEER = process.env.EXP_BUILD_DIR && path.join(process.env.EXP_BUILD_DIR, 'test', 'c_peer');
const skip = !PEER || !fs.existsSync(PEER) ? 'needs EXP_BUILD_DIR with test/c_peer (run through meson)' : false;

function online(exp) {
  const d = deferred();
  if (exp.isConnected) d.resolve();
  const l = exp.on('online', () => d.resolve());
  return within(d.promise, 5000, 'online').finally(() => l.cancel());
}

describe('C SDK and exp-sdk on one server', { skip, timeout: 60000 }, () => {
  let srv; let user; let device; let consumer;
  before(async () => {
    srv = await startServer();
    user = EXP.start(Object.assign({ host: srv.origin }, USER));
    device = EXP.start(Object.assign({ host: srv.origin }, DEVICE));
    consumer = EXP.start(Object.assign({ host: srv.origin }, CONSUMER));
    await Promise.all([online(user), online(device), online(consumer)]);
  });
  after(async () => { EXP.stop(); if (srv) await srv.stop(); });

  it('a JS broadcast is answered by a C listener', async () => {
    const c = cPeer(PEER, [srv.origin, 'device', 'listen', 'c-interop-1', '0', 'ping', '{"pong":true}', '1', '1']);
    try {
      const ready = await c.next('C ready');
      assert.equal(ready.ready, channelId('scala', 'c-interop-1', false, false));
      const responses = await within(user.getChannel('c-interop-1').broadcast('ping', { n: 7 }, 1500), 5000, 'broadcast');
      assert.deepEqual(responses, [{ pong: true, listener: 0 }]);
      const got = await c.next('C message');
      assert.equal(got.name, 'ping');
      assert.equal(got.channel, ready.ready);
      assert.equal(typeof got.id, 'string');
      assert.deepEqual(got.payload, { n: 7 });
      assert.deepEqual(await c.next('C done'), { done: true });
      assert.equal(await c.done(), 0);
    } finally { c.kill(); }
  });

  it('a C broadcast is answered by a JS listener', async () => {
    const received = deferred();
    const listener = await within(device.getChannel('c-interop-2').listen('ping', (payload, respond, message) => {
      received.resolve({ payload, message });
      respond({ from: 'js', n: payload.n });
    }), 5000, 'listen');
    let c;
    try {
      c = cPeer(PEER, [srv.origin, 'user', 'broadcast', 'c-interop-2', '0', 'ping', '{"n":5}', '1500']);
      const out = await c.next('C responses');
      assert.deepEqual(out, { responses: [{ from: 'js', n: 5 }] });
      const { payload, message } = await received.promise;
      assert.deepEqual(payload, { n: 5 });
      assert.equal(message.name, 'ping');
      assert.equal(message.channel, channelId('scala', 'c-interop-2', false, false));
      assert.equal(await c.done(), 0);
    } finally { listener.cancel(); if (c) c.kill(); }
  });

  it('collects the answers of several C and JS responders', async () => {
    const c = cPeer(PEER, [srv.origin, 'device', 'listen', 'c-interop-3', '0', 'poll', '{"from":"c"}', '3', '1']);
    const js = await device.getChannel('c-interop-3').listen('poll', (payload, respond) => respond({ from: 'js' }));
    try {
      await c.next('C ready');
      const responses = await within(user.getChannel('c-interop-3').broadcast('poll', null, 1500), 5000, 'broadcast');
      assert.equal(responses.length, 4, JSON.stringify(responses));
      assert.deepEqual(responses.filter((r) => r.from === 'c').map((r) => r.listener).sort(), [0, 1, 2]);
      assert.equal(responses.filter((r) => r.from === 'js').length, 1);
      // Each C listener got the broadcast.
      const seen = [await c.next(), await c.next(), await c.next()].map((m) => m.listener).sort();
      assert.deepEqual(seen, [0, 1, 2]);
      assert.equal(await c.done(), 0);
    } finally { js.cancel(); c.kill(); }
  });

  it('both directions on consumer channels, as consumer apps', async () => {
    // C consumer listens, JS consumer broadcasts.
    const c = cPeer(PEER, [srv.origin, 'consumer', 'listen', 'c-interop-4', '2', 'hi', '"c consumer"', '1', '1']);
    try {
      const ready = await c.next('C ready');
      assert.equal(ready.ready, channelId('scala', 'c-interop-4', false, true));
      const responses = await within(consumer.getChannel('c-interop-4', { consumer: true }).broadcast('hi', 'there', 1500), 5000, 'broadcast');
      assert.deepEqual(responses, ['c consumer']);
      assert.equal((await c.next()).payload, 'there');
      assert.equal(await c.done(), 0);
    } finally { c.kill(); }
    // JS consumer listens, C consumer broadcasts.
    const js = await within(consumer.getChannel('c-interop-4', { consumer: true }).listen('back', (payload, respond) => respond(`js got ${payload}`)), 5000, 'listen');
    try {
      const b = cPeer(PEER, [srv.origin, 'consumer', 'broadcast', 'c-interop-4', '2', 'back', '"x"', '1500']);
      assert.deepEqual(await b.next(), { responses: ['js got x'] });
      assert.equal(await b.done(), 0);
    } finally { js.cancel(); }
    // And the server's refusal reaches the C side as an error.
    const refused = cPeer(PEER, [srv.origin, 'consumer', 'broadcast', 'c-interop-4', '0', 'back', '"x"', '0']);
    const err = await refused.next();
    assert.equal(err.error, 'EXP_EAPI');
    assert.equal(err.status, 403);
    assert.equal(err.code, 'network.consumer');
    assert.equal(await refused.done(), 1);
  });

  it('computes the same channel id for non-ASCII names, and they meet on it', async () => {
    const name = 'caf\u00e9 \u2603 \u{1F600} \u65e5\u672c';
    const c = cPeer(PEER, [srv.origin, 'user', 'id', name, '0']);
    const cId = await c.next();
    assert.equal(await c.done(), 0);
    const jsChannel = device.getChannel(name);
    assert.equal(cId, await jsChannel._generateId());
    assert.equal(cId, channelId('scala', name, false, false));
    const js = await within(jsChannel.listen('u', (payload, respond) => respond(payload)), 5000, 'listen');
    try {
      const b = cPeer(PEER, [srv.origin, 'user', 'broadcast', name, '0', 'u', JSON.stringify(name), '1500']);
      assert.deepEqual(await b.next(), { responses: [name] });
      assert.equal(await b.done(), 0);
    } finally { js.cancel(); }
    // The other way round.
    const l = cPeer(PEER, [srv.origin, 'device', 'listen', name, '0', 'u', '{"ok":1}', '1', '1']);
    try {
      assert.equal((await l.next()).ready, cId);
      const responses = await within(user.getChannel(name).broadcast('u', 'x', 1500), 5000, 'broadcast');
      assert.deepEqual(responses, [{ ok: 1, listener: 0 }]);
      assert.equal((await l.next()).channel, cId);
      assert.equal(await l.done(), 0);
    } finally { l.kill(); }
  });
});
