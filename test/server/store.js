'use strict';
// Persistence for the EXP reference server: SQLite (better-sqlite3, the default, in memory or
// in a file) or PostgreSQL (pg, for several server nodes sharing one database). Every document
// row belongs to an organization; documents are stored as JSON text. The SQL is written once,
// with `?` placeholders, in the dialect both engines accept.

const crypto = require('node:crypto');

// Resource kinds exposed over REST with generic CRUD. Table name per kind.
const KINDS = {
  devices: 'devices',
  things: 'things',
  experiences: 'experiences',
  locations: 'locations',
  feeds: 'feeds',
  content: 'content',
};

function schema(serial, blob) {
  const docs = Object.values(KINDS).map((table) => `CREATE TABLE IF NOT EXISTS ${table} (
      seq ${serial}, org TEXT NOT NULL, uuid TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (org, uuid));`);
  return docs.join('\n') + `
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS device_secrets (uuid TEXT PRIMARY KEY, org TEXT NOT NULL, secret TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS consumer_apps (
      uuid TEXT PRIMARY KEY, org TEXT NOT NULL, api_key TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS users (
      username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, salt TEXT NOT NULL,
      orgs TEXT NOT NULL, doc TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS data (
      seq ${serial}, org TEXT NOT NULL, grp TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
      UNIQUE (org, grp, key));
    CREATE TABLE IF NOT EXISTS files (
      org TEXT NOT NULL, path TEXT NOT NULL, variant TEXT NOT NULL DEFAULT '',
      mime TEXT NOT NULL, bytes ${blob} NOT NULL, PRIMARY KEY (org, path, variant));
    CREATE TABLE IF NOT EXISTS tokens (
      jti TEXT PRIMARY KEY, kind TEXT NOT NULL, issued BIGINT NOT NULL,
      revoked INTEGER NOT NULL DEFAULT 0);
    CREATE TABLE IF NOT EXISTS pairing (
      code TEXT PRIMARY KEY, org TEXT NOT NULL, uuid TEXT NOT NULL, created BIGINT NOT NULL);`;
}

// ---------------- SQLite ----------------
// better-sqlite3 is synchronous; a transaction spans awaits, so other callers wait for it to end
// instead of running their statements inside it.
class SqliteConn {
  constructor(driver, inTx) { this.d = driver; this.inTx = inTx; }
  async ready() { if (!this.inTx) while (this.d.busy) await this.d.busy; }
  async run(sql, params = []) { await this.ready(); return { changes: this.d.stmt(sql).run(...params).changes }; }
  async get(sql, params = []) { await this.ready(); return this.d.stmt(sql).get(...params); }
  async all(sql, params = []) { await this.ready(); return this.d.stmt(sql).all(...params); }
}

class SqliteDriver {
  constructor(file) {
    const Database = require('better-sqlite3');
    this.db = new Database(file || ':memory:');
    this.db.pragma('foreign_keys = ON');
    if (file && file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.statements = new Map();
    this.busy = null;
    this.conn = new SqliteConn(this, false);
  }
  stmt(sql) {
    let s = this.statements.get(sql);
    if (!s) { s = this.db.prepare(sql); this.statements.set(sql, s); }
    return s;
  }
  async init(fn) { this.db.exec(schema('INTEGER PRIMARY KEY AUTOINCREMENT', 'BLOB')); return fn(); }
  async tx(fn) {
    await this.conn.ready();
    let release;
    this.busy = new Promise((resolve) => { release = resolve; });
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const value = await fn(new SqliteConn(this, true));
      this.db.exec('COMMIT');
      return value;
    } catch (e) {
      this.db.exec('ROLLBACK');
      throw e;
    } finally {
      this.busy = null;
      release();
    }
  }
  async close() { try { this.db.close(); } catch (_) { /* already closed */ } }
}

// ---------------- PostgreSQL ----------------
const toPg = (sql) => { let n = 0; return sql.replace(/\?/g, () => `$${++n}`); };

class PgConn {
  constructor(q) { this.q = q; }
  async run(sql, params = []) { return { changes: (await this.q.query(toPg(sql), params)).rowCount }; }
  async get(sql, params = []) { return (await this.q.query(toPg(sql), params)).rows[0]; }
  async all(sql, params = []) { return (await this.q.query(toPg(sql), params)).rows; }
}

// Any key held for the schema and the seeding: nodes starting together do them one at a time.
const INIT_LOCK = 0x45585031;

