'use strict';
// One EXP network over two reference server nodes sharing one Redis and one PostgreSQL (both
// private to this file, on free loopback ports): broadcasts and their responses cross nodes,
// both ways between the C SDK (test/interop/c_peer.c) and the official exp-sdk@5.0.0; documents,
// tokens and pairing codes are shared; system events reach every node; and when node A dies,
// node B's clients keep working and A's C clients fail over to B. meson passes EXP_BUILD_DIR;
// without it the C tests are skipped.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const jwt = require('jsonwebtoken');
const EXP = require('exp-sdk');
const { io: ioClient } = require('socket.io-client');
const { startServer, api, loginUser, channelId, within, deferred, cPeer, DEVICE } = require('../interop/helpers');
const { startServices, missing, freePort } = require('./services');

const PEER = process.env.EXP_BUILD_DIR && path.join(process.env.EXP_BUILD_DIR, 'test', 'c_peer');
const noServices = missing();
const noPeer = !PEER || !fs.existsSync(PEER) ? 'needs EXP_BUILD_DIR with test/c_peer (run through meson)' : false;

// A socket.io 4 client of one node, subscribed to the given channel ids; got() lists what came.
async function socketOn(origin, token, ids) {
  const socket = ioClient(origin, { transports: ['websocket'], query: { token }, reconnection: false, forceNew: true });
  await within(new Promise((resolve, reject) => { socket.on('connect', resolve); socket.on('connect_error', reject); }), 5000, 'connect');
  const subscribed = new Promise((resolve) => socket.once('subscribed', resolve));
  socket.emit('subscribe', ids);
  assert.deepEqual(await within(subscribed, 5000, 'subscribed'), ids);
  const messages = [];
  const waiters = [];
  socket.on('broadcast', (m) => { messages.push(m); for (const w of waiters.splice(0)) w(); });
  const next = (pred, what) => within(new Promise((resolve) => {
    const check = () => { const m = messages.find(pred); if (m) resolve(m); else waiters.push(check); };
    check();
  }), 5000, what);
  return { socket, messages, next, close: () => socket.close() };
}

function online(exp) {
  const d = deferred();
  if (exp.isConnected) d.resolve();
  const l = exp.on('online', () => d.resolve());
  return within(d.promise, 5000, 'online').finally(() => l.cancel());
}

