'use strict';
// Fixtures seeded into a fresh database. The uuids are fixed and documented in README.md:
// tests refer to them by name.

const zlib = require('node:zlib');

const ORG = 'scala';
const OTHER_ORG = 'other';

const IDS = {
  location: 'test-location',
  experience: 'test-experience',
  device: 'test-uuid',
  device2: 'test-device-2',
  device3: 'test-device-3',
  thing: 'test-thing',
  thing2: 'test-thing-2',
  feedStatic: 'test-feed-static',
  feedDynamic: 'test-feed-dynamic',
  contentRoot: 'root',
  contentFolder: 'test-content-folder',
  contentFile: 'test-content-file',
  contentText: 'test-content-text',
  contentApp: 'test-content-app',
  contentUrl: 'test-content-url',
  otherDevice: 'other-device',
};

let crcTable = null;
function crc32(buf) {
  if (!crcTable) {
    crcTable = new Int32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c;
    }
  }
  let c = -1;
  for (let i = 0; i < buf.length; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

// A valid solid-colour RGB PNG of the given size.
function png(width, height, rgb) {
  const chunk = (type, data) => {
    const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  const row = Buffer.alloc(1 + width * 3);
  for (let x = 0; x < width; x++) { row[1 + x * 3] = rgb[0]; row[2 + x * 3] = rgb[1]; row[3 + x * 3] = rgb[2]; }
  const raw = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0)),
  ]);
}

const FILE_BYTES = png(4, 4, [255, 0, 0]);
const VARIANTS = {
  '320.png': png(3, 2, [0, 255, 0]),
  'thumb small': png(1, 1, [0, 0, 255]),
  'a&b=c.png': png(2, 2, [9, 9, 9]),
};
const TEXT_BYTES = Buffer.from('Hello from the EXP reference server: notes & ünïcode (1).\n', 'utf8');
const APP_HTML = Buffer.from('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>My App</title></head>' +
  '<body><h1>EXP test app</h1></body></html>\n', 'utf8');