class PgDriver {
  constructor(url) {
    const { Pool } = require('pg');
    this.pool = new Pool({ connectionString: url, max: 8 });
    // An idle client losing its server (PostgreSQL restarted) must not end the process.
    this.pool.on('error', () => {});
    this.conn = new PgConn(this.pool);
  }
  async init(fn) {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [INIT_LOCK]);
      await client.query(schema('BIGSERIAL PRIMARY KEY', 'BYTEA'));
      return await fn();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [INIT_LOCK]).catch(() => {});
      client.release();
    }
  }
  async tx(fn) {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const value = await fn(new PgConn(client));
      await client.query('COMMIT');
      return value;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }
  async close() { await this.pool.end().catch(() => {}); }
}

// ---------------- the store ----------------
class Store {
  // database: a SQLite file, ':memory:', or a postgres:// (postgresql://) URL.
  static async open(database, init) {
    const driver = /^postgres(ql)?:\/\//.test(database || '') ? new PgDriver(database) : new SqliteDriver(database);
    const store = new Store(driver, driver.conn);
    try {
      if (init) await driver.init(() => init(store));
      else await driver.init(async () => {});
    } catch (e) {
      await driver.close();
      throw e;
    }
    return store;
  }

  constructor(driver, conn) { this.driver = driver; this.c = conn; }

  get kind() { return this.driver instanceof PgDriver ? 'postgres' : 'sqlite'; }

  close() { return this.driver.close(); }

  // Runs fn(store) in one transaction; fn's store sees and writes only through it.
  transaction(fn) { return this.driver.tx((conn) => fn(new Store(this.driver, conn))); }

  // ---- meta ----
  async getMeta(key) { const r = await this.c.get('SELECT value FROM meta WHERE key = ?', [key]); return r ? r.value : undefined; }
  async setMeta(key, value) {
    await this.c.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value', [key, String(value)]);
  }
  // Stores value unless the key has one; answers the stored value.
  async initMeta(key, value) {
    await this.c.run('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING', [key, String(value)]);
    return this.getMeta(key);
  }

  // ---- generic documents ----
  async get(kind, org, uuid) {
    const r = await this.c.get(`SELECT doc FROM ${KINDS[kind]} WHERE org = ? AND uuid = ?`, [org, uuid]);
    return r ? JSON.parse(r.doc) : null;
  }
  async all(kind, org) {
    return (await this.c.all(`SELECT doc FROM ${KINDS[kind]} WHERE org = ? ORDER BY seq`, [org])).map((r) => JSON.parse(r.doc));
  }
  async insert(kind, org, doc) {
    await this.c.run(`INSERT INTO ${KINDS[kind]} (org, uuid, doc) VALUES (?, ?, ?)`, [org, doc.uuid, JSON.stringify(doc)]);
    return doc;
  }
  async update(kind, org, doc) {
    return (await this.c.run(`UPDATE ${KINDS[kind]} SET doc = ? WHERE org = ? AND uuid = ?`, [JSON.stringify(doc), org, doc.uuid])).changes > 0;
  }
  async remove(kind, org, uuid) {
    return (await this.c.run(`DELETE FROM ${KINDS[kind]} WHERE org = ? AND uuid = ?`, [org, uuid])).changes > 0;
  }

  // ---- devices' secrets ----
  async getDeviceSecret(uuid) { return (await this.c.get('SELECT org, secret FROM device_secrets WHERE uuid = ?', [uuid])) || null; }
  async setDeviceSecret(uuid, org, secret) {
    await this.c.run('INSERT INTO device_secrets (uuid, org, secret) VALUES (?, ?, ?) ' +
      'ON CONFLICT (uuid) DO UPDATE SET org = excluded.org, secret = excluded.secret', [uuid, org, secret]);
  }
  async deleteDeviceSecret(uuid) { await this.c.run('DELETE FROM device_secrets WHERE uuid = ?', [uuid]); }

  // ---- consumer apps ----
  async getConsumerApp(uuid) {
    const r = await this.c.get('SELECT org, api_key, doc FROM consumer_apps WHERE uuid = ?', [uuid]);
    return r ? { org: r.org, apiKey: r.api_key, doc: JSON.parse(r.doc) } : null;
  }
  async putConsumerApp(uuid, org, apiKey, doc) {
    await this.c.run('INSERT INTO consumer_apps (uuid, org, api_key, doc) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (uuid) DO UPDATE SET org = excluded.org, api_key = excluded.api_key, doc = excluded.doc',
    [uuid, org, apiKey, JSON.stringify(doc)]);
  }