describe('two server nodes on Redis and PostgreSQL', { skip: noServices, timeout: 120000 }, () => {
  let services; let a; let b; let user;
  before(async () => {
    services = await startServices();
    const args = ['--database', services.postgres.url, '--redis', services.redis.url];
    // Started together: the schema and the fixtures are made once, under a lock.
    [a, b] = await Promise.all([startServer(args), startServer(args)]);
    user = await loginUser(a.origin);
  });
  after(async () => {
    if (a) await a.stop();
    if (b) await b.stop();
    if (services) await services.stop();
  });

  it('accepts a token of node A on node B, and shares documents, data and pairing codes', async () => {
    let r = await api(b.origin, 'GET', '/api/devices/test-uuid', { token: user.token });
    assert.equal(r.status, 200);
    r = await api(a.origin, 'POST', '/api/things', { token: user.token, body: { name: 'shared thing' } });
    assert.equal(r.status, 200);
    const thing = r.body;
    r = await api(b.origin, 'GET', `/api/things/${thing.uuid}`, { token: user.token });
    assert.deepEqual(r.body, thing);
    r = await api(b.origin, 'PUT', '/api/data/multinode/k', { token: user.token, body: { v: 1 } });
    assert.equal(r.status, 200);
    r = await api(a.origin, 'GET', '/api/data/multinode/k', { token: user.token });
    assert.deepEqual(r.body, { group: 'multinode', key: 'k', value: { v: 1 } });

    // A device waits for pairing on A; a user pairs it on B; the credentials reach it on A.
    const login = await api(a.origin, 'POST', '/api/auth/login', { body: { token: jwt.sign({ type: 'device', allowPairing: true }, '_') } });
    const { identity } = login.body;
    const codes = await api(b.origin, 'GET', '/_test/pairing');
    assert.ok(codes.body.codes.includes(identity.pairingCode));
    const pairingChannel = channelId(identity.organization, 'pairing', 1, 0);
    const waiting = await socketOn(a.origin, login.body.token, [pairingChannel]);
    try {
      r = await api(b.origin, 'POST', '/api/devices/pair', { token: user.token, body: { pairingCode: identity.pairingCode } });
      assert.equal(r.status, 200, r.text);
      const m = await waiting.next((x) => x.name === 'credentials', 'credentials on A');
      assert.deepEqual(m.payload, { uuid: r.body.uuid, secret: r.body.secret });
    } finally { waiting.close(); }
    const paired = r.body;
    // The code was used once, for both nodes; the paired device logs in on either node.
    r = await api(a.origin, 'POST', '/api/devices/pair', { token: user.token, body: { pairingCode: identity.pairingCode } });
    assert.equal(r.status, 404);
    for (const n of [a, b]) {
      r = await api(n.origin, 'POST', '/api/auth/login', { body: { token: jwt.sign({ type: 'device', uuid: paired.uuid }, paired.secret) } });
      assert.equal(r.status, 200);
      assert.equal(r.body.identity.uuid, paired.uuid);
    }
  });

  it('collects on node A the responses posted to node B', async () => {
    const id = channelId('scala', 'cross', 0, 0);
    const listener = await socketOn(b.origin, user.token, [id]);
    try {
      listener.socket.on('broadcast', (m) => {
        api(b.origin, 'POST', '/api/networks/current/responses', { token: user.token, body: { id: m.id, channel: id, payload: { from: 'B', got: m.payload } } });
      });
      const r = await api(a.origin, 'POST', '/api/networks/current/broadcasts?timeout=1500', { token: user.token, body: { name: 'q', channel: id, payload: 3 } });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, [{ from: 'B', got: 3 }]);
      // A response of another organization to the same id is not collected.
      const other = await api(a.origin, 'POST', '/api/auth/login', { body: { username: 'other@goexp.io', password: 'other-Password1' } });
      const held = api(a.origin, 'POST', '/api/networks/current/broadcasts?timeout=1000', { token: user.token, body: { name: 'q2', channel: { name: 'cross-2' }, payload: null } });
      await new Promise((resolve) => setTimeout(resolve, 100));
      const m = listener.messages.find((x) => x.name === 'q');
      assert.equal((await api(b.origin, 'POST', '/api/networks/current/responses', { token: other.body.token, body: { id: m.id, payload: 'foreign' } })).status, 200);
      assert.deepEqual((await held).body, []);
    } finally { listener.close(); }
  });

  it('sends a device\'s system update and delete to listeners on both nodes', async () => {
    const r = await api(a.origin, 'POST', '/api/devices', { token: user.token, body: { name: 'multinode device' } });
    assert.equal(r.status, 200);
    const dev = r.body;
    assert.equal((await api(b.origin, 'GET', `/api/devices/${dev.uuid}`, { token: user.token })).body.name, 'multinode device');
    const sys = channelId('scala', dev.uuid, 1, 0);
    const [onA, onB] = await Promise.all([socketOn(a.origin, user.token, [sys]), socketOn(b.origin, user.token, [sys])]);
    try {
      assert.equal((await api(b.origin, 'PATCH', `/api/devices/${dev.uuid}`, { token: user.token, body: { name: 'renamed' } })).status, 200);
      for (const s of [onA, onB]) assert.equal((await s.next((m) => m.name === 'update', 'update')).payload.name, 'renamed');
      assert.equal((await api(a.origin, 'DELETE', `/api/devices/${dev.uuid}`, { token: user.token })).status, 200);
      for (const s of [onA, onB]) assert.deepEqual((await s.next((m) => m.name === 'delete', 'delete')).payload, { uuid: dev.uuid });
    } finally { onA.close(); onB.close(); }
  });

  it('refuses a payload nested too deep on either node, and relays one within the limit', async () => {
    const id = channelId('scala', 'deep', 0, 0);
    const listener = await socketOn(b.origin, user.token, [id]);
    try {
      const post = (depth) => api(a.origin, 'POST', '/api/networks/current/broadcasts', {
        token: user.token, raw: `{"name":"d${depth}","channel":"${id}","payload":${'['.repeat(depth)}${']'.repeat(depth)}}`,
        headers: { 'Content-Type': 'application/json' },
      });
      assert.equal((await post(2048)).status, 200);
      const r = await post(5000);
      assert.equal(r.status, 400);
      assert.equal(r.body.code, 'network.payload');
      await listener.next((m) => m.name === 'd2048', 'deep broadcast on B');
    } finally { listener.close(); }
  });

  it('keeps each node answering its own clients while Redis is stalled or down, and crosses nodes again once it is back', async () => {
    const id = channelId('scala', 'redis-down', 0, 0);
    const onA = await socketOn(a.origin, user.token, [id]);
    const onB = await socketOn(b.origin, user.token, [id]);
    const answer = (node, listener, from) => listener.socket.on('broadcast', (m) => {
      api(node.origin, 'POST', '/api/networks/current/responses', { token: user.token, body: { id: m.id, payload: from } });
    });
    answer(a, onA, 'A');
    answer(b, onB, 'B');
    const send = (n) => within(api(a.origin, 'POST', '/api/networks/current/broadcasts?timeout=1000',
      { token: user.token, body: { name: 'q', channel: id, payload: n } }), 5000, `broadcast ${n} on A`);
    const respondOnB = () => within(api(b.origin, 'POST', '/api/networks/current/responses',
      { token: user.token, body: { id: 'no-such-broadcast', payload: 0 } }), 5000, 'a response posted to B');
    try {
      assert.deepEqual((await send(1)).body.sort(), ['A', 'B']);
      // Stalled (connected, answering nothing): A still collects its own node's response.
      services.redis.proc.kill('SIGSTOP');
      try {
        const r = await send(2);
        assert.equal(r.status, 200);
        assert.ok(r.body.includes('A'), JSON.stringify(r.body));
        assert.equal((await respondOnB()).status, 200);
      } finally {
        services.redis.proc.kill('SIGCONT');
      }
      // Down (connections refused): the same, without the wait.
      await services.redis.stop('SIGKILL');
      assert.deepEqual((await send(3)).body, ['A']);
      assert.equal((await respondOnB()).status, 200);
      // Back on its port: both nodes reconnect, and B's responses reach A again.
      await services.restartRedis();
      let got = [];
      for (let n = 4; !got.includes('B'); n++) {
        assert.ok(n < 40, 'node B\'s response came back through Redis');
        got = (await send(n)).body;
      }
      assert.deepEqual(got.sort(), ['A', 'B']);
    } finally {
      onA.close();
      onB.close();
    }
  });

  describe('with the C SDK and exp-sdk', { skip: noPeer }, () => {
    it('a C listener on node B answers a C broadcast sent through node A', async () => {
      const c = cPeer(PEER, [b.origin, 'device', 'listen', 'mn-1', '0', 'ping', '{"pong":"B"}', '1', '1']);
      try {
        await c.next('C ready on B');
        const out = cPeer(PEER, [a.origin, 'user', 'broadcast', 'mn-1', '0', 'ping', '{"n":1}', '2000']);
        assert.deepEqual(await out.next('C responses'), { responses: [{ pong: 'B', listener: 0 }] });
        assert.equal(await out.done(), 0);
        assert.deepEqual((await c.next('C message')).payload, { n: 1 });
        assert.deepEqual(await c.next('C done'), { done: true });
        assert.equal(await c.done(), 0);
      } finally { c.kill(); }
    });

    it('exp-sdk on node A answers a C broadcast sent through node B', async () => {
      const device = EXP.start(Object.assign({ host: a.origin }, DEVICE));
      try {
        await online(device);
        const listener = await within(device.getChannel('mn-2').listen('ping', (payload, respond) => respond({ js: payload.n })), 5000, 'listen');
        try {
          const out = cPeer(PEER, [b.origin, 'user', 'broadcast', 'mn-2', '0', 'ping', '{"n":2}', '2000']);
          assert.deepEqual(await out.next('C responses'), { responses: [{ js: 2 }] });
          assert.equal(await out.done(), 0);
        } finally { listener.cancel(); }
      } finally { EXP.stop(); }
    });

    it('a device created on A is found on B, and its system update reaches C listeners on both', async () => {
      const r = await api(a.origin, 'POST', '/api/devices', { token: user.token, body: { name: 'for C' } });
      assert.equal((await api(b.origin, 'GET', `/api/devices/${r.body.uuid}`, { token: user.token })).status, 200);
      const peers = [a, b].map((n) => cPeer(PEER, [n.origin, 'user', 'listen', r.body.uuid, '1', 'update', 'null', '1', '1']));
      try {
        for (const p of peers) await p.next('C ready');
        assert.equal((await api(b.origin, 'PATCH', `/api/devices/${r.body.uuid}`, { token: user.token, body: { name: 'seen by C' } })).status, 200);
        for (const p of peers) assert.equal((await p.next('C update')).payload.name, 'seen by C');
      } finally { for (const p of peers) p.kill(); }
    });

    it('a C client fails over to the second origin and comes back to the first (EXP_OPT_HOSTS)', async () => {
      // Two more nodes with short-lived tokens, so that a renewal opens new connections; the
      // first origin is down when the client starts.
      const args = ['--database', services.postgres.url, '--redis', services.redis.url, '--token-ttl', '4', '--verbose'];
      const y = await startServer(args);
      const port = await freePort();
      const xOrigin = `http://127.0.0.1:${port}`;
      let x;
      const c = cPeer(PEER, [`${xOrigin},${y.origin}`, 'device', 'listen', 'mn-back', '0', 'ev', '"c"', '1', '100'],
        { C_PEER_HOSTS_RETRY_MS: '1500', C_PEER_LOG: '1' });
      try {
        await c.next('C ready through the second origin', 15000);
        const sent = (n) => api(y.origin, 'POST', '/api/networks/current/broadcasts?timeout=1500',
          { token: user.token, body: { name: 'ev', channel: { name: 'mn-back' }, payload: n } });
        assert.deepEqual((await sent(1)).body, ['c'], c.stderr());
        assert.match(y.stderr(), /socket connected device test-uuid/);
        x = await startServer(args.concat(['--port', String(port)]));
        assert.equal(x.origin, xOrigin);
        // The next renewal after 1.5 s goes to the first origin again, and the socket with it.
        await within((async () => {
          while (!/socket connected device test-uuid/.test(x.stderr())) await new Promise((resolve) => setTimeout(resolve, 100));
        })(), 20000, 'the socket back on the first origin');
        let answered = [];
        await within((async () => {
          for (let n = 2; !answered.includes('c'); n++) answered = (await sent(n)).body;
        })(), 15000, 'an answer through the first origin');
      } finally {
        c.kill();
        if (x) await x.stop();
        await y.stop();
      }
    });

    it('when node A dies, node B\'s clients keep working and A\'s C clients fail over to B', async () => {
      const both = `${a.origin},${b.origin}`;
      const onA = cPeer(PEER, [both, 'device', 'listen', 'mn-fail', '0', 'ev', '"from A"', '1', '100']);
      const onB = cPeer(PEER, [b.origin, 'device', 'listen', 'mn-fail', '0', 'ev', '"from B"', '1', '100']);
      const js = EXP.start(Object.assign({ host: b.origin }, DEVICE));
      try {
        await Promise.all([onA.next('C ready on A'), onB.next('C ready on B'), online(js)]);
        const jsGot = [];
        const jsListener = await within(js.getChannel('mn-fail').listen('ev', (payload, respond) => { jsGot.push(payload); respond('from js'); }), 5000, 'listen');
        const send = (origin, n) => api(origin, 'POST', '/api/networks/current/broadcasts?timeout=1000',
          { token: user.token, body: { name: 'ev', channel: { name: 'mn-fail' }, payload: n } });
        assert.deepEqual((await send(a.origin, 1)).body.sort(), ['from A', 'from B', 'from js']);
        assert.equal((await onA.next('C on A')).payload, 1);
        assert.equal((await onB.next('C on B')).payload, 1);

        a.proc.kill('SIGKILL');
        await new Promise((resolve) => a.proc.once('exit', resolve));
        // B's clients did not notice.
        const r = await send(b.origin, 2);
        assert.deepEqual(r.body.filter((v) => v !== 'from A').sort(), ['from B', 'from js']);
        assert.equal((await onB.next('C on B after the kill')).payload, 2);
        assert.ok(jsGot.includes(2));
        // A's C listener reconnects to B and answers again.
        let answered = [];
        for (let n = 3; !answered.includes('from A'); n++) {
          answered = (await within(send(b.origin, n), 5000, 'broadcast')).body;
          assert.ok(n < 40, 'the C listener of A came back through B');
        }
        // A C client starting now logs in through B, A being down.
        const late = cPeer(PEER, [both, 'user', 'broadcast', 'mn-fail', '0', 'ev', '"late"', '1500']);
        const out = await late.next('C broadcast through B', 20000);
        assert.ok(out.responses.includes('from js'), JSON.stringify(out));
        assert.equal(await late.done(), 0);
        jsListener.cancel();
      } finally {
        onA.kill();
        onB.kill();
        EXP.stop();
      }
    });
  });
});