// Seeds a new database once (in one transaction); answers whether it did.
async function seed(store) {
  if (await store.getMeta('seeded')) return false;
  await store.transaction(async (tx) => {
    // Users (password stored hashed).
    await tx.putUser('test@goexp.io', 'test-Password1', [ORG],
      { uuid: 'test-user', username: 'test@goexp.io', firstName: 'Test', lastName: 'User', organization: ORG, role: 'admin' });
    await tx.putUser('other@goexp.io', 'other-Password1', [OTHER_ORG],
      { uuid: 'other-user', username: 'other@goexp.io', firstName: 'Other', lastName: 'User', organization: OTHER_ORG, role: 'admin' });

    // Consumer apps (own table, not visible through /api/devices).
    await tx.putConsumerApp('test-uuid', ORG, 'test-api-key',
      { uuid: 'test-uuid', name: 'Test Consumer App', subtype: 'scala:consumerApp' });

    // Location with two zones, and an experience.
    await tx.insert('locations', ORG, {
      uuid: IDS.location, name: 'Test Location', subtype: 'scala:location',
      zones: [{ key: 'zone-a', name: 'Zone A' }, { key: 'zone-b', name: 'Zone B' }],
    });
    await tx.insert('experiences', ORG, {
      uuid: IDS.experience, name: 'Test Experience', subtype: 'scala:experience',
      lastModified: 1500000000000, schedule: { recurrences: [] }, disableBackgroundApps: false,
    });

    // Devices. Secrets live in their own table; they are only shown on create and pair.
    const devices = [
      [{ uuid: IDS.device, name: 'Test Device', subtype: 'scala:device:player', index: 1,
        location: { uuid: IDS.location, zones: [{ key: 'zone-a' }] },
        experience: { uuid: IDS.experience } }, 'test-secret'],
      [{ uuid: IDS.device2, name: 'Test Device 2', subtype: 'scala:device:player', index: 2,
        location: { uuid: IDS.location, zones: [{ key: 'zone-b' }] },
        experience: { uuid: IDS.experience } }, 'test-secret-2'],
      [{ uuid: IDS.device3, name: 'Test Device 3', subtype: 'scala:device:server', index: 3 }, 'test-secret-3'],
    ];
    for (const [doc, secret] of devices) {
      await tx.insert('devices', ORG, doc);
      await tx.setDeviceSecret(doc.uuid, ORG, secret);
    }

    // Things.
    await tx.insert('things', ORG, {
      uuid: IDS.thing, name: 'Test Thing', subtype: 'scala:thing:rfid', id: 'rfid-0001',
      location: { uuid: IDS.location, zones: [{ key: 'zone-a' }] },
    });
    await tx.insert('things', ORG, {
      uuid: IDS.thing2, name: 'Test Thing 2', subtype: 'scala:thing:rfid', id: 'rfid-0002',
      location: { uuid: IDS.location, zones: [{ key: 'zone-b' }] },
    });

    // Feeds.
    await tx.insert('feeds', ORG, {
      uuid: IDS.feedStatic, name: 'Static Feed', subtype: 'scala:feed:static', dataType: 'static',
      integrationUuid: 'static-integration', metadata: { filter: [], options: '' },
      data: { items: [{ title: 'First item', value: 1 }, { title: 'Second item', value: 2 }] },
    });
    await tx.insert('feeds', ORG, {
      uuid: IDS.feedDynamic, name: 'Dynamic Feed', subtype: 'scala:feed:weather', dataType: 'dynamic',
      searchValue: '19713', integrationUuid: 'weather-integration', metadata: { filter: [], options: '' },
    });

    // Data items.
    await tx.putData(ORG, 'default', 'test-key', { message: 'hello', count: 1 });
    await tx.putData(ORG, 'default', 'other-key', { message: 'world', count: 2 });
    await tx.putData(ORG, 'test-group', 'alpha', { letter: 'a', position: 1 });
    await tx.putData(ORG, 'test-group', 'beta', { letter: 'b', position: 2 });

    // Content tree.
    const root = `/${ORG}`;
    const content = [
      { uuid: IDS.contentRoot, name: ORG, path: root, subtype: 'scala:content:folder', parent: null },
      { uuid: IDS.contentFolder, name: 'folder', path: `${root}/folder`, subtype: 'scala:content:folder', parent: IDS.contentRoot },
      { uuid: IDS.contentApp, name: 'My App', path: `${root}/My App`, subtype: 'scala:content:app', parent: IDS.contentRoot },
      { uuid: IDS.contentUrl, name: 'Example URL', path: `${root}/Example URL`, subtype: 'scala:content:url',
        parent: IDS.contentRoot, url: 'https://example.com/some/page?x=1' },
      { uuid: IDS.contentFile, name: 'file name.png', path: `${root}/folder/file name.png`, subtype: 'scala:content:file',
        parent: IDS.contentFolder, mimeType: 'image/png', size: FILE_BYTES.length,
        variants: Object.keys(VARIANTS).map((name) => ({ name })) },
      { uuid: IDS.contentText, name: 'notes & ünïcode (1).txt', path: `${root}/folder/notes & ünïcode (1).txt`,
        subtype: 'scala:content:file', parent: IDS.contentFolder, mimeType: 'text/plain; charset=utf-8',
        size: TEXT_BYTES.length, variants: [] },
    ];
    for (const doc of content) await tx.insert('content', ORG, doc);
    await tx.putFile(ORG, `${root}/folder/file name.png`, '', 'image/png', FILE_BYTES);
    for (const [name, bytes] of Object.entries(VARIANTS)) await tx.putFile(ORG, `${root}/folder/file name.png`, name, 'image/png', bytes);
    await tx.putFile(ORG, `${root}/folder/notes & ünïcode (1).txt`, '', 'text/plain; charset=utf-8', TEXT_BYTES);
    await tx.putFile(ORG, `${root}/My App/index.html`, '', 'text/html; charset=utf-8', APP_HTML);

    // A second organization, for scoping tests.
    await tx.insert('devices', OTHER_ORG, { uuid: IDS.otherDevice, name: 'Other Org Device', subtype: 'scala:device:player' });
    await tx.setDeviceSecret(IDS.otherDevice, OTHER_ORG, 'other-secret');
    await tx.insert('content', OTHER_ORG, { uuid: 'root', name: OTHER_ORG, path: `/${OTHER_ORG}`, subtype: 'scala:content:folder', parent: null });
    await tx.putData(OTHER_ORG, 'default', 'test-key', { message: 'other org' });

    await tx.setMeta('seeded', new Date().toISOString());
  });
  return true;
}

module.exports = { seed, IDS, ORG, OTHER_ORG, FILE_BYTES, VARIANTS, TEXT_BYTES, APP_HTML };
