// malformed_exp.js: an EXP server that logs anyone in and then answers
// resource requests with documents of the wrong shape, for the resource
// tests.  Usage: node malformed_exp.js
// Listens on 127.0.0.1, a free port, and prints "listening <origin>" on
// one line, like test/server/main.js, so refserver.c runs it the same way
// (its --port argument is ignored; SIGTERM ends it).
'use strict';

const http = require('http');

let origin = '';

function send(res, status, body, type) {
  const bytes = Buffer.from(body);
  res.writeHead(status, {
    'Content-Type': type || 'application/json',
    'Content-Length': bytes.length,
  });
  res.end(bytes);
}

const json = (res, status, obj) => send(res, status, JSON.stringify(obj));

// The login's username picks a bad payload: a token no header can carry,
// an api.host no request can go to, or one with a path before "/api".
const TOKENS = { 'bad-token': 'access\r\nX-Injected: 1', 'ctl-token': 'access\u0001', echo: 'echo-token-5f3a' };
const API_HOSTS = { 'bad-host': 'ftp://nowhere', 'query-host': () => `${origin}/?x=1`, 'prefix': () => `${origin}/prefix/` };

function auth(body) {
  let username = '';
  try { username = JSON.parse(body).username || ''; } catch (e) { /* a refresh */ }
  const host = API_HOSTS[username];
  return {
    token: TOKENS[username] || 'access-token',
    expiration: Date.now() + (username === 'echo' ? 2000 : 3600 * 1000),
    restrictedToken: 'restricted-token',
    api: { host: typeof host === 'function' ? host() : host || origin },
    network: { host: origin },
    identity: { type: 'user', organization: 'scala', uuid: 'user', username: 'u' },
  };
}

// Errors whose message repeats a credential, which the SDK must keep out
// of its log: the login of "echo-401" gets a 401 naming the password, and
// the token of "echo" (short-lived) a refresh error naming the token.
function echoed(what, req, body) {
  let login = {};
  try { login = JSON.parse(body); } catch (e) { /* a refresh */ }
  if (what === 'login' && login.username === 'echo-401')
    return { status: 401, message: `wrong password ${login.password}` };
  const bearer = req.headers.authorization || '';
  if (what === 'token' && bearer.includes('echo-token'))
    return { status: 500, message: `cannot refresh ${bearer}` };
  return null;
}

// Find answers, chosen by the "case" query parameter.
const FINDS = {
  'no-results': { total: 1 },
  'results-object': { results: { uuid: 'a' }, total: 1 },
  'result-number': { results: [{ uuid: 'a' }, 7], total: 2 },
  'total-string': { results: [], total: '3' },
  'total-negative': { results: [], total: -1 },
  'array': [{ uuid: 'a' }],
  'extra': { results: [{ uuid: 'a' }, { uuid: 'b' }], total: 9, page: 2, more: true },
};

// Item answers by uuid.
const ITEMS = {
  'array': () => [1, 2, 3],
  'string': () => 'a device',
  'bad-zones': () => ({ uuid: 'bad-zones', zones: 5 }),
  'bad-zone-key': () => ({ uuid: 'bad-zone-key', zones: [{ key: 'a' }, { name: 'no key' }] }),
  'in-bad-location': () => ({ uuid: 'in-bad-location', location: { uuid: 'bad-zones', zones: [{ key: 'a' }] } }),
  'savable': () => ({ uuid: 'savable', name: 'Savable' }),
};

function handle(req, res) {
  const url = new URL(req.url, origin);
  const segs = url.pathname.split('/').filter((s) => s !== '');
  // Only a client that puts the prefix first finds "prefixed".
  const prefixed = segs[0] === 'prefix';
  if (prefixed) segs.shift();
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    if (segs[0] !== 'api') return json(res, 404, { code: 'not.found', message: 'No such route.' });
    if (segs[1] === 'auth') {
      const body = Buffer.concat(chunks).toString();
      const echo = echoed(segs[2], req, body);
      if (echo) return json(res, echo.status, { code: 'echo', message: echo.message });
      return json(res, 200, auth(body));
    }
    if (segs[segs.length - 1] === 'prefixed') {
      if (!prefixed) return json(res, 404, { code: 'not.found', message: 'Not without the prefix.' });
      return json(res, 200, { uuid: 'prefixed', query: Object.fromEntries(url.searchParams) });
    }
    if (segs.length === 2 || (segs[1] === 'connectors' && segs.length === 3)) {
      const c = url.searchParams.get('case');
      if (c === 'not-json') return send(res, 200, '<html>oops</html>', 'text/html');
      if (c === 'empty') return send(res, 200, '');
      return json(res, 200, FINDS[c] || { results: [], total: 0 });
    }
    const uuid = decodeURIComponent(segs[segs.length - 1]);
    if (uuid === 'teapot') return json(res, 418, { code: 'tea.pot', message: 'I am a teapot.' });
    if (uuid === 'not-json') return send(res, 200, 'not json at all', 'text/plain');
    if (uuid === 'empty') return send(res, 200, '');
    if (req.method === 'PATCH' || req.method === 'PUT') return json(res, 200, 'saved');
    const item = ITEMS[uuid];
    if (!item) return json(res, 404, { code: 'not.found', message: `No ${uuid}.` });
    return json(res, 200, item());
  });
}

const server = http.createServer(handle);
server.listen(0, '127.0.0.1', () => {
  origin = `http://127.0.0.1:${server.address().port}`;
  process.stdout.write(`listening ${origin}\n`);
});