  // ---- users ----
  static hashPassword(password, salt) {
    return crypto.scryptSync(String(password), salt, 32).toString('hex');
  }
  async putUser(username, password, orgs, doc) {
    const salt = crypto.randomBytes(8).toString('hex');
    await this.c.run('INSERT INTO users (username, password_hash, salt, orgs, doc) VALUES (?, ?, ?, ?, ?) ' +
      'ON CONFLICT (username) DO UPDATE SET password_hash = excluded.password_hash, salt = excluded.salt, ' +
      'orgs = excluded.orgs, doc = excluded.doc',
    [username, Store.hashPassword(password, salt), salt, JSON.stringify(orgs), JSON.stringify(doc)]);
  }
  async checkUser(username, password) {
    const r = await this.c.get('SELECT * FROM users WHERE username = ?', [String(username)]);
    if (!r) return null;
    const a = Buffer.from(Store.hashPassword(password, r.salt), 'hex');
    const b = Buffer.from(r.password_hash, 'hex');
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return null;
    return { username: r.username, orgs: JSON.parse(r.orgs), doc: JSON.parse(r.doc) };
  }
  async getUser(username) {
    const r = await this.c.get('SELECT * FROM users WHERE username = ?', [String(username)]);
    return r ? { username: r.username, orgs: JSON.parse(r.orgs), doc: JSON.parse(r.doc) } : null;
  }

  // ---- data ----
  async getData(org, group, key) {
    const r = await this.c.get('SELECT value FROM data WHERE org = ? AND grp = ? AND key = ?', [org, group, key]);
    return r ? { group, key, value: JSON.parse(r.value) } : null;
  }
  async allData(org) {
    const rows = await this.c.all('SELECT grp, key, value FROM data WHERE org = ? ORDER BY seq', [org]);
    return rows.map((r) => ({ group: r.grp, key: r.key, value: JSON.parse(r.value) }));
  }
  async putData(org, group, key, value) {
    await this.c.run('INSERT INTO data (org, grp, key, value) VALUES (?, ?, ?, ?) ' +
      'ON CONFLICT (org, grp, key) DO UPDATE SET value = excluded.value', [org, group, key, JSON.stringify(value)]);
    return { group, key, value };
  }
  async deleteData(org, group, key) {
    return (await this.c.run('DELETE FROM data WHERE org = ? AND grp = ? AND key = ?', [org, group, key])).changes > 0;
  }

  // ---- delivery files ----
  async getFile(org, path, variant) {
    return (await this.c.get('SELECT mime, bytes FROM files WHERE org = ? AND path = ? AND variant = ?', [org, path, variant || ''])) || null;
  }
  async putFile(org, path, variant, mime, bytes) {
    await this.c.run('INSERT INTO files (org, path, variant, mime, bytes) VALUES (?, ?, ?, ?, ?) ' +
      'ON CONFLICT (org, path, variant) DO UPDATE SET mime = excluded.mime, bytes = excluded.bytes',
    [org, path, variant || '', mime, bytes]);
  }

  // ---- tokens ----
  async addToken(jti, kind) { await this.c.run('INSERT INTO tokens (jti, kind, issued) VALUES (?, ?, ?)', [jti, kind, Date.now()]); }
  async tokenState(jti) {
    const r = await this.c.get('SELECT revoked FROM tokens WHERE jti = ?', [jti]);
    return r ? (r.revoked ? 'revoked' : 'valid') : 'unknown';
  }
  async revokeTokens(kind) {
    const r = kind
      ? await this.c.run('UPDATE tokens SET revoked = 1 WHERE revoked = 0 AND kind = ?', [kind])
      : await this.c.run('UPDATE tokens SET revoked = 1 WHERE revoked = 0');
    return r.changes;
  }

  // ---- pairing codes waiting to be paired ----
  async addPairing(code, org, uuid, created) {
    const r = await this.c.run('INSERT INTO pairing (code, org, uuid, created) VALUES (?, ?, ?, ?) ON CONFLICT (code) DO NOTHING',
      [code, org, uuid, created]);
    return r.changes > 0;
  }
  // Removes the code and answers its session (null when unknown); single use.
  async takePairing(code) {
    const r = await this.c.get('DELETE FROM pairing WHERE code = ? RETURNING code, org, uuid', [code]);
    return r || null;
  }
  async purgePairing(before) { await this.c.run('DELETE FROM pairing WHERE created < ?', [before]); }
  async pairingCodes() { return (await this.c.all('SELECT code FROM pairing ORDER BY created')).map((r) => r.code); }
}

module.exports = { Store, KINDS };
