/**
 * A/B slot installer: used by OTA on the device (ota.ts) and by `sealcam firmware flash --target`.
 * Layout under ROOT (the board's /opt/sealcam; firmware/SLOTS.md):
 *
 *   slots/a/, slots/b/   one installed image each: its files plus manifest.json (written last)
 *   current              symlink "slots/a" or "slots/b": the slot that boots. Switched atomically
 *                        by creating current.tmp and rename(2)-ing it over current.
 *   state                key=value lines, replaced atomically (writeFileAtomic):
 *                          format=sealcam-slots-1
 *                          trial=<slot switched to but not yet confirmed, or empty>
 *                          fallback=<slot to go back to if the trial is not confirmed, or empty>
 *                          min_security_version=<anti-rollback floor, raised on confirm>
 *   bin/sealcam-slot-recover   the boot-time recovery hook (POSIX sh, from the image)
 *
 * An install goes through INSTALL_STEPS in order. A crash (power cut) anywhere before "confirm"
 * completes leaves the previous slot booting once recover() — or the sh hook, at boot — has run:
 * until "switch" the current link still names the old slot, and after it the state names a trial
 * that recovery undoes. A failed health check rolls back the same way, at once.
 */
import { spawn } from 'node:child_process';
import { mkdir, open, readFile, readdir, readlink, rename, rm, symlink, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { parseManifestJson, sha256Hex, splitPayloadFiles, type FirmwareFile, type FirmwareManifest } from '../protocol/firmware-image.js';
import { asciiBytes } from '../protocol/bytes.js';
import { writeFileAtomic } from '../media/atomic-file.js';

export type SlotName = 'a' | 'b';

export const INSTALL_STEPS = [
  'recover',
  'clear-staging',
  'write-files',
  'write-manifest',
  'retire-old-slot',
  'commit-slot',
  'remove-retired',
  'mark-trial',
  'switch',
  'health-check',
  'confirm',
  'install-hook',
] as const;
export type InstallStep = (typeof INSTALL_STEPS)[number];

export interface SlotState {
  trial: SlotName | undefined;
  fallback: SlotName | undefined;
  minSecurityVersion: number;
}

/** Run after the switch; throw or return false to reject the new slot. */
export type HealthCheck = (slotDir: string, manifest: FirmwareManifest) => Promise<boolean | void>;

export interface InstallOptions {
  healthCheck?: HealthCheck;
  /** Called before every step (and before each file in write-files); throw to simulate a power cut. */
  beforeStep?: (step: InstallStep, detail?: string) => void | Promise<void>;
}

export interface InstallResult {
  slot: SlotName;
  previous: SlotName | undefined;
  manifest: FirmwareManifest;
}

const STATE_FORMAT = 'sealcam-slots-1';
const MANIFEST_FILE = 'manifest.json';
const RECOVER_HOOK = 'firmware/hooks/sealcam-slot-recover';

const other = (s: SlotName): SlotName => (s === 'a' ? 'b' : 'a');

export class SlotStore {
  constructor(readonly root: string) {}

  slotDir(slot: SlotName): string {
    return join(this.root, 'slots', slot);
  }

  /** The slot `current` points at, or undefined before the first install. */
  async active(): Promise<SlotName | undefined> {
    const target = await readlink(join(this.root, 'current')).catch(() => undefined);
    if (target === undefined) return undefined;
    if (target === 'slots/a' || target === 'slots/b') return target.slice(-1) as SlotName;
    throw new SealcamError('E_FLASH_TARGET', `${this.root}/current points at ${JSON.stringify(target)}, expected slots/a or slots/b`);
  }

  async state(): Promise<SlotState> {
    let text: string;
    try {
      text = await readFile(join(this.root, 'state'), 'utf8');
    } catch {
      return { trial: undefined, fallback: undefined, minSecurityVersion: 0 };
    }
    const fields = new Map(text.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const));
    const slot = (key: string): SlotName | undefined => {
      const v = fields.get(key) ?? '';
      if (v === '') return undefined;
      if (v === 'a' || v === 'b') return v;
      throw new SealcamError('E_FLASH_TARGET', `${this.root}/state: ${key}=${JSON.stringify(v)}, expected a, b or empty`);
    };
    const min = Number(fields.get('min_security_version') ?? '0');
    if (fields.get('format') !== STATE_FORMAT || !Number.isSafeInteger(min) || min < 0) throw new SealcamError('E_FLASH_TARGET', `${this.root}/state is not a ${STATE_FORMAT} state file`);
    return { trial: slot('trial'), fallback: slot('fallback'), minSecurityVersion: min };
  }

  /** The manifest of an installed slot, or undefined if the slot is empty. */
  async manifest(slot: SlotName): Promise<FirmwareManifest | undefined> {
    const bytes = await readFile(join(this.slotDir(slot), MANIFEST_FILE)).catch(() => undefined);
    return bytes === undefined ? undefined : parseManifestJson(new Uint8Array(bytes));
  }

  /**
   * Boot-time recovery, the same rules as firmware/hooks/sealcam-slot-recover: drop half-written
   * slots, and roll an unconfirmed trial back to its fallback. Returns the slot that boots.
   */
  async recover(): Promise<SlotName | undefined> {
    await mkdir(join(this.root, 'slots'), { recursive: true });
    for (const name of await readdir(join(this.root, 'slots'))) {
      if (name.startsWith('.staging-') || name.startsWith('.retired-')) await rm(join(this.root, 'slots', name), { recursive: true, force: true });
    }
    await rm(join(this.root, 'current.tmp'), { force: true });
    const state = await this.state();
    if (state.trial === undefined) return this.active();
    if ((await this.active()) === state.trial && state.fallback !== undefined) await this.point(state.fallback);
    await this.writeState({ trial: undefined, fallback: undefined, minSecurityVersion: state.minSecurityVersion });
    return this.active();
  }

  /** Install verified `files` into the inactive slot, switch to it, health-check it, confirm it. */
  async install(manifest: FirmwareManifest, files: readonly FirmwareFile[], options: InstallOptions = {}): Promise<InstallResult> {
    const step = async (name: InstallStep, detail?: string) => options.beforeStep?.(name, detail);
    await step('recover');
    const previous = await this.recover();
    const state = await this.state();
    if (manifest.securityVersion < state.minSecurityVersion) {
      throw new SealcamError('E_FIRMWARE_DOWNGRADE', `firmware ${manifest.version} has security version ${manifest.securityVersion}, below the installed minimum ${state.minSecurityVersion}`);
    }
    const slot = previous === undefined ? 'a' : other(previous);
    const slots = join(this.root, 'slots');
    const staging = join(slots, `.staging-${slot}`);
    const retired = join(slots, `.retired-${slot}`);

    await step('clear-staging');
    await rm(staging, { recursive: true, force: true });
    await mkdir(staging, { recursive: true, mode: 0o755 });

    await step('write-files');
    for (const file of files) {
      await step('write-files', file.path);
      await writeDurable(join(staging, file.path), file.data, file.mode);
    }
    await step('write-manifest');
    await writeDurable(join(staging, MANIFEST_FILE), asciiBytes(JSON.stringify(manifest, null, 2)), 0o644);
    await syncDir(staging);

    await step('retire-old-slot');
    await rename(this.slotDir(slot), retired).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await step('commit-slot');
    await rename(staging, this.slotDir(slot));
    await syncDir(slots);
    await step('remove-retired');
    await rm(retired, { recursive: true, force: true });

    if (previous !== undefined) {
      await step('mark-trial');
      await this.writeState({ trial: slot, fallback: previous, minSecurityVersion: state.minSecurityVersion });
    }
    await step('switch');
    await this.point(slot);

    await step('health-check');
    const healthy = await (options.healthCheck ?? checkSlotFiles)(this.slotDir(slot), manifest).then(
      (ok) => ({ ok: ok !== false, why: 'the health check returned false' }),
      (e: unknown) => ({ ok: false, why: (e as Error).message }),
    );
    if (!healthy.ok) {
      if (previous !== undefined) await this.point(previous);
      await this.writeState({ trial: undefined, fallback: undefined, minSecurityVersion: state.minSecurityVersion });
      throw new SealcamError('E_HEALTH_CHECK', `firmware ${manifest.version} in slot ${slot} failed its health check (${healthy.why}); ${previous ? `rolled back to slot ${previous}` : 'no previous slot to roll back to'}`);
    }

    await step('confirm');
    await this.writeState({ trial: undefined, fallback: undefined, minSecurityVersion: Math.max(state.minSecurityVersion, manifest.securityVersion) });
    await step('install-hook');
    const hook = files.find((f) => f.path === RECOVER_HOOK);
    if (hook) {
      await mkdir(join(this.root, 'bin'), { recursive: true });
      await writeFileAtomic(join(this.root, 'bin', 'sealcam-slot-recover'), hook.data, 0o755);
    }
    return { slot, previous, manifest };
  }

  private async point(slot: SlotName): Promise<void> {
    const tmp = join(this.root, 'current.tmp');
    await rm(tmp, { force: true });
    await symlink(`slots/${slot}`, tmp);
    await rename(tmp, join(this.root, 'current'));
    await syncDir(this.root);
  }

  private async writeState(s: SlotState): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const text = `format=${STATE_FORMAT}\ntrial=${s.trial ?? ''}\nfallback=${s.fallback ?? ''}\nmin_security_version=${s.minSecurityVersion}\n`;
    await writeFileAtomic(join(this.root, 'state'), text, 0o644);
  }
}

