/**
 * The agent, bundled by esbuild into one ES module, app/sealcam-agent.mjs. Its native addons are
 * not bundled: the image carries them in app/native/ for the board's architecture (addons.ts),
 * and two small replacements point the packages at them:
 *   - node-webcodecs' dist/native.js (which would search node-gyp-build paths and the host's
 *     @node-webcodecs/static-<platform>-<arch>) loads app/native/webcodecs.node, lazily, so a
 *     passthrough board without FFmpeg libraries still starts;
 *   - @mongodb-js/zstd/bindings.js loads app/native/zstd.node.
 */
import { build, type Plugin } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { SealcamError } from '../protocol/errors.js';

export const AGENT_ENTRY = fileURLToPath(new URL('../cli/agent.ts', import.meta.url));
export const AGENT_BUNDLE_PATH = 'app/sealcam-agent.mjs';

/** ESM has no require/__dirname; bundled CommonJS packages need both (also scripts/build.ts). */
export const ESM_REQUIRE_BANNER = [
  "import { createRequire as __sealcamCreateRequire } from 'node:module';",
  "import { dirname as __sealcamDirname } from 'node:path';",
  "import { fileURLToPath as __sealcamFileURLToPath } from 'node:url';",
  'const require = __sealcamCreateRequire(import.meta.url);',
  'const __filename = __sealcamFileURLToPath(import.meta.url);',
  'const __dirname = __sealcamDirname(__filename);',
].join('\n');

const ERRORS_MODULE = fileURLToPath(new URL('../protocol/errors.ts', import.meta.url));

/**
 * An addon that cannot load (the arm64 build without its FFmpeg 6.x libraries: "libavcodec.so.60:
 * cannot open shared object file") is E_ENCODER with the loader's own words, not a stack trace.
 */
const WEBCODECS_NATIVE = `
const path = require('node:path');
const { SealcamError } = require(${JSON.stringify(ERRORS_MODULE)});
let binding;
const load = () => {
  if (binding) return binding;
  const file = path.join(__dirname, 'native', 'webcodecs.node');
  try {
    return (binding = require(file));
  } catch (e) {
    throw new SealcamError('E_ENCODER', 'the node-webcodecs addon ' + file + ' does not load on this board: ' + e.message.split('\\n')[0] +
      ' (the arm64 addon is the dynamic build and needs the FFmpeg 6.x shared libraries, firmware/README.md; boards that pass their camera\\'s H.264 through do not load it)', { cause: e });
  }
};
exports.native = new Proxy({}, { get: (_, key) => load()[key], has: (_, key) => key in load() });
exports.getNativeVariant = () => (binding ? 'sealcam-image' : undefined);
`;

const ZSTD_NATIVE = `module.exports = require(require('node:path').join(__dirname, 'native', 'zstd.node'));`;

const imageNatives: Plugin = {
  name: 'sealcam-image-natives',
  setup(b) {
    b.onResolve({ filter: /^@mongodb-js\/zstd\/bindings\.js$/ }, () => ({ path: 'zstd-native', namespace: 'sealcam-native' }));
    b.onLoad({ filter: /^zstd-native$/, namespace: 'sealcam-native' }, () => ({ contents: ZSTD_NATIVE, loader: 'js' }));
    b.onLoad({ filter: /node-webcodecs[\\/]dist[\\/]native\.js$/ }, () => ({ contents: WEBCODECS_NATIVE, loader: 'js' }));
  },
};

let cached: Promise<Uint8Array> | undefined;

/** The agent bundle (the same for every board; computed once per process). */
export function bundleAgent(): Promise<Uint8Array> {
  cached ??= build({
    entryPoints: [AGENT_ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    write: false,
    logLevel: 'silent',
    banner: { js: ESM_REQUIRE_BANNER },
    plugins: [imageNatives],
  }).then(
    (result) => result.outputFiles[0]!.contents,
    (e: unknown) => {
      cached = undefined;
      throw new SealcamError('E_FIRMWARE_FORMAT', `esbuild could not bundle the agent: ${(e as Error).message}`, { cause: e });
    },
  );
  return cached;
}
