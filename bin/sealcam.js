#!/usr/bin/env node
// Entry point for the `sealcam` bin: runs the compiled CLI, dist/cli/sealcam.mjs (built by
// scripts/build.ts at `npm install` / `npm ci`, or `npm run build`). When that is missing, or older
// than a file in src/ (a checkout or an edit since the build), it runs the TypeScript through tsx
// instead, slower to start, and says so in one line.
import { existsSync, readFileSync, statSync } from 'node:fs';

const BUILT = new URL('../dist/cli/sealcam.mjs', import.meta.url);
const SOURCES = new URL('../dist/cli/sources.json', import.meta.url);
const ROOT = new URL('../', import.meta.url);

/** Why the build cannot be used (a one-line hint), or null if it can. */
function staleBuild() {
  if (!existsSync(BUILT) || !existsSync(SOURCES)) return 'dist/ is missing';
  const builtAt = statSync(BUILT).mtimeMs;
  // The sources the build read (its list): one changed since is newer than the build.
  for (const path of JSON.parse(readFileSync(SOURCES, 'utf8'))) {
    const source = new URL(path, ROOT);
    if (existsSync(source) && statSync(source).mtimeMs > builtAt) return `${path} is newer than dist/`;
  }
  return null;
}

const why = staleBuild();
let main;
if (why === null) ({ main } = await import(BUILT.href));
else {
  process.stderr.write(`sealcam: ${why}: running from TypeScript through tsx (slow start); npm run build makes it fast\n`);
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/index.ts'));
}
// A failed command exits at once (with the code it set), whatever it left open.
if (await main(process.argv)) process.exit();
