'use strict';
// Direct tests of the reference server: status codes and error bodies, limits, test hooks,
// Engine.IO 3 and 4 websocket connections, pairing, client JWT variants, TLS, persistence.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const https = require('node:https');
const { execFileSync } = require('node:child_process');
const jwt = require('jsonwebtoken');
const WebSocket = require('ws');
const { io: ioClient } = require('socket.io-client');
const { startServer, api, loginUser, channelId, within, deferred } = require('./helpers');

const MB = 1024 * 1024;

// Minimal raw Engine.IO/Socket.IO websocket client: resolves with helpers once connected.
function rawSocket(origin, eio, token) {
  const url = `${origin.replace(/^http/, 'ws')}/socket.io/?EIO=${eio}&transport=websocket&token=${encodeURIComponent(token)}`;
  const ws = new WebSocket(url);
  const frames = [];
  const waiters = [];
  ws.on('message', (data) => {
    const text = data.toString();
    if (text === '2') { ws.send('3'); return; } // EIO4 ping from server
    frames.push(text);
    for (const w of waiters.splice(0)) w();
  });
  const next = (pred, what) => within(new Promise((resolve) => {
    const check = () => {
      const i = frames.findIndex(pred);
      if (i >= 0) { resolve(frames.splice(i, 1)[0]); return; }
      waiters.push(check);
    };
    check();
  }), 5000, what);
  return { ws, frames, next, opened: new Promise((resolve, reject) => { ws.once('open', resolve); ws.once('error', reject); }) };
}

