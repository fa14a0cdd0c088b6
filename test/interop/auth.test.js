'use strict';
// Interop: the official exp-sdk@5.0.0 authenticating against the reference server.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const EXP = require('exp-sdk');
const { startServer, api, loginUser, within, deferred, USER, DEVICE, CONSUMER } = require('./helpers');

describe('exp-sdk authentication', { timeout: 30000 }, () => {
  let srv;
  before(async () => { srv = await startServer(); });
  after(async () => { EXP.stop(); if (srv) await srv.stop(); });

  it('logs in as a user', async () => {
    const exp = EXP.start(Object.assign({ host: srv.origin }, USER));
    try {
      const auth = await within(exp.getAuth(), 5000, 'user login');
      assert.equal(auth.identity.type, 'user');
      assert.equal(auth.identity.organization, 'scala');
      assert.equal(auth.identity.username, USER.username);
      assert.equal(typeof auth.token, 'string');
      assert.equal(typeof auth.restrictedToken, 'string');
      assert.ok(auth.expiration > Date.now() + 3000 * 1000, 'expiration is ms since epoch, ~1 h ahead');
      assert.equal(auth.api.host, srv.origin);
      assert.equal(auth.network.host, srv.origin);
      const me = await within(exp.get('/api/users/current'), 5000, 'current user');
      assert.equal(me.username, USER.username);
      assert.equal(me.organization, 'scala');
    } finally { exp.stop(); }
  });

  it('logs in as a device and gets its current device/experience/location/zones', async () => {
    const exp = EXP.start(Object.assign({ host: srv.origin }, DEVICE));
    try {
      const auth = await within(exp.getAuth(), 5000, 'device login');
      assert.deepEqual(auth.identity, { type: 'device', organization: 'scala', uuid: 'test-uuid' });
      const device = await within(exp.getCurrentDevice(), 5000, 'current device');
      assert.equal(device.uuid, 'test-uuid');
      const experience = await exp.getCurrentExperience();
      assert.equal(experience.uuid, 'test-experience');
      const location = await exp.getCurrentLocation();
      assert.equal(location.uuid, 'test-location');
      const zones = await exp.getCurrentZones();
      assert.equal(zones.length, 1);
      assert.equal(zones[0].key, 'zone-a');
      assert.equal(zones[0].name, 'Zone A');
    } finally { exp.stop(); }
  });

  it('logs in as a consumer app', async () => {
    const exp = EXP.start(Object.assign({ host: srv.origin }, CONSUMER));
    try {
      const auth = await within(exp.getAuth(), 5000, 'consumer login');
      assert.deepEqual(auth.identity, { type: 'consumerApp', organization: 'scala', uuid: 'test-uuid' });
      const list = await exp.findDevices({ limit: 1 });
      assert.equal(list.length, 1);
    } finally { exp.stop(); }
  });

  for (const [label, options] of [
    ['wrong device secret', { uuid: 'test-uuid', secret: 'not-the-secret' }],
    ['unknown device', { uuid: 'no-such-device', secret: 'test-secret' }],
    ['wrong user password', { username: USER.username, password: 'nope', organization: 'scala' }],
    ['user in a foreign organization', { username: USER.username, password: USER.password, organization: 'other' }],
    ['wrong consumer api key', { uuid: 'test-uuid', apiKey: 'nope' }],
  ]) {
    it(`rejects bad credentials (${label}) with an error event`, async () => {
      const exp = EXP.start(Object.assign({ host: srv.origin }, options));
      const authPromise = exp.getAuth();
      const rejected = assert.rejects(authPromise, /Authentication failed/);
      const errorEvent = deferred();
      exp.on('error', (e) => errorEvent.resolve(e));
      try {
        // event-node deep-copies event arguments through JSON, so the Error arrives as {}.
        await within(errorEvent.promise, 5000, 'error event');
        await rejected;
      } finally { exp.stop(); }
    });
  }

  it('enters pairing mode and receives credentials after a user pairs it', async () => {
    const device = EXP.start({ host: srv.origin, allowPairing: true });
    let paired;
    try {
      const auth = await within(device.getAuth(), 5000, 'pairing login');
      assert.equal(auth.identity.isPairing, true);
      assert.match(auth.identity.pairingCode, /^[A-Z0-9]{6}$/);
      assert.equal(auth.identity.organization, `pairing:${auth.identity.pairingCode}`);
      // REST calls are refused by the SDK itself in pairing mode.
      await assert.rejects(device.getCurrentDevice(), /pairing mode/);
      // ... and by the server.
      const direct = await api(srv.origin, 'GET', '/api/devices', { token: auth.token });
      assert.equal(direct.status, 403);
      assert.equal(direct.body.code, 'auth.pairing');
      const refresh = await api(srv.origin, 'POST', '/api/auth/token', { token: auth.token });
      assert.equal(refresh.status, 401);

      const credentials = deferred();
      await within(device.getChannel('pairing', { system: true }).listen('credentials', (payload) => credentials.resolve(payload)),
        5000, 'listen on pairing channel');

      const user = await loginUser(srv.origin);
      const code = `${auth.identity.pairingCode.slice(0, 3)}-${auth.identity.pairingCode.slice(3)}`; // UI form XXX-XXX
      const pair = await api(srv.origin, 'POST', '/api/devices/pair', { token: user.token, body: { pairingCode: code } });
      assert.equal(pair.status, 200, pair.text);
      const creds = await within(credentials.promise, 5000, 'credentials event');
      assert.equal(creds.uuid, pair.body.uuid);
      assert.equal(creds.secret, pair.body.secret);

      // The code is single use.
      const again = await api(srv.origin, 'POST', '/api/devices/pair', { token: user.token, body: { pairingCode: code } });
      assert.equal(again.status, 404);

      paired = EXP.start({ host: srv.origin, uuid: creds.uuid, secret: creds.secret, allowPairing: true });
      const pairedAuth = await within(paired.getAuth(), 5000, 'login with paired credentials');
      assert.equal(pairedAuth.identity.isPairing, undefined);
      assert.equal(pairedAuth.identity.uuid, creds.uuid);
      const me = await paired.getCurrentDevice();
      assert.equal(me.uuid, creds.uuid);
    } finally { device.stop(); if (paired) paired.stop(); }
  });

  it('recovers from a 401 injected mid-run (revoked tokens)', async () => {
    const exp = EXP.start(Object.assign({ host: srv.origin }, USER));
    try {
      const first = await within(exp.getAuth(), 5000, 'login');
      const revoke = await api(srv.origin, 'POST', '/_test/revoke');
      assert.equal(revoke.status, 200);
      assert.ok(revoke.body.revoked >= 1);
      const updated = deferred();
      exp.on('update', (auth) => updated.resolve(auth));
      const device = await within(exp.getDevice('test-uuid'), 10000, 'call after revoke');
      assert.equal(device.uuid, 'test-uuid');
      const second = await within(updated.promise, 5000, 'auth update');
      assert.notEqual(second.token, first.token);
    } finally { exp.stop(); }
  });
});

describe('exp-sdk token refresh', { timeout: 20000 }, () => {
  let srv;
  before(async () => { srv = await startServer(['--token-ttl', '2']); });
  after(async () => { EXP.stop(); if (srv) await srv.stop(); });

  it('refreshes the token at half-life through /api/auth/token', async () => {
    const exp = EXP.start(Object.assign({ host: srv.origin }, DEVICE));
    try {
      const first = await within(exp.getAuth(), 5000, 'login');
      assert.ok(first.expiration - Date.now() <= 2000 + 1000);
      const updated = deferred();
      const listener = exp.on('update', (auth) => { if (auth.token !== first.token) updated.resolve(auth); });
      const second = await within(updated.promise, 8000, 'refresh');
      listener.cancel();
      assert.equal(second.identity.uuid, 'test-uuid');
      assert.ok(second.expiration >= first.expiration);
      const device = await exp.getCurrentDevice();
      assert.equal(device.uuid, 'test-uuid');
    } finally { exp.stop(); }
  });
});
