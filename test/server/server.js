'use strict';
// EXP reference server: REST API (plain node:http / node:https) plus the real-time network
// (socket.io 4 with Engine.IO 3 clients allowed), persisted in SQLite. See README.md.

const http = require('node:http');
const https = require('node:https');
const fs = require('node:fs');
const crypto = require('node:crypto');
const jwt = require('jsonwebtoken');
const { Server: IOServer } = require('socket.io');
const { Store } = require('./store');
const { seed } = require('./seed');

const MAX_BODY = 16 * 1024 * 1024; // 16 MiB
const MAX_BROADCAST_TIMEOUT = 60000;
const RESTRICTED_TTL = 30 * 24 * 3600; // seconds
const CLOCK_SKEW_MS = 60000;
const PAIRING_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
// Deepest broadcast or response payload accepted. socket.io-parser walks a payload recursively
// and overflows the stack a little past 4000 levels; this keeps a wide margin below that while
// staying above cJSON's limit of 1000, so clients' own depth checks can be exercised.
const MAX_PAYLOAD_DEPTH = 2048;

class HttpError extends Error {
  constructor(status, code, message, extraHeaders) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.headers = extraHeaders;
  }
}

// ------------------------------------------------------------------------------------------
// Channels

function channelId(org, name, system, consumer) {
  return Buffer.from(JSON.stringify([org, name, system ? 1 : 0, consumer ? 1 : 0]), 'utf8').toString('base64');
}

// Decodes a channel id into {org, name, system, consumer}; null when it is not one.
function decodeChannelId(id) {
  if (typeof id !== 'string' || id.length === 0 || id.length > 8192) return null;
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(id)) return null;
  let arr;
  try { arr = JSON.parse(Buffer.from(id, 'base64').toString('utf8')); } catch (_) { return null; }
  if (!Array.isArray(arr) || arr.length < 2 || arr.length > 4) return null;
  const [org, name, system = 0, consumer = 0] = arr;
  if (typeof org !== 'string' || typeof name !== 'string') return null;
  const flag = (f) => f === 1 || f === true ? 1 : f === 0 || f === false || f === null ? 0 : -1;
  const s = flag(system); const c = flag(consumer);
  if (s < 0 || c < 0) return null;
  return { org, name, system: s === 1, consumer: c === 1 };
}

// ------------------------------------------------------------------------------------------
// Find helpers: flat query -> filter / sort / paginate.

const IGNORED_QUERY = new Set(['limit', 'skip', 'sort', 'appContent', 'fields']);

function collectValues(value, parts, i, out) {
  if (Array.isArray(value)) { for (const e of value) collectValues(e, parts, i, out); return; }
  if (i === parts.length) { out.push(value); return; }
  if (value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, parts[i])) {
    collectValues(value[parts[i]], parts, i + 1, out);
  }
}

function valueMatches(v, q) {
  if (typeof v === 'string') return v === q;
  if (typeof v === 'number') return q.trim() !== '' && Number(q) === v;
  if (typeof v === 'boolean') return String(v) === q;
  if (v === null) return q === 'null';
  return false;
}

function buildFilter(params) {
  const conditions = [];
  for (const key of new Set(params.keys())) {
    if (IGNORED_QUERY.has(key) || key.startsWith('_')) continue;
    const wanted = params.getAll(key);
    const contains = key.endsWith('~');
    const path = (contains ? key.slice(0, -1) : key).split('.');
    conditions.push((doc) => {
      const values = [];
      collectValues(doc, path, 0, values);
      if (contains) {
        return wanted.some((q) => values.some((v) => v !== null && typeof v !== 'object' &&
          String(v).toLowerCase().includes(q.toLowerCase())));
      }
      if (values.length === 0) return wanted.includes('null');
      return wanted.some((q) => values.some((v) => valueMatches(v, q)));
    });
  }
  return (doc) => conditions.every((c) => c(doc));
}

function parseCount(params, name) {
  const raw = params.get(name);
  if (raw === null || raw === '') return 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) throw new HttpError(400, 'request.query', `Query parameter ${name} must be a non-negative integer.`);
  return n;
}

function compareValues(a, b) {
  if (a === b) return 0;
  if (a === undefined || a === null) return 1;
  if (b === undefined || b === null) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const sa = typeof a === 'object' ? JSON.stringify(a) : String(a);
  const sb = typeof b === 'object' ? JSON.stringify(b) : String(b);
  return sa < sb ? -1 : sa > sb ? 1 : 0;
}

function find(docs, params) {
  const limit = parseCount(params, 'limit');
  const skip = parseCount(params, 'skip');
  let results = docs.filter(buildFilter(params));
  const sort = params.get('sort');
  if (sort) {
    const keys = sort.split(/[,\s]+/).filter(Boolean).map((s) => {
      const desc = s.startsWith('-');
      return { path: s.replace(/^[-+]/, '').split('.'), desc };
    });
    results = results.map((doc, index) => ({ doc, index }));
    results.sort((x, y) => {
      for (const k of keys) {
        const a = []; collectValues(x.doc, k.path, 0, a);
        const b = []; collectValues(y.doc, k.path, 0, b);
        let c = compareValues(a[0], b[0]);
        if (c !== 0 && k.desc && a[0] !== undefined && b[0] !== undefined) c = -c;
        if (c !== 0) return c;
      }
      return x.index - y.index;
    });
    results = results.map((r) => r.doc);
  }
  const total = results.length;
  results = results.slice(skip, limit > 0 ? skip + limit : undefined);
  return { results, total };
}

