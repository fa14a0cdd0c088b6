'use strict';
// Interop: exp-sdk@5.0.0 real-time network (socket.io-client 1.7.4, Engine.IO 3) against the
// reference server: broadcast/listen/respond between instances, cancel, system events.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const EXP = require('exp-sdk');
const { startServer, within, deferred, USER, DEVICE, CONSUMER } = require('./helpers');

function online(exp) {
  const d = deferred();
  if (exp.isConnected) d.resolve();
  const l = exp.on('online', () => d.resolve());
  return within(d.promise, 5000, 'online').finally(() => l.cancel());
}

describe('exp-sdk network', { timeout: 40000 }, () => {
  let srv; let user; let device; let consumer;
  before(async () => {
    srv = await startServer();
    user = EXP.start(Object.assign({ host: srv.origin }, USER));
    device = EXP.start(Object.assign({ host: srv.origin }, DEVICE));
    consumer = EXP.start(Object.assign({ host: srv.origin }, CONSUMER));
    await Promise.all([online(user), online(device), online(consumer)]);
  });
  after(async () => { EXP.stop(); if (srv) await srv.stop(); });

  it('delivers a broadcast from one instance to a listener in another, and returns the responses', async () => {
    const received = deferred();
    const listener = await within(device.getChannel('interop-1').listen('ping', (payload, respond, message) => {
      received.resolve({ payload, message });
      respond({ pong: payload.n });
    }), 5000, 'listen');
    const second = await device.getChannel('interop-1').listen('ping', (payload, respond) => respond(Promise.resolve(2)));
    try {
      const responses = await within(user.getChannel('interop-1').broadcast('ping', { n: 7 }, 1500), 5000, 'broadcast');
      const { payload, message } = await received.promise;
      assert.deepEqual(payload, { n: 7 });
      assert.equal(message.name, 'ping');
      assert.equal(typeof message.id, 'string');
      assert.equal(message.channel, Buffer.from(JSON.stringify(['scala', 'interop-1', 0, 0])).toString('base64'));
      assert.equal(responses.length, 2);
      assert.ok(responses.includes(2), JSON.stringify(responses));
      assert.deepEqual(responses.find((r) => typeof r === 'object'), { pong: 7 });
    } finally { listener.cancel(); second.cancel(); }
  });

  it('answers [] at once for a broadcast without timeout, and still delivers it', async () => {
    const received = deferred();
    const listener = await device.getChannel('interop-2').listen('note', (payload) => received.resolve(payload));
    try {
      const responses = await within(user.getChannel('interop-2').broadcast('note', 'hello'), 5000, 'broadcast');
      assert.deepEqual(responses, []);
      assert.equal(await within(received.promise, 5000, 'delivery'), 'hello');
    } finally { listener.cancel(); }
  });

  it('stops delivering to a cancelled listener', async () => {
    const cancelledCalls = [];
    const cancelled = await device.getChannel('interop-3').listen('evt', (p) => cancelledCalls.push(p));
    const live = deferred();
    const keeper = await device.getChannel('interop-3').listen('evt', (p) => live.resolve(p));
    try {
      cancelled.cancel();
      await user.getChannel('interop-3').broadcast('evt', { x: 1 }, 0);
      assert.deepEqual(await within(live.promise, 5000, 'live listener'), { x: 1 });
      assert.deepEqual(cancelledCalls, [], 'the cancelled listener was called');
    } finally { keeper.cancel(); }
  });

  it('supports catch-all listeners and fling', async () => {
    const got = deferred();
    const listener = await device.getChannel('interop-4').listen((payload, respond, message) => {
      got.resolve(message.name);
      respond({ ok: true });
    });
    try {
      const responses = await user.getChannel('interop-4').fling({ content: 'test-content-app' }, 1000);
      assert.equal(await got.promise, 'fling');
      assert.deepEqual(responses, [{ ok: true }]);
    } finally { listener.cancel(); }
  });

  it('sends a system update after a save, and delete after a delete', async () => {
    const thing = await user.createThing({ name: 'Watched Thing' });
    const updated = deferred();
    const deleted = deferred();
    const channel = thing.getChannel({ system: true });
    const l1 = await within(channel.listen('update', (payload) => updated.resolve(payload)), 5000, 'listen update');
    const l2 = await channel.listen('delete', (payload) => deleted.resolve(payload));
    try {
      thing.name = 'Watched Thing 2';
      await thing.save();
      const doc = await within(updated.promise, 5000, 'update event');
      assert.equal(doc.uuid, thing.uuid);
      assert.equal(doc.name, 'Watched Thing 2');
      await thing.delete();
      assert.deepEqual(await within(deleted.promise, 5000, 'delete event'), { uuid: thing.uuid });
    } finally { l1.cancel(); l2.cancel(); }
  });

  it('a device hears updates of its own document', async () => {
    const me = await device.getCurrentDevice();
    const updated = deferred();
    const l = await me.getChannel({ system: true }).listen('update', (doc) => updated.resolve(doc));
    try {
      const asUser = await user.getDevice('test-uuid');
      asUser.document.note = 'changed by user';
      await asUser.save();
      const doc = await within(updated.promise, 5000, 'device update event');
      assert.equal(doc.note, 'changed by user');
    } finally { l.cancel(); }
  });

  it('sends data item events on channel data:<key>:<group>', async () => {
    const data = await user.createData('events', 'item', { v: 1 });
    const updated = deferred();
    const l = await data.getChannel({ system: true }).listen('update', (payload) => updated.resolve(payload));
    try {
      await user.createData('events', 'item', { v: 2 });
      assert.deepEqual(await within(updated.promise, 5000, 'data update'), { group: 'events', key: 'item', value: { v: 2 } });
    } finally { l.cancel(); }
  });

  it('refuses broadcasts on system channels', async () => {
    await assert.rejects(user.getChannel('interop-5', { system: true }).broadcast('x', {}, 0),
      (e) => e.status === 403 && e.code === 'network.system');
  });

  it('limits consumer apps to consumer channels', async () => {
    await assert.rejects(consumer.getChannel('interop-6').broadcast('x', {}, 0),
      (e) => e.status === 403 && e.code === 'network.consumer');
    const got = deferred();
    const l = await within(consumer.getChannel('interop-6', { consumer: true }).listen('hi', (p, respond) => {
      got.resolve(p);
      respond('from consumer');
    }), 5000, 'consumer listen');
    try {
      const responses = await user.getChannel('interop-6', { consumer: true }).broadcast('hi', 'there', 1000);
      assert.equal(await got.promise, 'there');
      assert.deepEqual(responses, ['from consumer']);
    } finally { l.cancel(); }
    // And a consumer app can broadcast on a consumer channel.
    assert.deepEqual(await consumer.getChannel('interop-6', { consumer: true }).broadcast('hi', 'self', 0), []);
  });
});