/** The default health check, part one: every file of the slot is there with its manifest hash. */
export async function checkSlotFiles(slotDir: string, manifest: FirmwareManifest): Promise<boolean> {
  const onDisk = await readFile(join(slotDir, MANIFEST_FILE)).catch(() => undefined);
  if (onDisk === undefined) throw new SealcamError('E_HEALTH_CHECK', `${slotDir}: no ${MANIFEST_FILE}`);
  const installed = parseManifestJson(new Uint8Array(onDisk));
  if (installed.payload.sha256 !== manifest.payload.sha256) throw new SealcamError('E_HEALTH_CHECK', `${slotDir}: holds ${installed.version}, expected ${manifest.version}`);
  const raw: Uint8Array[] = [];
  for (const f of manifest.files) {
    const data = await readFile(join(slotDir, f.path)).catch(() => undefined);
    if (data === undefined) throw new SealcamError('E_HEALTH_CHECK', `${slotDir}: ${f.path} is missing`);
    raw.push(new Uint8Array(data));
  }
  splitPayloadFiles(manifest, new Uint8Array(Buffer.concat(raw))); // E_FIRMWARE_HASH on any difference
  return true;
}

/**
 * The default health check on the device: the files check, then, when the slot is for this
 * machine's architecture, `node <slot>/app/sealcam-agent.mjs self-test` (exit 0 and ok:true).
 */