// Nesting depth of a parsed JSON value (a scalar is 0, [] is 1), without recursion; stops
// counting once past limit.
function jsonDepth(value, limit) {
  let max = 0;
  const stack = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop();
    if (v === null || typeof v !== 'object') continue;
    if (d > max) { max = d; if (max > limit) return max; }
    for (const k in v) stack.push([v[k], d + 1]);
  }
  return max;
}

function checkPayload(payload) {
  if (jsonDepth(payload, MAX_PAYLOAD_DEPTH) > MAX_PAYLOAD_DEPTH) {
    throw new HttpError(400, 'network.payload', `The payload is nested deeper than ${MAX_PAYLOAD_DEPTH} levels.`);
  }
}

// ------------------------------------------------------------------------------------------
// Document validation

const isObject = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function validateDocument(kind, body) {
  if (!isObject(body)) throw new HttpError(400, 'request.invalid', 'The request body must be a JSON object.');
  const bad = (msg) => { throw new HttpError(400, 'request.invalid', msg); };
  if (body.uuid !== undefined && (typeof body.uuid !== 'string' || body.uuid === '' || body.uuid.length > 256 || body.uuid.includes('/'))) {
    bad('uuid must be a non-empty string without "/".');
  }
  for (const f of ['name', 'subtype']) if (body[f] !== undefined && body[f] !== null && typeof body[f] !== 'string') bad(`${f} must be a string.`);
  for (const f of ['location', 'experience']) {
    if (body[f] === undefined || body[f] === null) continue;
    if (!isObject(body[f])) bad(`${f} must be an object.`);
    if (body[f].uuid !== undefined && body[f].uuid !== null && typeof body[f].uuid !== 'string') bad(`${f}.uuid must be a string.`);
    if (body[f].zones !== undefined && !Array.isArray(body[f].zones)) bad(`${f}.zones must be an array.`);
  }
  if (kind === 'locations' && body.zones !== undefined && body.zones !== null) {
    if (!Array.isArray(body.zones)) bad('zones must be an array.');
    for (const z of body.zones) {
      if (!isObject(z) || typeof z.key !== 'string') bad('every zone must be an object with a string key.');
      if (z.name !== undefined && z.name !== null && typeof z.name !== 'string') bad('zone name must be a string.');
    }
  }
  if (kind === 'feeds' && body.dataType !== undefined && body.dataType !== null && typeof body.dataType !== 'string') bad('dataType must be a string.');
}

// ------------------------------------------------------------------------------------------
// Several nodes: Socket.IO's Redis adapter fans broadcasts out to every node's sockets, and a
// response posted to any node is published on the channel of its broadcast, which the node
// holding that broadcast's request subscribes to while the request is open.

// How long a request waits for Redis before it goes on without the other nodes.
const REDIS_WAIT_MS = 1000;