describe('reference server', { timeout: 40000 }, () => {
  let srv; let user;
  before(async () => {
    srv = await startServer();
    user = await loginUser(srv.origin);
  });
  after(async () => { if (srv) await srv.stop(); });

  it('answers 401 {code, message} without or with a bad token', async () => {
    for (const token of [undefined, 'garbage', jwt.sign({ kind: 'access' }, 'wrong-secret')]) {
      const r = await api(srv.origin, 'GET', '/api/devices', { token });
      assert.equal(r.status, 401);
      assert.equal(r.body.code, 'auth.invalid');
      assert.equal(typeof r.body.message, 'string');
      assert.match(r.headers.get('content-type'), /^application\/json/);
    }
    const refresh = await api(srv.origin, 'POST', '/api/auth/token', { token: 'garbage' });
    assert.equal(refresh.status, 401);
    const restricted = await api(srv.origin, 'GET', '/api/devices', { token: user.restrictedToken });
    assert.equal(restricted.status, 401);
  });

  it('rejects bad login bodies', async () => {
    let r = await api(srv.origin, 'POST', '/api/auth/login', { body: { username: 'test@goexp.io', password: 'bad' } });
    assert.equal(r.status, 401);
    assert.equal(r.body.code, 'auth.invalid');
    r = await api(srv.origin, 'POST', '/api/auth/login', { raw: '{"username":', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'request.json');
    r = await api(srv.origin, 'POST', '/api/auth/login', { body: { token: 'not.a.jwt' } });
    assert.equal(r.status, 401);
    r = await api(srv.origin, 'POST', '/api/auth/login', { body: { username: 5, password: [] } });
    assert.equal(r.status, 400);
    // organization is optional for users
    r = await api(srv.origin, 'POST', '/api/auth/login', { body: { username: 'test@goexp.io', password: 'test-Password1' } });
    assert.equal(r.status, 200);
    assert.equal(r.body.identity.organization, 'scala');
  });

  it('accepts device JWTs with exp in seconds, in milliseconds, or without exp; refuses expired ones', async () => {
    const now = Math.floor(Date.now() / 1000);
    const variants = {
      seconds: jwt.sign({ uuid: 'test-uuid', type: 'device', iat: now, exp: now + 86400 }, 'test-secret', { noTimestamp: true }),
      millis: jwt.sign({ uuid: 'test-uuid', type: 'device', allowPairing: null, exp: (now + 30) * 1000 }, 'test-secret', { noTimestamp: true }),
      none: jwt.sign({ uuid: 'test-uuid', type: 'device' }, 'test-secret', { noTimestamp: true }),
      consumer: jwt.sign({ uuid: 'test-uuid', type: 'consumerApp' }, 'test-api-key', { noTimestamp: true }),
    };
    for (const [name, token] of Object.entries(variants)) {
      const r = await api(srv.origin, 'POST', '/api/auth/login', { body: { token } });
      assert.equal(r.status, 200, `${name}: ${r.text}`);
    }
    const expired = jwt.sign({ uuid: 'test-uuid', type: 'device', exp: now - 3600 }, 'test-secret', { noTimestamp: true });
    assert.equal((await api(srv.origin, 'POST', '/api/auth/login', { body: { token: expired } })).status, 401);
    const expiredMs = jwt.sign({ uuid: 'test-uuid', type: 'device', exp: (now - 3600) * 1000 }, 'test-secret', { noTimestamp: true });
    assert.equal((await api(srv.origin, 'POST', '/api/auth/login', { body: { token: expiredMs } })).status, 401);
    // Python-style pairing: uuid "_" and secret "_".
    const pairing = jwt.sign({ uuid: '_', type: 'device', allowPairing: true }, '_');
    const p = await api(srv.origin, 'POST', '/api/auth/login', { body: { token: pairing } });
    assert.equal(p.status, 200);
    assert.equal(p.body.identity.isPairing, true);
    assert.match(p.body.identity.pairingCode, /^[A-Z0-9]{6}$/);
  });

  it('answers 400 request.json for malformed JSON and 400 for wrong types', async () => {
    let r = await api(srv.origin, 'POST', '/api/devices', { token: user.token, raw: '{nope', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.status, 400);
    assert.equal(r.body.code, 'request.json');
    r = await api(srv.origin, 'POST', '/api/devices', { token: user.token, body: [1, 2] });
    assert.equal(r.status, 400);
    r = await api(srv.origin, 'POST', '/api/devices', { token: user.token, body: { name: 42 } });
    assert.equal(r.status, 400);
    r = await api(srv.origin, 'POST', '/api/locations', { token: user.token, body: { zones: 'x' } });
    assert.equal(r.status, 400);
    r = await api(srv.origin, 'PUT', '/api/data/g/k', { token: user.token, body: 'a string' });
    assert.equal(r.status, 400);
    r = await api(srv.origin, 'GET', '/api/devices?limit=abc', { token: user.token });
    assert.equal(r.status, 400);
    r = await api(srv.origin, 'POST', '/api/devices', { token: user.token, body: { uuid: 'test-uuid' } });
    assert.equal(r.status, 409);
  });

  it('answers 404 not.found for unknown uuids and routes', async () => {
    for (const [method, p] of [['GET', '/api/things/none'], ['PATCH', '/api/things/none'], ['DELETE', '/api/things/none'],
      ['GET', '/api/data/default/none'], ['GET', '/api/nothing-here'], ['GET', '/nowhere'],
      ['GET', '/api/connectors/feeds/none/data']]) {
      const r = await api(srv.origin, method, p, { token: user.token, body: method === 'PATCH' ? {} : undefined });
      assert.equal(r.status, 404, `${method} ${p}`);
      assert.equal(r.body.code, 'not.found');
    }
    const del = await api(srv.origin, 'DELETE', '/api/data/default/other-key', { token: user.token });
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, {});
  });

  it('answers 413 for a body over 16 MB (Content-Length and chunked)', async () => {
    const big = Buffer.alloc(16 * MB + 10, 0x20);
    let r = await fetch(`${srv.origin}/api/data/g/big`, { method: 'PUT', headers: { Authorization: `Bearer ${user.token}` }, body: big });
    assert.equal(r.status, 413);
    assert.equal((await r.json()).code, 'request.too_large');
    let sent = 0;
    const stream = new ReadableStream({
      pull(controller) {
        if (sent >= 17 * MB) { controller.close(); return; }
        sent += MB;
        controller.enqueue(new Uint8Array(MB).fill(0x20));
      },
    });
    r = await fetch(`${srv.origin}/api/data/g/big`, { method: 'PUT', headers: { Authorization: `Bearer ${user.token}` }, body: stream, duplex: 'half' });
    assert.equal(r.status, 413);
    await r.arrayBuffer();
    // The server is still fine.
    const ok = await api(srv.origin, 'GET', '/api/data/default/test-key', { token: user.token });
    assert.equal(ok.status, 200);
  });

  it('validates broadcast timeouts and channels', async () => {
    const body = { name: 'x', channel: channelId('scala', 'c', 0, 0), payload: {} };
    for (const t of ['-1', '60001', '1.5', 'abc']) {
      const r = await api(srv.origin, 'POST', `/api/networks/current/broadcasts?timeout=${t}`, { token: user.token, body });
      assert.equal(r.status, 400, `timeout=${t}`);
      assert.equal(r.body.code, 'network.timeout');
    }
    let r = await api(srv.origin, 'POST', '/api/networks/current/broadcasts', { token: user.token, body });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, []);
    r = await api(srv.origin, 'POST', '/api/networks/current/broadcasts?timeout=100.0', { token: user.token, body });
    assert.equal(r.status, 200);
    r = await api(srv.origin, 'POST', '/api/networks/current/broadcasts?timeout=0', { token: user.token, body: Object.assign({}, body, { channel: channelId('other', 'c', 0, 0) }) });
    assert.equal(r.status, 403);
    r = await api(srv.origin, 'POST', '/api/networks/current/broadcasts?timeout=0', { token: user.token, body: Object.assign({}, body, { channel: { name: 'c', system: true } }) });
    assert.equal(r.status, 403);
    assert.equal(r.body.code, 'network.system');
    r = await api(srv.origin, 'POST', '/api/networks/current/broadcasts?timeout=0', { token: user.token, body: Object.assign({}, body, { channel: '!!!' }) });
    assert.equal(r.status, 400);
    r = await api(srv.origin, 'POST', '/api/networks/current/responses', { token: user.token, body: { id: 'unknown', channel: body.channel, payload: 1 } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, {});
  });

  it('connects Engine.IO 3 and 4 websocket clients, subscribes, and delivers broadcasts with responses', async () => {
    const channel = channelId('scala', 'raw ünï', 0, 0);
    for (const eio of [3, 4]) {
      const s = rawSocket(srv.origin, eio, user.token);
      try {
        await within(s.opened, 5000, `EIO${eio} open`);
        const open = await s.next((f) => f.startsWith('0{'), 'open packet');
        assert.ok(JSON.parse(open.slice(1)).sid);
        if (eio === 4) s.ws.send('40');
        await s.next((f) => f.startsWith('40'), 'namespace connect');
        s.ws.send(`42${JSON.stringify(['subscribe', [channel, channelId('other', 'x', 0, 0)]])}`);
        const sub = await s.next((f) => f.startsWith('42["subscribed"'), 'subscribed');
        assert.deepEqual(JSON.parse(sub.slice(2)), ['subscribed', [channel]]);
        const pendingBroadcast = api(srv.origin, 'POST', '/api/networks/current/broadcasts?timeout=1000',
          { token: user.token, body: { name: 'hello', channel, payload: { eio } } });
        const frame = await s.next((f) => f.startsWith('42["broadcast"'), 'broadcast');
        const [, message] = JSON.parse(frame.slice(2));
        assert.equal(message.name, 'hello');
        assert.equal(message.channel, channel);
        assert.deepEqual(message.payload, { eio });
        const resp = await api(srv.origin, 'POST', '/api/networks/current/responses',
          { token: user.token, body: { id: message.id, channel, payload: `answer ${eio}` } });
        assert.equal(resp.status, 200);
        const result = await pendingBroadcast;
        assert.deepEqual(result.body, [`answer ${eio}`]);
      } finally { s.ws.terminate(); }
    }
  });

  it('accepts socket.io-client 4 over HTTP long-polling and with auth.token', async () => {
    const id = channelId('scala', 'polling', 0, 0);
    for (const opts of [{ transports: ['polling'], query: { token: user.token } }, { auth: { token: user.token } }]) {
      const socket = ioClient(srv.origin, Object.assign({ reconnection: false, forceNew: true }, opts));
      try {
        await within(new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); }), 5000, 'connect');
        const subscribed = new Promise((resolve) => socket.once('subscribed', resolve));
        socket.emit('subscribe', [id]);
        assert.deepEqual(await within(subscribed, 5000, 'subscribed'), [id]);
      } finally { socket.close(); }
    }
  });

  it('refuses socket connections with a bad token (socket.io-client 4)', async () => {
    const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: 'bad' }, reconnection: false, forceNew: true });
    try {
      const err = await within(new Promise((resolve) => socket.on('connect_error', resolve)), 5000, 'connect_error');
      assert.match(err.message, /token/i);
    } finally { socket.close(); }
  });

  it('revokes every issued token through POST /_test/revoke', async () => {
    const fresh = await loginUser(srv.origin);
    assert.equal((await api(srv.origin, 'GET', '/api/devices', { token: fresh.token })).status, 200);
    const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: fresh.token }, reconnection: false, forceNew: true });
    try {
      await within(new Promise((resolve) => socket.on('connect', resolve)), 5000, 'connect');
      const disconnected = new Promise((resolve) => socket.on('disconnect', resolve));
      const r = await api(srv.origin, 'POST', '/_test/revoke?disconnect=1');
      assert.equal(r.status, 200);
      assert.ok(r.body.revoked >= 2);
      assert.ok(r.body.disconnected >= 1);
      await within(disconnected, 5000, 'disconnect');
    } finally { socket.close(); }
    const after401 = await api(srv.origin, 'GET', '/api/devices', { token: fresh.token });
    assert.equal(after401.status, 401);
    assert.equal(after401.body.code, 'auth.invalid');
    assert.equal((await api(srv.origin, 'POST', '/api/auth/token', { token: fresh.token })).status, 401);
    const rt = await fetch(`${srv.origin}/api/delivery/scala/folder/file%20name.png?_rt=${encodeURIComponent(fresh.restrictedToken)}`);
    assert.equal(rt.status, 401);
    user = await loginUser(srv.origin); // new tokens work
    assert.equal((await api(srv.origin, 'GET', '/api/devices', { token: user.token })).status, 200);
  });

  it('pairs a device: POST /api/devices/pair sends credentials on the pairing system channel', async () => {
    const pairingToken = jwt.sign({ type: 'device', allowPairing: true }, '_');
    const login = await api(srv.origin, 'POST', '/api/auth/login', { body: { token: pairingToken } });
    assert.equal(login.status, 200);
    const { identity } = login.body;
    const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: login.body.token }, reconnection: false, forceNew: true });
    try {
      await within(new Promise((resolve) => socket.on('connect', resolve)), 5000, 'pairing socket connect');
      const id = channelId(identity.organization, 'pairing', 1, 0);
      const subscribed = new Promise((resolve) => socket.once('subscribed', resolve));
      socket.emit('subscribe', [id]);
      assert.deepEqual(await within(subscribed, 5000, 'subscribed'), [id]);
      const credentials = deferred();
      socket.on('broadcast', (m) => { if (m.name === 'credentials') credentials.resolve(m); });

      // Pair onto an existing device.
      const r = await api(srv.origin, 'POST', '/api/devices/pair', { token: user.token, body: { pairingCode: identity.pairingCode.toLowerCase(), uuid: 'test-device-3' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.uuid, 'test-device-3');
      const m = await within(credentials.promise, 5000, 'credentials');
      assert.equal(m.channel, id);
      assert.deepEqual(m.payload, { uuid: 'test-device-3', secret: r.body.secret });
      // The new secret logs in, the old one no longer does.
      const ok = await api(srv.origin, 'POST', '/api/auth/login', { body: { token: jwt.sign({ uuid: 'test-device-3', type: 'device' }, r.body.secret) } });
      assert.equal(ok.status, 200);
      const old = await api(srv.origin, 'POST', '/api/auth/login', { body: { token: jwt.sign({ uuid: 'test-device-3', type: 'device' }, 'test-secret-3') } });
      assert.equal(old.status, 401);
    } finally { socket.close(); }
    const unknown = await api(srv.origin, 'POST', '/api/devices/pair', { token: user.token, body: { pairingCode: 'ZZZZZZ' } });
    assert.equal(unknown.status, 404);
    const bad = await api(srv.origin, 'POST', '/api/devices/pair', { token: user.token, body: {} });
    assert.equal(bad.status, 400);
  });

  it('ignores subscriptions to foreign or non-consumer channels for consumer apps', async () => {
    const consumer = await api(srv.origin, 'POST', '/api/auth/login', { body: { token: jwt.sign({ uuid: 'test-uuid', type: 'consumerApp' }, 'test-api-key') } });
    const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: consumer.body.token }, reconnection: false, forceNew: true });
    try {
      await within(new Promise((resolve) => socket.on('connect', resolve)), 5000, 'connect');
      const ids = [channelId('scala', 'a', 0, 1), channelId('scala', 'a', 0, 0), channelId('other', 'a', 0, 1), 'junk'];
      const subscribed = new Promise((resolve) => socket.once('subscribed', resolve));
      socket.emit('subscribe', ids);
      assert.deepEqual(await within(subscribed, 5000, 'subscribed'), [ids[0]]);
    } finally { socket.close(); }
  });
});