export async function selfTestHealthCheck(slotDir: string, manifest: FirmwareManifest, timeoutMs = 60_000): Promise<boolean> {
  await checkSlotFiles(slotDir, manifest);
  if (manifest.arch !== process.arch) return true;
  const agent = join(slotDir, 'app', 'sealcam-agent.mjs');
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(process.execPath, [agent, 'self-test'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: timeoutMs, cwd: dirname(agent) });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
    child.on('error', reject);
    child.on('close', (c) => resolve({ code: c, stdout: out }));
  });
  const report = (() => {
    try {
      return JSON.parse(stdout.trim().split('\n').pop() ?? '') as { ok?: boolean };
    } catch {
      return undefined;
    }
  })();
  if (code !== 0 || report?.ok !== true) throw new SealcamError('E_HEALTH_CHECK', `${agent} self-test exited ${code}: ${stdout.trim().slice(0, 500)}`);
  return true;
}

async function writeDurable(path: string, data: Uint8Array, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  const fh = await open(path, 'w', mode);
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await chmod(path, mode);
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Hex SHA-256 of a file on disk (for reports). */
export async function fileSha256(path: string): Promise<string> {
  return sha256Hex(new Uint8Array(await readFile(path)));
}

/** Where the slots live inside a board's root filesystem. */
export const SLOTS_PREFIX = 'opt/sealcam';

/**
 * Install the service into a mounted rootfs, as `systemctl enable` would offline: the unit into
 * etc/systemd/system, its multi-user.target.wants link, the sysusers file, and the pinned
 * firmware public key for the OTA client (opt/sealcam/firmware.pub).
 */
export async function installService(rootfs: string, files: readonly FirmwareFile[], publicKeyText: string): Promise<string[]> {
  const written: string[] = [];
  const put = async (relative: string, data: Uint8Array | string, mode: number) => {
    const path = join(rootfs, relative);
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFileAtomic(path, data, mode);
    written.push(relative);
  };
  const unit = files.find((f) => f.path === 'firmware/sealcam-agent.service');
  if (unit) {
    await put('etc/systemd/system/sealcam-agent.service', unit.data, 0o644);
    const wants = join(rootfs, 'etc/systemd/system/multi-user.target.wants');
    await mkdir(wants, { recursive: true, mode: 0o755 });
    await rm(join(wants, 'sealcam-agent.service'), { force: true });
    await symlink('../sealcam-agent.service', join(wants, 'sealcam-agent.service'));
    written.push('etc/systemd/system/multi-user.target.wants/sealcam-agent.service');
  }
  const sysusers = files.find((f) => f.path === 'firmware/sysusers-sealcam.conf');
  if (sysusers) await put('etc/sysusers.d/sealcam.conf', sysusers.data, 0o644);
  await put(`${SLOTS_PREFIX}/firmware.pub`, publicKeyText, 0o644);
  return written;
}
