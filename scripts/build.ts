/**
 * Builds dist/cli/sealcam.mjs, the compiled `sealcam` command that bin/sealcam.js runs (npm's
 * `prepare` runs this at `npm install` and `npm ci`; `npm run build` by hand), through tsx, so
 * it needs nothing but esbuild and tsx (dependencies) on a fresh clone.
 *
 * Why one esbuild bundle and not a tsc emit: a start cost is mostly module loading. A tsc emit
 * leaves ~150 files of ours plus every package's own files for Node to resolve and compile one by
 * one (0.5 s for --help); one file is read and compiled once. The packages are bundled in too,
 * except three that must not be, or not at start:
 *   - node-webcodecs and @mongodb-js/zstd load native addons (.node, FFmpeg): they stay in
 *     node_modules, and esbuild loads a CLI-server binary on import;
 *   - all three cost 60–150 ms each to import, and --help or `relay` never use them, so the
 *     bundle gets a lazy stand-in for each: the package is required on first use of an export.
 *     mediabunny (a fifth of the bundle, for the segmenter and the viewer) too, from its CommonJS
 *     build for Node.
 * Modules that find files relative to themselves (boards/, firmware/, the web viewer's app.ts, the
 * agent entry the firmware image bundles) see their own source URL: each `import.meta.url` in
 * src/ is rewritten to the URL of its .ts file, so they behave exactly as under tsx.
 * The firmware image's agent is a separate bundle (src/firmware/bundle.ts), with the board's addons.
 */
import { build, type Plugin } from 'esbuild';
import { ESM_REQUIRE_BANNER } from '../src/firmware/bundle.js';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const OUTFILE = join(ROOT, 'dist', 'cli', 'sealcam.mjs');
const LAZY: string[] = ['node-webcodecs', '@mongodb-js/zstd/bindings.js', 'esbuild', 'mediabunny'];
const require = createRequire(import.meta.url);

/** A module whose exports stand in for `spec`'s: the package is required on first use of one. */
function lazyModule(spec: string): string {
  const real = require(spec) as Record<string, unknown>;
  const names = Object.keys(real).filter((n) => /^[A-Za-z_$][\w$]*$/.test(n) && n !== 'default');
  // The proxy's target has the export's kind, so Array.isArray and typeof answer as for the real one.
  const target = (n: string) => (Array.isArray(real[n]) ? '[]' : typeof real[n] === 'function' ? 'function () {}' : '{}');
  return [
    "import { createRequire as __lazyCreateRequire } from 'node:module';",
    `let __lazyModule; const __lazyLoad = () => (__lazyModule ??= __lazyCreateRequire(import.meta.url)(${JSON.stringify(spec)}));`,
    'const __lazy = (name, target) => new Proxy(target, {',
    '  construct: (_, args) => Reflect.construct(__lazyLoad()[name], args),',
    '  apply: (_, self, args) => Reflect.apply(__lazyLoad()[name], self, args),',
    '  get: (_, key) => Reflect.get(__lazyLoad()[name], key),',
    '  has: (_, key) => key in __lazyLoad()[name],',
    '});',
    ...names.map((n) => `export const ${n} = __lazy(${JSON.stringify(n)}, ${target(n)});`),
  ].join('\n');
}

/** `import.meta.url` in code (not inside a string on its line) → the URL of the source file. */
function withSourceUrl(code: string, file: string): string {
  const fromBundle = relative(dirname(OUTFILE), file).split('\\').join('/');
  return code
    .split('\n')
    .map((line) =>
      line.replace(/import\.meta\.url/g, (match: string, at: number) => {
        const before = line.slice(0, at);
        const inString = ["'", '"', '`'].some((q) => (before.split(q).length - 1) % 2 === 1);
        return inString ? match : `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      }),
    )
    .join('\n');
}

const plugin: Plugin = {
  name: 'sealcam-cli',
  setup(b) {
    const lazy = new RegExp(`^(${LAZY.map((s) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})$`);
    b.onResolve({ filter: lazy }, (args) => ({ path: args.path, namespace: 'sealcam-lazy' }));
    b.onLoad({ filter: /.*/, namespace: 'sealcam-lazy' }, (args) => ({ contents: lazyModule(args.path), loader: 'js', resolveDir: ROOT }));
    b.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async (args) => ({ contents: withSourceUrl(await readFile(args.path, 'utf8'), args.path), loader: 'ts' }));
  },
};

const started = Date.now();
const result = await build({
  entryPoints: [join(ROOT, 'src', 'cli', 'index.ts')],
  outfile: OUTFILE,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // tsx and playwright-core are for tests and development only.
  external: ['tsx', 'playwright-core'],
  banner: { js: ESM_REQUIRE_BANNER },
  legalComments: 'none',
  minify: true,
  keepNames: true,
  logLevel: 'warning',
  plugins: [plugin],
  metafile: true,
  absWorkingDir: ROOT,
});
// The sources in the bundle: bin/sealcam.js falls back to tsx when one is newer than the bundle.
const sources = Object.keys(result.metafile!.inputs).filter((p) => p.startsWith('src/'));
await writeFile(join(dirname(OUTFILE), 'sources.json'), `${JSON.stringify(sources)}\n`);
process.stderr.write(`sealcam: built ${relative(ROOT, OUTFILE)} in ${Date.now() - started} ms\n`);
