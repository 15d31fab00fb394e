/**
 * `sealcam app build --out DIR`: the owner's phone app (src/app/) as static files, the same ones
 * `sealcam relay` serves at /app/. esbuild bundles src/app/main.ts (node:crypto replaced by
 * tweetnacl, src/app/node-crypto-shim.ts) and the service worker, as for `view --live --web`; the build prints the SHA-256
 * of app.js, which the page shows in its settings and index.html pins with Subresource Integrity
 * (THREAT-MODEL A1: compare it, or host these files yourself).
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { APP_SOURCES, bundleForBrowser } from '../owner/web/server.js';

export interface AppFile {
  contentType: string;
  body: Uint8Array;
}

export interface AppBuild {
  /** path under /app/ → file ('' is index.html) */
  files: Map<string, AppFile>;
  /** hex SHA-256 of app.js */
  hash: string;
}

const STATIC = { 'style.css': 'text/css; charset=utf-8', 'manifest.webmanifest': 'application/manifest+json', 'icon.svg': 'image/svg+xml' } as const;


export async function buildApp(): Promise<AppBuild> {
  const js = await bundleForBrowser('main.ts');
  const hash = createHash('sha256').update(js).digest('hex');
  const sri = `sha384-${createHash('sha384').update(js).digest('base64')}`;
  const files = new Map<string, AppFile>();
  const html = (await readFile(join(APP_SOURCES!, 'static/index.html'), 'utf8')).replace('%APP_HASH%', hash).replace('%APP_SRI%', sri);
  files.set('index.html', { contentType: 'text/html; charset=utf-8', body: new TextEncoder().encode(html) });
  files.set('app.js', { contentType: 'text/javascript; charset=utf-8', body: js });
  for (const [name, contentType] of Object.entries(STATIC)) files.set(name, { contentType, body: await readFile(join(APP_SOURCES!, `static/${name}`)) });
  const cached = ['./', ...[...files.keys()].map((f) => `./${f}`)];
  files.set('sw.js', { contentType: 'text/javascript; charset=utf-8', body: await bundleForBrowser('sw.ts', { APP_FILES: JSON.stringify(cached), APP_HASH: JSON.stringify(hash) }) });
  return { files, hash };
}

/** Write the build into `dir` (created if needed); returns the hash. */
export async function writeApp(dir: string, app: AppBuild): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [name, f] of app.files) await writeFile(join(dir, name), f.body);
}

export function registerApp(program: Command): void {
  const app = program.command('app').description("the owner's phone app (a web app: keys made and kept on the phone)");
  app
    .command('build')
    .description('write the app as static files to host yourself; prints the SHA-256 of app.js that the app shows in its settings')
    .requiredOption('--out <dir>', 'output directory')
    .action(async (opts: { out: string }) => {
      const built = await buildApp();
      await writeApp(resolve(opts.out), built);
      process.stdout.write(`app written to ${resolve(opts.out)} (${[...built.files.keys()].join(', ')})\napp.js SHA-256 ${built.hash}\nserve the folder over HTTPS (service workers, WebCodecs and WebCrypto need a secure context); the relay must then allow that origin\n`);
    });
}
