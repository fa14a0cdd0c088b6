'use strict';
// SQLite persistence for the EXP reference server (better-sqlite3, synchronous).
// Every document row belongs to an organization; documents are stored as JSON text.

const crypto = require('node:crypto');
const Database = require('better-sqlite3');

// Resource kinds exposed over REST with generic CRUD. Table name per kind.
const KINDS = {
  devices: 'devices',
  things: 'things',
  experiences: 'experiences',
  locations: 'locations',
  feeds: 'feeds',
  content: 'content',
};

class Store {
  constructor(file) {
    this.db = new Database(file || ':memory:');
    this.db.pragma('foreign_keys = ON');
    if (file && file !== ':memory:') this.db.pragma('journal_mode = WAL');
    this._schema();
    this._prepare();
  }

  _schema() {
    const db = this.db;
    for (const table of Object.values(KINDS)) {
      db.exec(`CREATE TABLE IF NOT EXISTS ${table} (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        org TEXT NOT NULL,
        uuid TEXT NOT NULL,
        doc TEXT NOT NULL,
        UNIQUE (org, uuid))`);
    }
    db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS device_secrets (uuid TEXT PRIMARY KEY, org TEXT NOT NULL, secret TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS consumer_apps (
        uuid TEXT PRIMARY KEY, org TEXT NOT NULL, api_key TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS users (
        username TEXT PRIMARY KEY, password_hash TEXT NOT NULL, salt TEXT NOT NULL,
        orgs TEXT NOT NULL, doc TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS data (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        org TEXT NOT NULL, grp TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
        UNIQUE (org, grp, key));
      CREATE TABLE IF NOT EXISTS files (
        org TEXT NOT NULL, path TEXT NOT NULL, variant TEXT NOT NULL DEFAULT '',
        mime TEXT NOT NULL, bytes BLOB NOT NULL,
        PRIMARY KEY (org, path, variant));
      CREATE TABLE IF NOT EXISTS tokens (
        jti TEXT PRIMARY KEY, kind TEXT NOT NULL, issued INTEGER NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0);
    `);
  }

  _prepare() {
    const db = this.db;
    this.q = {};
    for (const [kind, table] of Object.entries(KINDS)) {
      this.q[kind] = {
        get: db.prepare(`SELECT doc FROM ${table} WHERE org = ? AND uuid = ?`),
        all: db.prepare(`SELECT doc FROM ${table} WHERE org = ? ORDER BY seq`),
        insert: db.prepare(`INSERT INTO ${table} (org, uuid, doc) VALUES (?, ?, ?)`),
        update: db.prepare(`UPDATE ${table} SET doc = ? WHERE org = ? AND uuid = ?`),
        del: db.prepare(`DELETE FROM ${table} WHERE org = ? AND uuid = ?`),
        anyOrg: db.prepare(`SELECT org FROM ${table} WHERE uuid = ? LIMIT 1`),
      };
    }
    this.q.meta = {
      get: db.prepare('SELECT value FROM meta WHERE key = ?'),
      set: db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value'),
    };
    this.q.secret = {
      get: db.prepare('SELECT org, secret FROM device_secrets WHERE uuid = ?'),
      set: db.prepare('INSERT INTO device_secrets (uuid, org, secret) VALUES (?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET org = excluded.org, secret = excluded.secret'),
      del: db.prepare('DELETE FROM device_secrets WHERE uuid = ?'),
    };
    this.q.consumer = {
      get: db.prepare('SELECT org, api_key, doc FROM consumer_apps WHERE uuid = ?'),
      insert: db.prepare('INSERT OR REPLACE INTO consumer_apps (uuid, org, api_key, doc) VALUES (?, ?, ?, ?)'),
    };
    this.q.user = {
      get: db.prepare('SELECT * FROM users WHERE username = ?'),
      insert: db.prepare('INSERT OR REPLACE INTO users (username, password_hash, salt, orgs, doc) VALUES (?, ?, ?, ?, ?)'),
    };
    this.q.data = {
      get: db.prepare('SELECT value FROM data WHERE org = ? AND grp = ? AND key = ?'),
      all: db.prepare('SELECT grp, key, value FROM data WHERE org = ? ORDER BY seq'),
      byGroup: db.prepare('SELECT grp, key, value FROM data WHERE org = ? AND grp = ? ORDER BY seq'),
      upsert: db.prepare('INSERT INTO data (org, grp, key, value) VALUES (?, ?, ?, ?) ON CONFLICT(org, grp, key) DO UPDATE SET value = excluded.value'),
      del: db.prepare('DELETE FROM data WHERE org = ? AND grp = ? AND key = ?'),
    };
    this.q.file = {
      get: db.prepare('SELECT mime, bytes FROM files WHERE org = ? AND path = ? AND variant = ?'),
      put: db.prepare('INSERT OR REPLACE INTO files (org, path, variant, mime, bytes) VALUES (?, ?, ?, ?, ?)'),
    };
    this.q.token = {
      insert: db.prepare('INSERT INTO tokens (jti, kind, issued) VALUES (?, ?, ?)'),
      get: db.prepare('SELECT revoked FROM tokens WHERE jti = ?'),
      revokeAll: db.prepare('UPDATE tokens SET revoked = 1 WHERE revoked = 0'),
      revokeKind: db.prepare('UPDATE tokens SET revoked = 1 WHERE revoked = 0 AND kind = ?'),
      purge: db.prepare('DELETE FROM tokens WHERE issued < ?'),
    };
  }

  close() { try { this.db.close(); } catch (_) { /* ignore */ } }

  // ---- meta ----
  getMeta(key) { const r = this.q.meta.get.get(key); return r ? r.value : undefined; }
  setMeta(key, value) { this.q.meta.set.run(key, String(value)); }

  // ---- generic documents ----
  get(kind, org, uuid) {
    const r = this.q[kind].get.get(org, uuid);
    return r ? JSON.parse(r.doc) : null;
  }
  all(kind, org) { return this.q[kind].all.all(org).map((r) => JSON.parse(r.doc)); }
  insert(kind, org, doc) { this.q[kind].insert.run(org, doc.uuid, JSON.stringify(doc)); return doc; }
  update(kind, org, doc) { return this.q[kind].update.run(JSON.stringify(doc), org, doc.uuid).changes > 0; }
  remove(kind, org, uuid) { return this.q[kind].del.run(org, uuid).changes > 0; }
  uuidTakenElsewhere(kind, uuid) { return !!this.q[kind].anyOrg.get(uuid); }

  // ---- devices' secrets ----
  getDeviceSecret(uuid) { return this.q.secret.get.get(uuid) || null; }
  setDeviceSecret(uuid, org, secret) { this.q.secret.set.run(uuid, org, secret); }
  deleteDeviceSecret(uuid) { this.q.secret.del.run(uuid); }

  // ---- consumer apps ----
  getConsumerApp(uuid) {
    const r = this.q.consumer.get.get(uuid);
    return r ? { org: r.org, apiKey: r.api_key, doc: JSON.parse(r.doc) } : null;
  }
  putConsumerApp(uuid, org, apiKey, doc) { this.q.consumer.insert.run(uuid, org, apiKey, JSON.stringify(doc)); }

  // ---- users ----
  static hashPassword(password, salt) {
    return crypto.scryptSync(String(password), salt, 32).toString('hex');
  }
  putUser(username, password, orgs, doc) {
    const salt = crypto.randomBytes(8).toString('hex');
    this.q.user.insert.run(username, Store.hashPassword(password, salt), salt, JSON.stringify(orgs), JSON.stringify(doc));
  }
  checkUser(username, password) {
    const r = this.q.user.get.get(String(username));
    if (!r) return null;
    const a = Buffer.from(Store.hashPassword(password, r.salt), 'hex');
    const b = Buffer.from(r.password_hash, 'hex');
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) return null;
    return { username: r.username, orgs: JSON.parse(r.orgs), doc: JSON.parse(r.doc) };
  }
  getUser(username) {
    const r = this.q.user.get.get(String(username));
    return r ? { username: r.username, orgs: JSON.parse(r.orgs), doc: JSON.parse(r.doc) } : null;
  }

  // ---- data ----
  getData(org, group, key) {
    const r = this.q.data.get.get(org, group, key);
    return r ? { group, key, value: JSON.parse(r.value) } : null;
  }
  allData(org, group) {
    const rows = group === undefined ? this.q.data.all.all(org) : this.q.data.byGroup.all(org, group);
    return rows.map((r) => ({ group: r.grp, key: r.key, value: JSON.parse(r.value) }));
  }
  putData(org, group, key, value) { this.q.data.upsert.run(org, group, key, JSON.stringify(value)); return { group, key, value }; }
  deleteData(org, group, key) { return this.q.data.del.run(org, group, key).changes > 0; }

  // ---- delivery files ----
  getFile(org, path, variant) { return this.q.file.get.get(org, path, variant || '') || null; }
  putFile(org, path, variant, mime, bytes) { this.q.file.put.run(org, path, variant || '', mime, bytes); }

  // ---- tokens ----
  addToken(jti, kind) { this.q.token.insert.run(jti, kind, Date.now()); }
  tokenState(jti) { const r = this.q.token.get.get(jti); return r ? (r.revoked ? 'revoked' : 'valid') : 'unknown'; }
  revokeTokens(kind) { return (kind ? this.q.token.revokeKind.run(kind) : this.q.token.revokeAll.run()).changes; }

  transaction(fn) { return this.db.transaction(fn)(); }
}

module.exports = { Store, KINDS };
