'use strict';
// The reference server's test hooks for fault tests (/_test/refuse) and its refusal of
// broadcast payloads it cannot relay (network.payload).

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { io: ioClient } = require('socket.io-client');
const { startServer, api, loginUser, channelId, within, deferred } = require('./helpers');

const nested = (depth) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObject = (depth) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

describe('reference server test hooks', { timeout: 40000 }, () => {
  let srv; let user;
  before(async () => {
    srv = await startServer();
    user = await loginUser(srv.origin);
  });
  after(async () => { if (srv) await srv.stop(); });

  it('POST /_test/refuse answers 401 to ordinary calls of one method until status=0', async () => {
    const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: user.token }, reconnection: false, forceNew: true });
    try {
      await within(new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); }), 5000, 'connect');
      let r = await api(srv.origin, 'POST', '/_test/refuse?method=GET&status=401');
      assert.equal(r.status, 200);
      for (const path of ['/api/devices', '/api/things/test-thing', '/api/data/default/test-key']) {
        r = await api(srv.origin, 'GET', path, { token: user.token });
        assert.equal(r.status, 401, path);
        assert.equal(r.body.code, 'auth.invalid');
        assert.equal(typeof r.body.message, 'string');
      }
      // Other methods, the auth endpoints and the socket are unaffected.
      r = await api(srv.origin, 'PUT', '/api/data/default/hook', { token: user.token, body: { v: 1 } });
      assert.equal(r.status, 200);
      const fresh = await loginUser(srv.origin);
      r = await api(srv.origin, 'POST', '/api/auth/token', { token: fresh.token });
      assert.equal(r.status, 200);
      const id = channelId('scala', 'refuse', 0, 0);
      const subscribed = new Promise((resolve) => socket.once('subscribed', resolve));
      socket.emit('subscribe', [id]);
      assert.deepEqual(await within(subscribed, 5000, 'subscribed'), [id]);
      const got = deferred();
      socket.on('broadcast', (m) => got.resolve(m));
      r = await api(srv.origin, 'POST', '/api/networks/current/broadcasts', { token: user.token, body: { name: 'n', channel: id, payload: 7 } });
      assert.equal(r.status, 200);
      assert.equal((await within(got.promise, 5000, 'broadcast')).payload, 7);
      assert.equal(socket.connected, true);

      r = await api(srv.origin, 'POST', '/_test/refuse?status=500&code=server.busy');
      assert.equal(r.status, 200);
      r = await api(srv.origin, 'DELETE', '/api/data/default/hook', { token: user.token });
      assert.equal(r.status, 500);
      assert.equal(r.body.code, 'server.busy');

      r = await api(srv.origin, 'POST', '/_test/refuse?status=0');
      assert.equal(r.status, 200);
      r = await api(srv.origin, 'GET', '/api/devices', { token: user.token });
      assert.equal(r.status, 200);
      r = await api(srv.origin, 'POST', '/_test/refuse?status=200');
      assert.equal(r.status, 400);
    } finally { socket.close(); }
  });

  it('refuses a broadcast or response payload nested too deep with 400 network.payload', async () => {
    const channel = channelId('scala', 'deep', 0, 0);
    const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: user.token }, reconnection: false, forceNew: true });
    try {
      await within(new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); }), 5000, 'connect');
      const subscribed = new Promise((resolve) => socket.once('subscribed', resolve));
      socket.emit('subscribe', [channel]);
      await within(subscribed, 5000, 'subscribed');
      const names = [];
      socket.on('broadcast', (m) => names.push(m.name));
      const post = (name, payload) => api(srv.origin, 'POST', '/api/networks/current/broadcasts', {
        token: user.token, raw: `{"name":"${name}","channel":"${channel}","payload":${payload}}`, headers: { 'Content-Type': 'application/json' },
      });
      // Deeper than cJSON's 1000 but within the server's limit: delivered.
      let r = await post('deep2000', nested(2000));
      assert.equal(r.status, 200, r.text);
      for (const [name, payload] of [['a5000', nested(5000)], ['o5000', nestedObject(5000)], ['a100k', nested(100000)]]) {
        r = await post(name, payload);
        assert.equal(r.status, 400, name);
        assert.equal(r.body.code, 'network.payload');
        assert.match(r.body.message, /nested/);
      }
      r = await api(srv.origin, 'POST', '/api/networks/current/responses', {
        token: user.token, raw: `{"id":"x","channel":"${channel}","payload":${nested(5000)}}`, headers: { 'Content-Type': 'application/json' },
      });
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'network.payload');
      // The server and the socket are still fine.
      r = await post('after', '1');
      assert.equal(r.status, 200);
      await within((async () => { while (!names.includes('after')) await new Promise((res) => setTimeout(res, 20)); })(), 5000, 'after');
      assert.deepEqual(names, ['deep2000', 'after']);
    } finally { socket.close(); }
  });
});
