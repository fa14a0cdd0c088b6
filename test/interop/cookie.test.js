'use strict';
// The login answer sets the restricted token as the _rt cookie (HttpOnly, Path=/api), so a
// browser running exp-sdk@5.0.0, whose content getUrl() carries no _rt, loads the content.
// Node's fetch keeps no cookies: the test plays the browser's cookie jar.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const EXP = require('exp-sdk');
const { startServer, api, USER } = require('./helpers');

function parseSetCookie(header) {
  const [pair, ...attrs] = header.split(';').map((s) => s.trim());
  const i = pair.indexOf('=');
  const out = { name: pair.slice(0, i), value: decodeURIComponent(pair.slice(i + 1)), attrs: {} };
  for (const a of attrs) {
    const j = a.indexOf('=');
    out.attrs[(j < 0 ? a : a.slice(0, j)).toLowerCase()] = j < 0 ? true : a.slice(j + 1);
  }
  return out;
}

describe('_rt cookie for browsers', { timeout: 30000 }, () => {
  let srv; let exp;
  before(async () => {
    srv = await startServer();
    exp = EXP.start(Object.assign({ host: srv.origin, enableNetwork: false }, USER));
  });
  after(async () => { EXP.stop(); if (srv) await srv.stop(); });

  it('sets _rt on login and refresh, and a delivery URL of the JS SDK loads with it alone', async () => {
    const login = await api(srv.origin, 'POST', '/api/auth/login', { body: Object.assign({ type: 'user' }, USER) });
    assert.equal(login.status, 200);
    const cookie = parseSetCookie(login.headers.get('set-cookie'));
    assert.equal(cookie.name, '_rt');
    assert.equal(cookie.value, login.body.restrictedToken);
    assert.equal(cookie.attrs.path, '/api');
    assert.equal(cookie.attrs.httponly, true);
    assert.ok(Number(cookie.attrs['max-age']) > 3600);

    const root = await exp.getContent('root');
    const folder = (await root.getChildren()).find((c) => c.name === 'folder');
    const file = (await folder.getChildren()).find((c) => c.name === 'file name.png');
    const url = file.getUrl();
    assert.doesNotMatch(url, /_rt=/);
    assert.equal((await fetch(url)).status, 401);
    const res = await fetch(url, { headers: { Cookie: `_rt=${encodeURIComponent(cookie.value)}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/png');
    await res.arrayBuffer();
    const variant = await fetch(file.getVariantUrl('thumb small'), { headers: { Cookie: `_rt=${encodeURIComponent(cookie.value)}` } });
    assert.equal(variant.status, 200);
    await variant.arrayBuffer();

    const refresh = await api(srv.origin, 'POST', '/api/auth/token', { token: login.body.token });
    assert.equal(refresh.status, 200);
    const renewed = parseSetCookie(refresh.headers.get('set-cookie'));
    assert.equal(renewed.value, refresh.body.restrictedToken);
    assert.equal(renewed.attrs.path, '/api');
    assert.equal(renewed.attrs.httponly, true);

    // A failed login sets nothing.
    const bad = await api(srv.origin, 'POST', '/api/auth/login', { body: { username: USER.username, password: 'wrong' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('set-cookie'), null);
  });
});
