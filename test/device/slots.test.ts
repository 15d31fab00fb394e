/**
 * The A/B installer (src/device/slots.ts) and its boot-time recovery, in TypeScript and in the
 * POSIX sh hook (firmware/hooks/sealcam-slot-recover): a power cut (an injected throw) before every
 * install step, then recovery from the disk state alone, must leave the previous slot booting.
 */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { cp, mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INSTALL_STEPS, SlotStore, checkSlotFiles, type InstallStep } from '../../src/device/slots.js';
import { verifyImage } from '../../src/firmware/image.js';
import { SealcamError } from '../../src/protocol/errors.js';
import { firmwareKey, smallImage } from '../helpers/firmware.js';

const key = firmwareKey(7);
const HOOK = new URL('../../firmware/hooks/sealcam-slot-recover', import.meta.url).pathname;

async function image(version: string, securityVersion: number) {
  return verifyImage(await smallImage({ key, version, securityVersion }), key.publicKey);
}

async function freshRoot(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'sealcam-slots-'));
}

class PowerCut extends Error {}

/** Two installs (1.0.0 into a, 1.1.0 into b) unless `cutAt` stops the second. */
async function installTwice(root: string, cutAt?: { step: InstallStep; detail?: string }) {
  const v1 = await image('1.0.0', 1);
  const v2 = await image('1.1.0', 2);
  await new SlotStore(root).install(v1.manifest, v1.files, { healthCheck: checkSlotFiles });
  const store = new SlotStore(root);
  return store.install(v2.manifest, v2.files, {
    healthCheck: checkSlotFiles,
    beforeStep: (step, detail) => {
      if (cutAt && step === cutAt.step && detail === cutAt.detail) throw new PowerCut(`power cut before ${step}${detail ? ` ${detail}` : ''}`);
    },
  });
}

test('a first and a second install leave a valid A/B layout', async (t) => {
  const root = await freshRoot();
  const result = await installTwice(root);
  const store = new SlotStore(root);
  t.is(result.slot, 'b');
  t.is(result.previous, 'a');
  t.is(await readlink(join(root, 'current')), 'slots/b');
  t.is((await store.manifest('a'))?.version, '1.0.0');
  t.is((await store.manifest('b'))?.version, '1.1.0');
  t.true(await checkSlotFiles(store.slotDir('a'), (await store.manifest('a'))!));
  t.deepEqual(await store.state(), { trial: undefined, fallback: undefined, minSecurityVersion: 2 });
  await rm(root, { recursive: true });
});

// Every step, and a cut before each file of write-files.
const CUTS: { step: InstallStep; detail?: string }[] = [
  ...INSTALL_STEPS.map((step) => ({ step })),
  ...['app/sealcam-agent.mjs', 'app/board.json', 'app/native/zstd.node', 'firmware/hooks/sealcam-slot-recover'].map((detail) => ({ step: 'write-files' as const, detail })),
];
const COMPLETED_AFTER: ReadonlySet<InstallStep> = new Set(['install-hook']);

for (const cut of CUTS) {
  const name = `${cut.step}${cut.detail ? ` (${cut.detail})` : ''}`;
  test(`power cut before ${name}: recovery boots the ${COMPLETED_AFTER.has(cut.step) ? 'new' : 'previous'} slot (TypeScript and sh hook agree)`, async (t) => {
    const root = await freshRoot();
    await t.throwsAsync(installTwice(root, cut), { instanceOf: PowerCut });
    const shRoot = `${root}-sh`;
    await cp(root, shRoot, { recursive: true, verbatimSymlinks: true });

    const booted = await new SlotStore(root).recover();
    execFileSync('sh', [HOOK, shRoot], { stdio: 'pipe' });

    const expected = COMPLETED_AFTER.has(cut.step) ? 'b' : 'a';
    t.is(booted, expected);
    t.is(await readlink(join(shRoot, 'current')), `slots/${expected}`);
    for (const dir of [root, shRoot]) {
      const store = new SlotStore(dir);
      t.is(await store.active(), expected);
      const state = await store.state();
      t.is(state.trial, undefined);
      t.true(await checkSlotFiles(store.slotDir(expected), (await store.manifest(expected))!), `${dir}: slot ${expected} is intact`);
    }
    // After recovery an install goes through again.
    const v3 = await image('1.2.0', 2);
    const again = await new SlotStore(root).install(v3.manifest, v3.files, { healthCheck: checkSlotFiles });
    t.is(again.previous, expected);
    await rm(root, { recursive: true });
    await rm(shRoot, { recursive: true });
  });
}

test('a failed health check rolls back at once with E_HEALTH_CHECK', async (t) => {
  const root = await freshRoot();
  const v1 = await image('1.0.0', 1);
  const v2 = await image('1.1.0', 2);
  const store = new SlotStore(root);
  await store.install(v1.manifest, v1.files);
  const error = await t.throwsAsync(store.install(v2.manifest, v2.files, { healthCheck: async () => false }));
  t.true(SealcamError.is(error, 'E_HEALTH_CHECK'), String(error));
  t.is(await store.active(), 'a');
  t.deepEqual(await store.state(), { trial: undefined, fallback: undefined, minSecurityVersion: 1 });
  const thrown = await t.throwsAsync(store.install(v2.manifest, v2.files, { healthCheck: async () => { throw new Error('agent crashed'); } }));
  t.regex(thrown!.message, /agent crashed.*rolled back to slot a/);
  t.is(await store.active(), 'a');
  await rm(root, { recursive: true });
});

test('the installer refuses a lower security version than the confirmed one', async (t) => {
  const root = await freshRoot();
  await installTwice(root);
  const old = await image('0.9.0', 1);
  const error = await t.throwsAsync(new SlotStore(root).install(old.manifest, old.files));
  t.true(SealcamError.is(error, 'E_FIRMWARE_DOWNGRADE'), String(error));
  t.is(await new SlotStore(root).active(), 'b');
  await rm(root, { recursive: true });
});

test('a corrupted file in the new slot fails the default health check', async (t) => {
  const root = await freshRoot();
  const v1 = await image('1.0.0', 1);
  const v2 = await image('1.1.0', 2);
  const store = new SlotStore(root);
  await store.install(v1.manifest, v1.files);
  const bad = v2.files.map((f) => (f.path === 'app/board.json' ? { ...f, data: new TextEncoder().encode('{}') } : f));
  const error = await t.throwsAsync(store.install(v2.manifest, bad));
  t.true(SealcamError.is(error, 'E_HEALTH_CHECK'), String(error));
  t.is(await store.active(), 'a');
  await rm(root, { recursive: true });
});
