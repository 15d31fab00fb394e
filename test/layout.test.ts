/**
 * The import rules of DESIGN.md, checked on the source text: src/protocol is pure (no I/O modules,
 * no clock, no ambient randomness, nothing from the app folders), no app imports another, and the
 * relay never imports a decryption path.
 */
import test from 'ava';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = new URL('../src/', import.meta.url).pathname;
const APPS = ['device', 'relay', 'owner', 'firmware', 'app'];

function files(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const imports = (file: string) => [...readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);

test('src/protocol imports only itself, tweetnacl and node:crypto, and reads no clock', (t) => {
  const protocolFiles = files(join(SRC, 'protocol'));
  t.true(protocolFiles.length >= 10);
  for (const f of protocolFiles) {
    for (const spec of imports(f)) {
      t.true(spec.startsWith('./') || spec === 'tweetnacl' || spec === 'node:crypto', `${relative(SRC, f)} imports ${spec}`);
    }
    const text = readFileSync(f, 'utf8');
    t.false(/Date\.now\(|new Date\(\)|performance\.now|Math\.random/.test(text), `${relative(SRC, f)} reads a clock or ambient randomness`);
    t.false(/randomBytes|getRandomValues/.test(text.replace(/export const systemRandom[\s\S]*?\n};\n/, '')), `${relative(SRC, f)} draws randomness outside systemRandom`);
  }
});

test('no app folder imports another app folder or the cli', (t) => {
  for (const app of APPS) {
    let dir: string;
    try {
      dir = join(SRC, app);
      statSync(dir);
    } catch {
      continue;
    }
    for (const f of files(dir)) {
      for (const spec of imports(f)) {
        for (const other of [...APPS, 'cli']) {
          if (other !== app) t.false(new RegExp(`^(\\.\\./)+${other}/`).test(spec), `${relative(SRC, f)} imports ${spec}`);
        }
      }
    }
  }
  t.pass();
});

/** Every src file reachable from `file` through relative imports (and the bare packages they import). */
function closure(file: string, seen = new Set<string>(), packages = new Set<string>()): { files: Set<string>; packages: Set<string> } {
  if (seen.has(file)) return { files: seen, packages };
  seen.add(file);
  for (const spec of imports(file)) {
    if (spec.startsWith('.')) closure(join(file, '..', spec.replace(/\.js$/, '.ts')), seen, packages);
    else packages.add(spec);
  }
  return { files: seen, packages };
}

test('the relay never imports a decryption path, directly or through anything it imports', (t) => {
  const relayFiles = files(join(SRC, 'relay'));
  t.true(relayFiles.length >= 5);
  const forbidden = ['protocol/primitives.ts', 'protocol/open.ts', 'protocol/epoch.ts', 'protocol/seal.ts', 'protocol/identity.ts', 'protocol/index.ts'];
  for (const f of relayFiles) {
    const c = closure(f);
    const reached = [...c.files].map((p) => relative(SRC, p));
    for (const bad of forbidden) t.false(reached.includes(bad), `${relative(SRC, f)} reaches ${bad}`);
    t.false(c.packages.has('tweetnacl'), `${relative(SRC, f)} reaches tweetnacl`);
  }
});

/** What src/app may use: it runs in a browser, so nothing that needs Node (DESIGN.md). */
const APP_PACKAGES = new Set(['mqtt', 'qrcode', 'jsqr', 'tweetnacl', '@noble/hashes/scrypt.js']);


test('src/app imports only itself, src/protocol and browser packages; nothing imports src/app', (t) => {
  const appFiles = files(join(SRC, 'app'));
  t.true(appFiles.length >= 10);
  for (const f of appFiles) {
    const c = closure(f);
    for (const p of c.files) {
      const rel = relative(SRC, p);
      t.true(rel.startsWith('app/') || rel.startsWith('protocol/'), `${relative(SRC, f)} reaches ${rel}`);
    }
    // node:crypto is the protocol's, replaced in the bundle by src/app/node-crypto-shim.ts
    for (const pkg of c.packages) t.true(APP_PACKAGES.has(pkg) || pkg === 'node:crypto', `${relative(SRC, f)} reaches the package ${pkg}`);
  }
  for (const f of files(SRC).filter((p) => !relative(SRC, p).startsWith('app/'))) {
    for (const spec of imports(f)) t.false(/(^|\/)app\//.test(spec) && spec.startsWith('.'), `${relative(SRC, f)} imports ${spec}`);
  }
});