describe('reference server options', { timeout: 40000 }, () => {
  it('expires tokens after --token-ttl', async () => {
    const srv = await startServer(['--token-ttl', '1']);
    try {
      const auth = await loginUser(srv.origin);
      assert.ok(auth.expiration <= Date.now() + 1500);
      const deadline = Date.now() + 5000;
      let status;
      do {
        status = (await api(srv.origin, 'GET', '/api/devices', { token: auth.token })).status;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 200));
      } while (Date.now() < deadline);
      assert.equal(status, 401);
    } finally { await srv.stop(); }
  });

  it('persists to --db FILE across restarts', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-server-'));
    const db = path.join(dir, 'exp.sqlite');
    try {
      let srv = await startServer(['--db', db]);
      let auth;
      try {
        auth = await loginUser(srv.origin);
        const r = await api(srv.origin, 'POST', '/api/things', { token: auth.token, body: { uuid: 'persisted-thing', name: 'P' } });
        assert.equal(r.status, 200);
      } finally { await srv.stop(); }
      assert.equal(srv.proc.exitCode, 0, 'clean exit on SIGTERM');
      srv = await startServer(['--db', db]);
      try {
        const r = await api(srv.origin, 'GET', '/api/things/persisted-thing', { token: auth.token });
        assert.equal(r.status, 200, 'the old token is still valid after a restart');
        assert.equal(r.body.name, 'P');
      } finally { await srv.stop(); }
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });

  it('serves https and wss with --tls-cert/--tls-key', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'exp-tls-'));
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    try {
      try {
        execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
          '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
      } catch (_) {
        t.skip('openssl is not available');
        return;
      }
      const srv = await startServer(['--tls-cert', cert, '--tls-key', key]);
      try {
        assert.match(srv.origin, /^https:\/\/127\.0\.0\.1:\d+$/);
        const ca = fs.readFileSync(cert);
        const login = await new Promise((resolve, reject) => {
          const req = https.request(`${srv.origin}/api/auth/login`, { method: 'POST', ca, headers: { 'Content-Type': 'application/json' } }, (res) => {
            let b = ''; res.on('data', (d) => { b += d; }); res.on('end', () => resolve({ status: res.statusCode, body: JSON.parse(b) }));
          });
          req.on('error', reject);
          req.end(JSON.stringify({ username: 'test@goexp.io', password: 'test-Password1' }));
        });
        assert.equal(login.status, 200);
        assert.equal(login.body.api.host, srv.origin);
        const socket = ioClient(srv.origin, { transports: ['websocket'], query: { token: login.body.token }, ca, reconnection: false, forceNew: true });
        try {
          await within(new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); }), 5000, 'wss connect');
        } finally { socket.close(); }
      } finally { await srv.stop(); }
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
  });
});