async function connectRedis(url, log) {
  const { createClient } = require('redis');
  const { createAdapter } = require('@socket.io/redis-adapter');
  const pub = createClient({ url });
  const sub = pub.duplicate();
  // The responses' own clients fail at once while Redis is away instead of queueing: a
  // broadcast waiting for responses, or a response posted, must not wait for Redis to come
  // back. The node then collects the responses posted to it only. (The adapter's clients keep
  // their queue: it does not catch a failed publish.)
  const responses = pub.duplicate({ disableOfflineQueue: true });
  const publisher = pub.duplicate({ disableOfflineQueue: true });
  let lastLog = 0;
  const onError = (e) => {
    // node-redis reconnects by itself; say so once in a while, not once per attempt.
    if (Date.now() - lastLog > 5000) { lastLog = Date.now(); log('[exp-server] redis:', e && e.message ? e.message : e); }
  };
  const clients = [pub, sub, responses, publisher];
  for (const c of clients) c.on('error', onError);
  try {
    await Promise.all(clients.map((c) => c.connect()));
  } catch (e) {
    for (const c of clients) c.destroy();
    throw new Error(`cannot connect to Redis at ${url}: ${e.message}`);
  }
  const channel = (id) => `exp:response:${id}`;
  // A Redis that is connected but does not answer must not hold a request either.
  const bounded = (p) => {
    let timer;
    const late = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${REDIS_WAIT_MS} ms`)), REDIS_WAIT_MS);
    });
    return Promise.race([p, late]).finally(() => clearTimeout(timer));
  };
  return {
    adapter: createAdapter(pub, sub),
    // Collects the responses other nodes publish for broadcast id into entry; answers a
    // function that stops it.
    async listen(id, entry) {
      const onMessage = (text) => {
        let m;
        try { m = JSON.parse(text); } catch (_) { return; }
        if (m && m.org === entry.org) entry.responses.push(m.payload);
      };
      const subscribed = responses.subscribe(channel(id), onMessage);
      const stop = () => { subscribed.then(() => responses.unsubscribe(channel(id), onMessage)).catch(onError); };
      try {
        await bounded(subscribed);
      } catch (e) {
        onError(e);
        stop(); // in case the subscription is made after all
        return null;
      }
      return stop;
    },
    async respond(id, org, payload) {
      try { await bounded(publisher.publish(channel(id), JSON.stringify({ org, payload }))); } catch (e) { onError(e); }
    },
    async close() { await Promise.all(clients.map((c) => c.close().catch(() => c.destroy()))); },
  };
}

// ------------------------------------------------------------------------------------------

async function createExpServer(options = {}) {
  const opts = {
    port: options.port === undefined ? 9000 : options.port,
    host: options.host || '127.0.0.1',
    database: options.database || options.db || ':memory:',
    redis: options.redis,
    jwtSecret: options.jwtSecret,
    tokenTtl: options.tokenTtl || 3600,
    tlsCert: options.tlsCert,
    tlsKey: options.tlsKey,
    verbose: !!options.verbose,
    log: options.log || ((...a) => console.error(...a)),
  };
  // The signing secret: given, or the one stored in the database (made by the first node), so
  // every node sharing a database accepts the tokens of the others.
  let serverSecret = opts.jwtSecret;
  const store = await Store.open(opts.database, async (st) => {
    await seed(st);
    if (!serverSecret) serverSecret = await st.initMeta('jwtSecret', crypto.randomBytes(32).toString('hex'));
  });
  let redis = null;
  try {
    if (opts.redis) redis = await connectRedis(opts.redis, opts.log);
  } catch (e) {
    await store.close();
    throw e;
  }

  const tls = !!(opts.tlsCert && opts.tlsKey);
  const pending = new Map(); // broadcast id -> {org, responses}: the broadcasts this node holds open
  let refusal = null; // {method, status, code}: set by POST /_test/refuse
  let listenOrigin = null;

  // ---------------- tokens ----------------
  async function issueToken(identity, kind, ttlSeconds) {
    const jti = crypto.randomUUID();
    await store.addToken(jti, identity.isPairing ? 'pairing' : kind);
    const token = jwt.sign({ kind, identity }, serverSecret, { algorithm: 'HS256', expiresIn: ttlSeconds, jwtid: jti });
    return { token, jti };
  }

  async function authPayload(req, identity) {
    const origin = requestOrigin(req);
    const access = await issueToken(identity, 'access', opts.tokenTtl);
    const restricted = await issueToken(identity, 'restricted', identity.isPairing ? opts.tokenTtl : Math.max(RESTRICTED_TTL, opts.tokenTtl));
    const decoded = jwt.decode(access.token);
    return {
      token: access.token,
      expiration: decoded.exp * 1000,
      restrictedToken: restricted.token,
      api: { host: origin },
      network: { host: origin },
      identity,
    };
  }

  // The restricted token as the _rt cookie, so that a browser loads delivery URLs without _rt in
  // them (the JS SDK 5's getUrl() leaves it out). Cross-site use needs Secure, hence https.
  function restrictedCookie(payload) {
    const claims = jwt.decode(payload.restrictedToken);
    const maxAge = Math.max(0, claims.exp - Math.floor(Date.now() / 1000));
    const cookie = `_rt=${encodeURIComponent(payload.restrictedToken)}; Path=/api; HttpOnly; Max-Age=${maxAge}` +
      (tls ? '; Secure; SameSite=None' : '; SameSite=Lax');
    return { 'Set-Cookie': cookie };
  }

  // Verifies one of our tokens. Returns the claims or throws a 401.
  async function verifyServerToken(token) {
    if (typeof token !== 'string' || token === '') throw new HttpError(401, 'auth.invalid', 'Missing bearer token.');
    let claims;
    try {
      claims = jwt.verify(token, serverSecret, { algorithms: ['HS256'] });
    } catch (e) {
      if (e && e.name === 'TokenExpiredError') throw new HttpError(401, 'auth.invalid', 'Token has expired.');
      throw new HttpError(401, 'auth.invalid', 'Invalid token.');
    }
    if (!claims || !isObject(claims.identity) || typeof claims.jti !== 'string') throw new HttpError(401, 'auth.invalid', 'Invalid token.');
    const state = await store.tokenState(claims.jti);
    if (state === 'revoked') throw new HttpError(401, 'auth.invalid', 'Token has been revoked.');
    if (state !== 'valid') throw new HttpError(401, 'auth.invalid', 'Unknown token.');
    return claims;
  }

  function bearer(req) {
    const h = req.headers.authorization;
    if (typeof h !== 'string') return null;
    const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(h);
    return m ? m[1] : null;
  }

  function cookie(req, name) {
    const h = req.headers.cookie;
    if (typeof h !== 'string') return null;
    for (const part of h.split(';')) {
      const i = part.indexOf('=');
      if (i > 0 && part.slice(0, i).trim() === name) {
        try { return decodeURIComponent(part.slice(i + 1).trim()); } catch (_) { return null; }
      }
    }
    return null;
  }

  // REST authentication: full (non-restricted) token; pairing tokens refused unless allowed.
  async function authenticate(req) {
    const token = bearer(req);
    if (!token) throw new HttpError(401, 'auth.invalid', 'Authorization: Bearer <token> is required.');
    const claims = await verifyServerToken(token);
    if (claims.kind !== 'access') throw new HttpError(401, 'auth.invalid', 'A restricted token is only valid for delivery and layout requests.');
    if (claims.identity.isPairing) throw new HttpError(403, 'auth.pairing', 'Requests are not allowed in pairing mode.');
    return claims.identity;
  }

  // Delivery/layout authentication: _rt query, _rt cookie, or bearer header; restricted or full token.
  async function authenticateDelivery(req, url) {
    const token = url.searchParams.get('_rt') || cookie(req, '_rt') || bearer(req);
    if (!token) throw new HttpError(401, 'auth.invalid', 'A restricted token (_rt) is required.');
    const claims = await verifyServerToken(token);
    if (claims.identity.isPairing) throw new HttpError(403, 'auth.pairing', 'Requests are not allowed in pairing mode.');
    return claims.identity;
  }

  // Checks a client JWT signed with a device secret or API key.
  function verifyClientJwt(token, secret) {
    if (typeof secret !== 'string' || secret === '') return false;
    let claims;
    try {
      claims = jwt.verify(token, secret, { algorithms: ['HS256'], ignoreExpiration: true, ignoreNotBefore: false });
    } catch (_) { return false; }
    if (claims.exp !== undefined && claims.exp !== null) {
      if (typeof claims.exp !== 'number') return false;
      const expMs = claims.exp > 1e11 ? claims.exp : claims.exp * 1000;
      if (expMs + CLOCK_SKEW_MS < Date.now()) return false;
    }
    return true;
  }

  async function newPairingIdentity() {
    await store.purgePairing(Date.now() - 24 * 3600 * 1000);
    let code; let org; let uuid;
    do {
      code = Array.from(crypto.randomBytes(6), (b) => PAIRING_ALPHABET[b % PAIRING_ALPHABET.length]).join('');
      org = `pairing:${code}`;
      uuid = `pairing-${crypto.randomUUID()}`;
    } while (!await store.addPairing(code, org, uuid, Date.now()));
    return { type: 'device', organization: org, uuid, isPairing: true, pairingCode: code };
  }

  async function login(body) {
    const invalid = () => new HttpError(401, 'auth.invalid', 'Invalid credentials.');
    if (!isObject(body)) throw new HttpError(400, 'request.invalid', 'The login body must be a JSON object.');
    if (body.token !== undefined) {
      if (typeof body.token !== 'string') throw new HttpError(400, 'request.invalid', 'token must be a string.');
      const decoded = jwt.decode(body.token);
      if (!isObject(decoded)) throw invalid();
      const type = decoded.type || 'device';
      const uuid = decoded.uuid;
      if (type === 'consumerApp') {
        const app = typeof uuid === 'string' ? await store.getConsumerApp(uuid) : null;
        if (app && verifyClientJwt(body.token, app.apiKey)) return { type: 'consumerApp', organization: app.org, uuid };
        throw invalid();
      }
      if (type === 'device') {
        const rec = typeof uuid === 'string' ? await store.getDeviceSecret(uuid) : null;
        if (rec && await store.get('devices', rec.org, uuid) && verifyClientJwt(body.token, rec.secret)) {
          return { type: 'device', organization: rec.org, uuid };
        }
        if (decoded.allowPairing === true) return await newPairingIdentity();
        throw invalid();
      }
      throw invalid();
    }
    const { username, password, organization } = body;
    if (username === undefined || password === undefined) throw invalid();
    if (typeof username !== 'string' || typeof password !== 'string' ||
        (organization !== undefined && organization !== null && typeof organization !== 'string')) {
      throw new HttpError(400, 'request.invalid', 'username, password and organization must be strings.');
    }
    const user = await store.checkUser(username, password);
    if (!user) throw invalid();
    const org = organization || user.orgs[0];
    if (!user.orgs.includes(org)) throw invalid();
    return { type: 'user', organization: org, uuid: user.doc.uuid, username: user.username, role: user.doc.role };
  }

  async function identityStillValid(identity) {
    if (identity.type === 'device') return !!await store.get('devices', identity.organization, identity.uuid);
    if (identity.type === 'consumerApp') { const a = await store.getConsumerApp(identity.uuid); return !!a && a.org === identity.organization; }
    if (identity.type === 'user') { const u = await store.getUser(identity.username); return !!u && u.orgs.includes(identity.organization); }
    return false;
  }

  // ---------------- HTTP plumbing ----------------
  function requestOrigin(req) {
    const host = req && typeof req.headers.host === 'string' && /^[A-Za-z0-9.\-_:[\]]+$/.test(req.headers.host) ? req.headers.host : null;
    return host ? `${tls ? 'https' : 'http'}://${host}` : listenOrigin;
  }

  function setCors(req, res) {
    const origin = req.headers.origin;
    if (origin) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
  }

  function sendJson(res, status, value, headers) {
    if (res.headersSent || res.writableEnded) return;
    const body = value === undefined ? '' : JSON.stringify(value);
    res.writeHead(status, Object.assign({
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
    }, headers || {}));
    res.end(body);
  }

  function sendBytes(req, res, status, mime, bytes) {
    res.writeHead(status, { 'Content-Type': mime, 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > MAX_BODY) {
        reject(new HttpError(413, 'request.too_large', `The request body exceeds ${MAX_BODY} bytes.`));
        return;
      }
      const chunks = []; let size = 0; let done = false;
      const onData = (c) => {
        if (done) return;
        size += c.length;
        if (size > MAX_BODY) {
          done = true;
          chunks.length = 0;
          req.removeListener('data', onData);
          reject(new HttpError(413, 'request.too_large', `The request body exceeds ${MAX_BODY} bytes.`));
          return;
        }
        chunks.push(c);
      };
      req.on('data', onData);
      req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(chunks)); } });
      req.on('error', (e) => { if (!done) { done = true; reject(e); } });
    });
  }

  async function readJson(req, { required = true } = {}) {
    const buf = await readBody(req);
    const text = buf.toString('utf8');
    if (text.trim() === '') {
      if (required) throw new HttpError(400, 'request.json', 'A JSON request body is required.');
      return undefined;
    }
    try { return JSON.parse(text); } catch (e) {
      throw new HttpError(400, 'request.json', `Malformed JSON body: ${e.message}`);
    }
  }

  function decodeSegment(s) {
    try { return decodeURIComponent(s); } catch (_) { throw new HttpError(400, 'request.path', 'Malformed percent-encoding in the path.'); }
  }

  function isLoopback(req) {
    const a = req.socket.remoteAddress || '';
    return a === '::1' || a.startsWith('127.') || a.startsWith('::ffff:127.');
  }

  // ---------------- real-time ----------------
  let io = null;
  function emitOn(channel, name, payload, id) {
    if (!io) return;
    io.to(channel).emit('broadcast', { id: id || crypto.randomUUID(), name, channel, payload });
  }
  function emitSystem(org, channelName, name, payload) {
    emitOn(channelId(org, channelName, true, false), name, payload);
  }

  // ---------------- route handlers ----------------
  const RESOURCE_PATHS = {
    devices: 'devices', things: 'things', experiences: 'experiences', locations: 'locations',
  };

  function publicDevice(doc, secret) {
    return secret === undefined ? doc : Object.assign({}, doc, { secret });
  }

  async function createResource(kind, identity, body) {
    validateDocument(kind, body);
    const org = identity.organization;
    const doc = Object.assign({}, body);
    if (kind === 'devices') delete doc.secret;
    if (doc.uuid === undefined) doc.uuid = crypto.randomUUID();
    if (await store.get(kind, org, doc.uuid) || (kind === 'devices' && await store.getDeviceSecret(doc.uuid))) {
      throw new HttpError(409, 'conflict', `A document with uuid ${doc.uuid} already exists.`);
    }
    let secret;
    await store.transaction(async (tx) => {
      await tx.insert(kind, org, doc);
      if (kind === 'devices') { secret = crypto.randomBytes(16).toString('hex'); await tx.setDeviceSecret(doc.uuid, org, secret); }
    });
    emitSystem(org, doc.uuid, 'update', doc);
    return kind === 'devices' ? publicDevice(doc, secret) : doc;
  }

  async function saveResource(kind, identity, uuid, body) {
    validateDocument(kind, body);
    const org = identity.organization;
    if (!await store.get(kind, org, uuid)) throw new HttpError(404, 'not.found', `No ${kind} document with uuid ${uuid}.`);
    const doc = Object.assign({}, body, { uuid });
    if (kind === 'devices') delete doc.secret;
    await store.update(kind, org, doc);
    emitSystem(org, uuid, 'update', doc);
    return doc;
  }

  async function deleteResource(kind, identity, uuid) {
    const org = identity.organization;
    const ok = await store.transaction(async (tx) => {
      const removed = await tx.remove(kind, org, uuid);
      if (removed && kind === 'devices') await tx.deleteDeviceSecret(uuid);
      return removed;
    });
    if (!ok) throw new HttpError(404, 'not.found', `No ${kind} document with uuid ${uuid}.`);
    emitSystem(org, uuid, 'delete', { uuid });
    return {};
  }

  async function getResource(kind, identity, uuid) {
    const doc = await store.get(kind, identity.organization, uuid);
    if (!doc) throw new HttpError(404, 'not.found', `No ${kind} document with uuid ${uuid}.`);
    return doc;
  }

  async function handleCollection(req, res, kind, identity, rest, url) {
    const m = req.method;
    const readOnly = kind === 'content';
    if (rest.length === 0) {
      if (m === 'GET') return sendJson(res, 200, find(await store.all(kind, identity.organization), url.searchParams));
      if (m === 'POST' && !readOnly) return sendJson(res, 200, await createResource(kind, identity, await readJson(req)));
      throw methodNotAllowed();
    }
    const uuid = decodeSegment(rest[0]);
    if (rest.length === 1) {
      if (m === 'GET') return sendJson(res, 200, await getResource(kind, identity, uuid));
      if (readOnly) throw methodNotAllowed();
      if (m === 'PATCH' || m === 'PUT') return sendJson(res, 200, await saveResource(kind, identity, uuid, await readJson(req)));
      if (m === 'DELETE') return sendJson(res, 200, await deleteResource(kind, identity, uuid));
      throw methodNotAllowed();
    }
    if (rest.length === 2 && kind === 'feeds' && rest[1] === 'data') {
      if (m !== 'GET') throw methodNotAllowed();
      return sendJson(res, 200, feedData(await getResource(kind, identity, uuid), url.searchParams));
    }
    if (rest.length === 2 && kind === 'content' && rest[1] === 'children') {
      if (m !== 'GET') throw methodNotAllowed();
      const doc = await getResource(kind, identity, uuid);
      const children = (await store.all('content', identity.organization)).filter((d) => d.parent === uuid);
      return sendJson(res, 200, Object.assign({}, doc, { children }));
    }
    throw notFound();
  }

  function feedData(feed, params) {
    const query = {};
    for (const k of params.keys()) query[k] = params.get(k);
    if (feed.dataType === 'dynamic') {
      const searchValue = params.get('searchValue') !== null ? params.get('searchValue') : (feed.searchValue || '');
      return {
        feed: { uuid: feed.uuid, name: feed.name, subtype: feed.subtype },
        search: { search: searchValue },
        query,
        items: [{ title: `Result for ${searchValue}`, value: searchValue }],
        generated: new Date().toISOString(),
      };
    }
    if (feed.data !== undefined) return feed.data;
    return { feed: { uuid: feed.uuid, name: feed.name, subtype: feed.subtype }, items: [{ title: feed.name || feed.uuid }] };
  }

  async function handleData(req, res, identity, rest, url) {
    const org = identity.organization;
    if (rest.length === 0) {
      if (req.method !== 'GET') throw methodNotAllowed();
      return sendJson(res, 200, find(await store.allData(org), url.searchParams));
    }
    if (rest.length !== 2) throw notFound();
    const group = decodeSegment(rest[0]);
    const key = decodeSegment(rest[1]);
    if (group === '' || key === '') throw notFound();
    const channel = `data:${key}:${group}`;
    if (req.method === 'GET') {
      const item = await store.getData(org, group, key);
      if (!item) throw new HttpError(404, 'not.found', `No data item ${group}/${key}.`);
      return sendJson(res, 200, item);
    }
    if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') {
      const value = await readJson(req);
      if (!isObject(value)) throw new HttpError(400, 'request.invalid', 'A data value must be a JSON object.');
      const item = await store.putData(org, group, key, value);
      emitSystem(org, channel, 'update', item);
      return sendJson(res, 200, item);
    }
    if (req.method === 'DELETE') {
      if (!await store.deleteData(org, group, key)) throw new HttpError(404, 'not.found', `No data item ${group}/${key}.`);
      emitSystem(org, channel, 'delete', { group, key });
      return sendJson(res, 200, {});
    }
    throw methodNotAllowed();
  }

  async function handlePair(req, res, identity) {
    if (req.method !== 'POST') throw methodNotAllowed();
    if (identity.type !== 'user') throw new HttpError(403, 'auth.user', 'Only users can pair devices.');
    const body = await readJson(req);
    if (!isObject(body) || typeof body.pairingCode !== 'string') throw new HttpError(400, 'request.invalid', 'pairingCode (string) is required.');
    if (body.uuid !== undefined && body.uuid !== null && typeof body.uuid !== 'string') throw new HttpError(400, 'request.invalid', 'uuid must be a string.');
    const code = body.pairingCode.toUpperCase().replace(/[\s-]/g, '');
    const org = identity.organization;
    // The code is used up only when the pairing succeeds (a failure rolls its removal back).
    const { session, doc, secret } = await store.transaction(async (tx) => {
      const session = await tx.takePairing(code);
      if (!session) throw new HttpError(404, 'not.found', 'No device is waiting with this pairing code.');
      let doc;
      if (body.uuid) {
        doc = await tx.get('devices', org, body.uuid);
        if (!doc) throw new HttpError(404, 'not.found', `No device with uuid ${body.uuid}.`);
      } else {
        doc = { uuid: crypto.randomUUID(), name: `Paired device ${code}`, subtype: 'scala:device:player' };
        await tx.insert('devices', org, doc);
      }
      const secret = crypto.randomBytes(16).toString('hex');
      await tx.setDeviceSecret(doc.uuid, org, secret);
      return { session, doc, secret };
    });
    emitSystem(session.org, 'pairing', 'credentials', { uuid: doc.uuid, secret });
    emitSystem(org, doc.uuid, 'update', doc);
    return sendJson(res, 200, publicDevice(doc, secret));
  }

  async function handleBroadcast(req, res, identity, url) {
    if (req.method !== 'POST') throw methodNotAllowed();
    const raw = url.searchParams.get('timeout');
    let timeout = 0;
    if (raw !== null && raw !== '' && raw !== 'undefined' && raw !== 'null') {
      timeout = Number(raw);
      if (!Number.isInteger(timeout) || timeout < 0 || timeout > MAX_BROADCAST_TIMEOUT) {
        throw new HttpError(400, 'network.timeout', `timeout must be an integer number of milliseconds from 0 to ${MAX_BROADCAST_TIMEOUT}.`);
      }
    }
    const body = await readJson(req);
    if (!isObject(body)) throw new HttpError(400, 'request.invalid', 'The broadcast body must be a JSON object.');
    if (typeof body.name !== 'string' || body.name === '') throw new HttpError(400, 'request.invalid', 'name must be a non-empty string.');
    let channel; let ch;
    if (typeof body.channel === 'string') {
      ch = decodeChannelId(body.channel);
      if (!ch) throw new HttpError(400, 'network.channel', 'channel is not a valid channel id.');
      channel = body.channel;
    } else if (isObject(body.channel) && typeof body.channel.name === 'string') {
      ch = { org: identity.organization, name: body.channel.name, system: !!body.channel.system, consumer: !!body.channel.consumer };
      channel = channelId(ch.org, ch.name, ch.system, ch.consumer);
    } else {
      throw new HttpError(400, 'network.channel', 'channel must be a channel id or {name, system?, consumer?}.');
    }
    if (ch.org !== identity.organization) throw new HttpError(403, 'network.organization', 'The channel belongs to another organization.');
    if (ch.system) throw new HttpError(403, 'network.system', 'Only the system can broadcast on a system channel.');
    if (identity.type === 'consumerApp' && !ch.consumer) throw new HttpError(403, 'network.consumer', 'A consumer app may only broadcast on consumer channels.');

    checkPayload(body.payload);

    const id = crypto.randomUUID();
    const entry = { org: identity.organization, responses: [] };
    pending.set(id, entry);
    // Responses posted to other nodes come through Redis, on a channel of this broadcast's own.
    const remote = timeout > 0 && redis ? await redis.listen(id, entry) : null;
    try {
      emitOn(channel, body.name, body.payload === undefined ? null : body.payload, id);
    } catch (e) {
      pending.delete(id);
      if (remote) remote();
      throw new HttpError(400, 'network.payload', `The payload cannot be sent: ${e.message}`);
    }
    if (timeout === 0) {
      pending.delete(id);
      return sendJson(res, 200, []);
    }
    await new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        res.removeListener('close', onClose);
        pending.delete(id);
        if (remote) remote();
        resolve();
      };
      const timer = setTimeout(() => { finish(); sendJson(res, 200, entry.responses); }, timeout);
      const onClose = () => { if (!res.writableEnded) finish(); };
      res.on('close', onClose);
    });
  }

  async function handleResponse(req, res, identity) {
    if (req.method !== 'POST') throw methodNotAllowed();
    const body = await readJson(req);
    if (!isObject(body)) throw new HttpError(400, 'request.invalid', 'The response body must be a JSON object.');
    checkPayload(body.payload);
    const payload = body.payload === undefined ? null : body.payload;
    const entry = typeof body.id === 'string' ? pending.get(body.id) : undefined;
    if (entry) {
      if (entry.org === identity.organization) entry.responses.push(payload);
    } else if (redis && typeof body.id === 'string' && body.id !== '' && body.id.length <= 256) {
      await redis.respond(body.id, identity.organization, payload);
    }
    return sendJson(res, 200, {});
  }

  function layoutSvg(location) {
    const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    const zones = Array.isArray(location.zones) ? location.zones : [];
    const w = 200 * Math.max(zones.length, 1);
    const rects = zones.map((z, i) => `<rect x="${i * 200 + 10}" y="10" width="180" height="80" fill="#ddd" stroke="#333"/>` +
      `<text x="${i * 200 + 20}" y="55">${esc(z.name || z.key)}</text>`).join('');
    return Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="100">` +
      `<title>${esc(location.name || location.uuid)}</title>${rects}</svg>\n`, 'utf8');
  }

  async function handleDelivery(req, res, url) {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed();
    const identity = await authenticateDelivery(req, url);
    const rawPath = url.pathname.slice('/api/delivery'.length);
    const path = '/' + rawPath.split('/').filter((s) => s !== '').map(decodeSegment).join('/');
    const org = identity.organization;
    if (!path.startsWith(`/${org}/`)) throw new HttpError(404, 'not.found', 'No such content.');
    const variant = url.searchParams.get('variant');
    const file = await store.getFile(org, path, variant || '');
    if (!file) throw new HttpError(404, 'not.found', variant ? `No variant ${variant} of ${path}.` : `No content at ${path}.`);
    return sendBytes(req, res, 200, file.mime, file.bytes);
  }

  async function handleLayout(req, res, url, uuidSeg) {
    if (req.method !== 'GET' && req.method !== 'HEAD') throw methodNotAllowed();
    const identity = await authenticateDelivery(req, url);
    const location = await getResource('locations', identity, decodeSegment(uuidSeg));
    return sendBytes(req, res, 200, 'image/svg+xml', layoutSvg(location));
  }

  function notFound() { return new HttpError(404, 'not.found', 'No such route.'); }
  function methodNotAllowed() { return new HttpError(405, 'request.method', 'Method not allowed on this route.'); }

  async function route(req, res) {
    const url = new URL(req.url, 'http://localhost');
    const segs = url.pathname.split('/').slice(1);
    if (segs.length && segs[segs.length - 1] === '') segs.pop();

    if (req.method === 'OPTIONS') {
      res.writeHead(204, {
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] || 'Authorization, Content-Type, Accept',
        'Access-Control-Max-Age': '600',
      });
      return res.end();
    }

    // Test hooks (loopback only, no auth).
    if (segs[0] === '_test') {
      if (!isLoopback(req)) throw new HttpError(403, 'test.forbidden', 'Test hooks are only available on loopback.');
      if (segs[1] === 'revoke' && segs.length === 2) {
        if (req.method !== 'POST') throw methodNotAllowed();
        const kind = url.searchParams.get('kind');
        if (kind !== null && !['access', 'restricted', 'pairing'].includes(kind)) throw new HttpError(400, 'request.query', 'kind must be access, restricted or pairing.');
        const revoked = await store.revokeTokens(kind || undefined);
        let disconnected = 0;
        if (url.searchParams.get('disconnect') === '1' && io) {
          // Every node's sockets, through the adapter.
          for (const s of await io.fetchSockets()) {
            if (await store.tokenState(s.data.jti) === 'revoked') { s.disconnect(true); disconnected++; }
          }
        }
        return sendJson(res, 200, { revoked, disconnected });
      }
      if (segs[1] === 'refuse' && segs.length === 2) {
        if (req.method !== 'POST') throw methodNotAllowed();
        const status = Number(url.searchParams.get('status') || '401');
        if (status === 0) { refusal = null; return sendJson(res, 200, { refusing: null }); }
        if (!Number.isInteger(status) || status < 400 || status > 599) throw new HttpError(400, 'request.query', 'status must be 0 or 400..599.');
        const method = url.searchParams.get('method');
        refusal = {
          method: method ? method.toUpperCase() : null,
          status,
          code: url.searchParams.get('code') || (status === 401 ? 'auth.invalid' : 'test.refused'),
        };
        return sendJson(res, 200, { refusing: refusal });
      }
      if (segs[1] === 'pairing' && segs.length === 2 && req.method === 'GET') {
        return sendJson(res, 200, { codes: await store.pairingCodes() });
      }
      throw notFound();
    }

    if (segs[0] !== 'api') throw notFound();

    if (segs[1] === 'auth' && segs.length === 3) {
      if (segs[2] === 'login') {
        if (req.method !== 'POST') throw methodNotAllowed();
        const body = await readJson(req);
        const payload = await authPayload(req, await login(body));
        return sendJson(res, 200, payload, restrictedCookie(payload));
      }
      if (segs[2] === 'token') {
        if (req.method !== 'POST') throw methodNotAllowed();
        const token = bearer(req);
        if (!token) throw new HttpError(401, 'auth.invalid', 'Authorization: Bearer <token> is required.');
        const claims = await verifyServerToken(token);
        if (claims.kind !== 'access') throw new HttpError(401, 'auth.invalid', 'A restricted token cannot be refreshed.');
        if (claims.identity.isPairing) throw new HttpError(401, 'auth.pairing', 'Pairing-mode tokens cannot be refreshed.');
        if (!await identityStillValid(claims.identity)) throw new HttpError(401, 'auth.invalid', 'The identity no longer exists.');
        await readBody(req); // drain any body
        const payload = await authPayload(req, claims.identity);
        return sendJson(res, 200, payload, restrictedCookie(payload));
      }
    }

    if (refusal && (refusal.method === null || refusal.method === req.method)) {
      throw new HttpError(refusal.status, refusal.code, `Refused by the test hook (${refusal.status} to ${refusal.method || 'every method'}).`);
    }

    if (segs[1] === 'delivery' && segs.length >= 3) return handleDelivery(req, res, url);
    if (segs[1] === 'locations' && segs.length === 4 && segs[3] === 'layout') return handleLayout(req, res, url, segs[2]);

    // Everything below needs a full token.
    const identity = await authenticate(req);
    const rest = segs.slice(2);
    switch (segs[1]) {
      case 'devices':
        if (rest.length === 1 && rest[0] === 'pair') return handlePair(req, res, identity);
        return handleCollection(req, res, 'devices', identity, rest, url);
      case 'things': case 'experiences': case 'locations':
        return handleCollection(req, res, RESOURCE_PATHS[segs[1]], identity, rest, url);
      case 'content':
        return handleCollection(req, res, 'content', identity, rest, url);
      case 'connectors':
        if (rest[0] === 'feeds') return handleCollection(req, res, 'feeds', identity, rest.slice(1), url);
        break;
      case 'data':
        return handleData(req, res, identity, rest, url);
      case 'networks':
        if (rest.length === 2 && rest[0] === 'current' && rest[1] === 'broadcasts') return handleBroadcast(req, res, identity, url);
        if (rest.length === 2 && rest[0] === 'current' && rest[1] === 'responses') return handleResponse(req, res, identity);
        break;
      case 'users':
        if (rest.length === 1 && rest[0] === 'current') {
          if (req.method !== 'GET') throw methodNotAllowed();
          if (identity.type !== 'user') throw new HttpError(403, 'auth.user', 'Only users have a current user.');
          const user = await store.getUser(identity.username);
          if (!user) throw new HttpError(404, 'not.found', 'No such user.');
          return sendJson(res, 200, Object.assign({}, user.doc, { organization: identity.organization, organizations: user.orgs }));
        }
        break;
      default:
        break;
    }
    throw notFound();
  }

  async function onRequest(req, res) {
    const started = Date.now();
    setCors(req, res);
    try {
      await route(req, res);
    } catch (err) {
      if (err instanceof HttpError) {
        const headers = Object.assign({}, err.headers || {});
        if (err.status === 413) {
          // Stop buffering and answer at once. The rest of the body is read and thrown away so
          // the client (which is usually still writing) can read the answer; the connection is
          // closed once the body has ended, or after 10 s.
          req.removeAllListeners('data');
          req.resume();
          const t = setTimeout(() => req.socket.destroy(), 10000); t.unref();
          req.socket.once('close', () => clearTimeout(t));
        }
        sendJson(res, err.status, { code: err.code, message: err.message }, headers);
      } else {
        opts.log('[exp-server] handler error:', err && err.stack ? err.stack : err);
        if (!res.headersSent) sendJson(res, 500, { code: 'server.error', message: 'Internal server error.' });
        else res.destroy();
      }
    } finally {
      if (opts.verbose) opts.log(`[exp-server] ${req.method} ${req.url} -> ${res.statusCode} (${Date.now() - started} ms)`);
    }
  }

  const server = tls
    ? https.createServer({ cert: fs.readFileSync(opts.tlsCert), key: fs.readFileSync(opts.tlsKey) }, onRequest)
    : http.createServer(onRequest);
  server.keepAliveTimeout = 30000;
  server.headersTimeout = 35000;
  server.requestTimeout = 0; // broadcasts may be held up to 60 s

  io = new IOServer(server, {
    path: '/socket.io/',
    allowEIO3: true,
    serveClient: false,
    cors: { origin: true, credentials: true },
  });
  if (redis) io.adapter(redis.adapter);
  io.use(async (socket, next) => {
    const q = socket.handshake.query || {};
    const token = q.token || (socket.handshake.auth && socket.handshake.auth.token);
    try {
      const claims = await verifyServerToken(Array.isArray(token) ? token[0] : token);
      if (claims.kind !== 'access') throw new HttpError(401, 'auth.invalid', 'A restricted token cannot open a socket.');
      socket.data.identity = claims.identity;
      socket.data.jti = claims.jti;
      next();
    } catch (e) {
      const err = new Error(e.message || 'auth.invalid');
      err.data = { code: e.code || 'auth.invalid', message: e.message };
      next(err);
    }
  });
  io.on('connection', (socket) => {
    const identity = socket.data.identity;
    if (opts.verbose) opts.log(`[exp-server] socket connected ${identity.type} ${identity.uuid} (EIO${socket.conn.protocol})`);
    socket.on('subscribe', (ids) => {
      try {
        const list = Array.isArray(ids) ? ids : typeof ids === 'string' ? [ids] : [];
        const accepted = [];
        for (const id of list) {
          const ch = decodeChannelId(id);
          if (!ch || ch.org !== identity.organization) continue;
          if (identity.type === 'consumerApp' && !ch.consumer) continue;
          socket.join(id);
          accepted.push(id);
        }
        socket.emit('subscribed', accepted);
      } catch (e) {
        opts.log('[exp-server] subscribe error:', e);
      }
    });
    socket.on('error', (e) => opts.log('[exp-server] socket error:', e && e.message));
  });

  function listen() {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
        server.removeListener('error', reject);
        const addr = server.address();
        const host = addr.family === 'IPv6' || addr.family === 6 ? `[${addr.address}]` : addr.address;
        listenOrigin = `${tls ? 'https' : 'http'}://${host}:${addr.port}`;
        resolve(listenOrigin);
      });
    });
  }

  let closed = false;
  function close() {
    if (closed) return Promise.resolve();
    closed = true;
    return new Promise((resolve) => {
      io.close();
      server.close(() => resolve());
      if (server.closeAllConnections) server.closeAllConnections();
      setTimeout(resolve, 1000).unref();
    }).then(() => (redis ? redis.close() : undefined)).then(() => store.close());
  }

  return { server, io, store, listen, close, get origin() { return listenOrigin; } };
}

module.exports = { createExpServer, channelId, decodeChannelId, find, HttpError, MAX_BODY };
