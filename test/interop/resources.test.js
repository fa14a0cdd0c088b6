'use strict';
// Interop: exp-sdk@5.0.0 resource CRUD, find, data and content against the reference server.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const EXP = require('exp-sdk');
const { startServer, within, USER, DEVICE } = require('./helpers');

describe('exp-sdk resources', { timeout: 30000 }, () => {
  let srv; let exp; let auth;
  before(async () => {
    srv = await startServer();
    exp = EXP.start(Object.assign({ host: srv.origin, enableNetwork: false }, USER));
    auth = await within(exp.getAuth(), 5000, 'login');
  });
  after(async () => { EXP.stop(); if (srv) await srv.stop(); });

  it('gets seeded devices and answers null for unknown ones', async () => {
    const device = await exp.getDevice('test-uuid');
    assert.equal(device.name, 'Test Device');
    assert.equal(device.document.secret, undefined, 'secrets are not shown by GET');
    assert.equal(await exp.getDevice('does-not-exist'), null);
    const location = await device.getLocation();
    assert.equal(location.uuid, 'test-location');
    const experience = await device.getExperience();
    assert.equal(experience.uuid, 'test-experience');
    const zones = await device.getZones();
    assert.deepEqual(zones.map((z) => z.key), ['zone-a']);
  });

  it('creates, saves, refreshes and deletes a device; its secret logs in', async () => {
    const device = await exp.createDevice({ name: 'Created Device', subtype: 'scala:device:player' });
    assert.match(device.uuid, /^[0-9a-f-]{36}$/);
    assert.match(device.document.secret, /^[0-9a-f]{32}$/);
    const deviceExp = EXP.start({ host: srv.origin, uuid: device.uuid, secret: device.document.secret, enableNetwork: false });
    try {
      const dAuth = await within(deviceExp.getAuth(), 5000, 'new device login');
      assert.equal(dAuth.identity.uuid, device.uuid);
    } finally { deviceExp.stop(); }

    device.name = 'Renamed Device';
    device.document.extra = { nested: [1, 2, 3] };
    await device.save();
    assert.equal(device.name, 'Renamed Device');
    const again = await exp.getDevice(device.uuid);
    assert.equal(again.name, 'Renamed Device');
    assert.deepEqual(again.document.extra, { nested: [1, 2, 3] });
    // PATCH replaces the whole document (uuid kept).
    delete again.document.extra;
    await again.save();
    await device.refresh();
    assert.equal(device.document.extra, undefined);
    assert.equal(device.uuid, again.uuid);

    await device.delete();
    assert.equal(await exp.getDevice(device.uuid), null);
  });

  it('creates a device with a caller-chosen uuid', async () => {
    const device = await exp.createDevice({ uuid: 'my-own-uuid', name: 'Own' });
    assert.equal(device.uuid, 'my-own-uuid');
    await exp.deleteDevice('my-own-uuid');
    assert.equal(await exp.getDevice('my-own-uuid'), null);
  });

  it('does CRUD on things', async () => {
    const thing = await exp.createThing({ name: 'New Thing', subtype: 'scala:thing:rfid', id: 'rfid-9' });
    assert.ok(thing.uuid);
    thing.name = 'Changed Thing';
    await thing.save();
    assert.equal((await exp.getThing(thing.uuid)).name, 'Changed Thing');
    const found = await exp.findThings({ name: 'Changed Thing' });
    assert.equal(found.total, 1);
    assert.equal(found[0].uuid, thing.uuid);
    await thing.delete();
    assert.equal(await exp.getThing(thing.uuid), null);
  });

  it('does CRUD on experiences and lists an experience\'s devices', async () => {
    const seeded = await exp.getExperience('test-experience');
    const devices = await seeded.getDevices();
    assert.deepEqual(devices.map((d) => d.uuid).sort(), ['test-device-2', 'test-uuid']);
    assert.equal(devices.total, 2);

    const experience = await exp.createExperience({ name: 'New Experience' });
    experience.name = 'Saved Experience';
    await experience.save();
    assert.equal((await exp.getExperience(experience.uuid)).name, 'Saved Experience');
    await exp.deleteExperience(experience.uuid);
    assert.equal(await exp.getExperience(experience.uuid), null);
  });

  it('does CRUD on locations and zones; zone filters find devices and things', async () => {
    const seeded = await exp.getLocation('test-location');
    const zones = await seeded.getZones();
    assert.deepEqual(zones.map((z) => [z.key, z.name]), [['zone-a', 'Zone A'], ['zone-b', 'Zone B']]);
    const zoneA = zones[0];
    assert.deepEqual((await zoneA.getDevices()).map((d) => d.uuid), ['test-uuid']);
    assert.deepEqual((await zoneA.getThings()).map((t) => t.uuid), ['test-thing']);
    assert.equal((await seeded.getDevices()).total, 2);
    assert.equal((await seeded.getThings()).total, 2);

    const location = await exp.createLocation({ name: 'New Location', zones: [{ key: 'z1', name: 'One' }] });
    const [z1] = await location.getZones();
    z1.name = 'Renamed Zone';
    await z1.save(); // saves the owning location
    const reread = await exp.getLocation(location.uuid);
    assert.equal(reread.document.zones[0].name, 'Renamed Zone');

    // Layout URL (relative in v5); fetched with the restricted token.
    const layoutUrl = reread.getLayoutUrl();
    assert.equal(layoutUrl, `/api/locations/${location.uuid}/layout`);
    const layout = await fetch(`${srv.origin}${layoutUrl}?_rt=${encodeURIComponent(auth.restrictedToken)}`);
    assert.equal(layout.status, 200);
    assert.match(await layout.text(), /<svg/);
    const noToken = await fetch(`${srv.origin}${layoutUrl}`);
    assert.equal(noToken.status, 401);

    await reread.delete();
    assert.equal(await exp.getLocation(location.uuid), null);
  });

  it('does CRUD on feeds and reads static and dynamic feed data', async () => {
    const staticFeed = await exp.getFeed('test-feed-static');
    const staticData = await staticFeed.getData();
    assert.equal(staticData.items.length, 2);
    const dynamicFeed = await exp.getFeed('test-feed-dynamic');
    const dynamicData = await dynamicFeed.getData({ searchValue: '19713' });
    assert.equal(dynamicData.search.search, '19713');

    const feed = await exp.createFeed({ name: 'Weather', subtype: 'scala:feed:weather', dataType: 'dynamic', searchValue: '10001' });
    feed.name = 'Weather 2';
    await feed.save();
    assert.equal((await exp.getFeed(feed.uuid)).name, 'Weather 2');
    assert.equal((await feed.getData({ searchValue: 'x y' })).search.search, 'x y');
    const feeds = await exp.findFeeds({ dataType: 'dynamic' });
    assert.equal(feeds.total, 2);
    await exp.deleteFeed(feed.uuid);
    assert.equal(await exp.getFeed(feed.uuid), null);
  });

  it('finds with dotted keys, limit, skip, sort, numbers and totals', async () => {
    const all = await exp.findDevices();
    assert.equal(all.total, 3);
    assert.equal(all.length, 3);
    const limited = await exp.findDevices({ limit: 1 });
    assert.equal(limited.length, 1);
    assert.equal(limited.total, 3);
    const sorted = await exp.findDevices({ sort: '-index', limit: 2, skip: 1 });
    assert.deepEqual(sorted.map((d) => d.uuid), ['test-device-2', 'test-uuid']);
    assert.equal(sorted.total, 3);
    const byLocation = await exp.findDevices({ 'location.uuid': 'test-location' });
    assert.equal(byLocation.total, 2);
    const byZone = await exp.findDevices({ 'location.zones.key': 'zone-b' });
    assert.deepEqual(byZone.map((d) => d.uuid), ['test-device-2']);
    const byNumber = await exp.findDevices({ index: 3 });
    assert.deepEqual(byNumber.map((d) => d.uuid), ['test-device-3']);
    const bySubtype = await exp.findDevices({ subtype: 'scala:device:server' });
    assert.equal(bySubtype.total, 1);
    const none = await exp.findDevices({ name: 'nobody' });
    assert.equal(none.total, 0);
    assert.equal(none.length, 0);
    // results are exposed on the list too
    assert.equal(all.results.length, 3);
  });

  it('sets, gets, finds and deletes data', async () => {
    const created = await exp.createData('interop group', 'key/1', { hello: 'world', n: 1 });
    assert.equal(created.group, 'interop group');
    assert.equal(created.key, 'key/1');
    assert.deepEqual(created.value, { hello: 'world', n: 1 });
    const got = await exp.getData('interop group', 'key/1');
    assert.deepEqual(got.value, { hello: 'world', n: 1 });
    got.value = { hello: 'again' };
    await got.save();
    assert.deepEqual((await exp.getData('interop group', 'key/1')).value, { hello: 'again' });
    await exp.createData('interop group', 'key2', { n: 2 });
    const found = await exp.findData({ group: 'interop group' });
    assert.equal(found.total, 2);
    assert.deepEqual(found.map((d) => d.key), ['key/1', 'key2']);
    const seeded = await exp.findData({ group: 'default' });
    assert.equal(seeded.total, 2);
    await exp.deleteData('interop group', 'key/1');
    assert.equal(await exp.getData('interop group', 'key/1'), null);
    await assert.rejects(exp.createData('interop group', 'bad', [1, 2]), (e) => e.status === 400);
  });

  it('walks the content tree and fetches delivery URLs', async () => {
    const root = await exp.getContent('root');
    assert.equal(root.subtype, 'scala:content:folder');
    const children = await root.getChildren();
    const byName = Object.fromEntries(children.map((c) => [c.name, c]));
    assert.deepEqual(Object.keys(byName).sort(), ['Example URL', 'My App', 'folder']);
    const files = await byName.folder.getChildren();
    const file = files.find((c) => c.name === 'file name.png');
    assert.ok(file, 'file name.png is in folder');
    assert.equal(file.subtype, 'scala:content:file');
    assert.ok(file.hasVariant('thumb small'));
    assert.ok(!file.hasVariant('nope'));

    const rt = encodeURIComponent(auth.restrictedToken);
    const url = file.getUrl();
    assert.equal(url, `${srv.origin}/api/delivery/scala/folder/file%20name.png`);
    const body = await fetch(`${url}?_rt=${rt}`);
    assert.equal(body.status, 200);
    assert.equal(body.headers.get('content-type'), 'image/png');
    const bytes = Buffer.from(await body.arrayBuffer());
    assert.equal(bytes.subarray(1, 4).toString('latin1'), 'PNG');
    assert.equal(bytes.length, file.document.size);

    const variant = await fetch(`${file.getVariantUrl('thumb small')}&_rt=${rt}`);
    assert.equal(variant.status, 200);
    const variantBytes = Buffer.from(await variant.arrayBuffer());
    assert.notDeepEqual(variantBytes, bytes);
    const missingVariant = await fetch(`${file.getVariantUrl('nope')}&_rt=${rt}`);
    assert.equal(missingVariant.status, 404);

    // The bearer token works as well as _rt; no token at all is 401.
    const withBearer = await fetch(url, { headers: { Authorization: `Bearer ${auth.token}` } });
    assert.equal(withBearer.status, 200);
    await withBearer.arrayBuffer();
    const unauthorized = await fetch(url);
    assert.equal(unauthorized.status, 401);
    assert.equal((await unauthorized.json()).code, 'auth.invalid');

    const text = files.find((c) => c.subtype === 'scala:content:file' && c.name.startsWith('notes'));
    const textRes = await fetch(`${text.getUrl()}?_rt=${rt}`);
    assert.equal(textRes.status, 200);
    assert.match(await textRes.text(), /ünïcode/);

    const app = byName['My App'];
    assert.equal(app.subtype, 'scala:content:app');
    assert.match(app.getUrl(), /\/api\/delivery\/scala\/My%20App\/index\.html$/);
    const html = await fetch(`${app.getUrl()}?_rt=${rt}`);
    assert.equal(html.status, 200);
    assert.match(await html.text(), /<html>/);

    const link = byName['Example URL'];
    assert.equal(link.subtype, 'scala:content:url');
    assert.equal(link.getUrl(), 'https://example.com/some/page?x=1');

    const found = await exp.findContent({ subtype: 'scala:content:file' });
    assert.equal(found.total, 2);
  });

  it('scopes every document to the caller\'s organization', async () => {
    const other = EXP.start({ host: srv.origin, username: 'other@goexp.io', password: 'other-Password1', organization: 'other', enableNetwork: false });
    try {
      const devices = await other.findDevices();
      assert.deepEqual(devices.map((d) => d.uuid), ['other-device']);
      assert.equal(await other.getDevice('test-uuid'), null);
      assert.equal(await exp.getDevice('other-device'), null);
      assert.deepEqual((await other.getData('default', 'test-key')).value, { message: 'other org' });
    } finally { other.stop(); }
  });

  it('lets a device read and write too', async () => {
    const device = EXP.start(Object.assign({ host: srv.origin, enableNetwork: false }, DEVICE));
    try {
      const data = await device.createData('device-group', 'k', { from: 'device' });
      assert.equal(data.value.from, 'device');
      assert.equal((await device.findThings({ 'location.zones.key': 'zone-a' })).total, 1);
    } finally { device.stop(); }
  });
});
