/** `sealcam owner …`: the owner's side — identity, relay login, pairing cameras. */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { OwnerHome } from '../owner/home.js';
import { pairAsOwner } from '../owner/pair.js';
import { backupOwnerHome, restoreOwnerHome } from '../owner/backup.js';
import { writeFileAtomic } from '../media/atomic-file.js';
import { qrTerminal, scanQrPng, writeQrPng } from '../media/qr.js';
import { addViewer, revokeViewer } from '../owner/household.js';
import { decodeViewerCode, encodeViewerCode } from '../protocol/index.js';
import { SealcamError } from '../protocol/errors.js';
import { listAccountCameras, pinRelay } from '../owner/relay-api.js';
import { parseFingerprint } from '../media/pinned-tls.js';
import { relayUrl, seconds } from './options.js';


export function registerOwner(program: Command): void {
  const owner = program.command('owner').description("the owner's side: viewer identity, relay login, pairing cameras");
  owner
    .command('init')
    .description('create the owner viewer identity (Ed25519 + X25519) in --home, mode 0600; refuses to overwrite one')
    .requiredOption('--home <dir>', 'owner home directory')
    .action(async (opts: { home: string }) => {
      const home = await OwnerHome.init(resolve(opts.home));
      process.stdout.write(`owner ${home.identity.idHex} created in ${home.dir}\n`);
    });
  owner
    .command('login')
    .description("store the owner's relay login (from `sealcam relay account add`); the password is read from a file or stdin, never the command line")
    .requiredOption('--home <dir>', 'owner home directory')
    .requiredOption('--relay <url>', "the relay's HTTP API, e.g. http://127.0.0.1:8080")
    .requiredOption('--account <name>', 'account name')
    .requiredOption('--username <name>', 'viewer login')
    .requiredOption('--password-file <file>', "file holding the password ('-' for stdin)")
    .option('--fingerprint <sha256/…>', "the relay's key fingerprint as `sealcam relay` prints it; without it the key the relay presents is pinned on first use and shown for you to compare")
    .action(async (opts: { home: string; relay: string; account: string; username: string; passwordFile: string; fingerprint?: string }) => {
      const home = await OwnerHome.open(resolve(opts.home));
      const password = (opts.passwordFile === '-' ? await readStdin() : await readFile(opts.passwordFile, 'utf8')).trim();
      if (!password) throw new SealcamError('E_CONFIG', 'empty password');
      const httpUrl = relayUrl(opts.relay);
      const pin = await pinRelay(httpUrl, opts.fingerprint ? parseFingerprint(opts.fingerprint, '--fingerprint') : undefined);
      process.stderr.write(`${pin.how}\n`);
      const login = { httpUrl, account: opts.account, username: opts.username, password, ...(pin.fingerprint ? { fingerprint: pin.fingerprint } : {}) };
      // Checked against the relay before it is stored: a wrong password is refused here, not at the next command.
      await listAccountCameras(login, `wrong username or password for account ${JSON.stringify(opts.account)}: check --username and the password file (the login \`sealcam relay account add\` printed)`);
      await home.setRelay(login);
      process.stdout.write(`relay login checked with ${login.httpUrl} and stored in ${home.dir}/relay.json (mode 0600)\n`);
    });
  owner
    .command('pair')
    .description("show a pairing code for a camera's lens, wait for its answer over the relay, verify it, pin the camera and print the confirmation code")
    .requiredOption('--home <dir>', 'owner home directory')
    .requiredOption('--name <name>', 'a name for the camera')
    .option('--relay <url>', "the relay's HTTP API (default: the one stored by owner login; stored when given)")
    .option('--qr-png <file>', 'also write the code as a PNG (to show on a phone or print)')
    .option('--timeout <seconds>', 'how long to wait for the camera', seconds(), 300)
    .action(async (opts: { home: string; name: string; relay?: string; qrPng?: string; timeout: number }) => {
      const home = await OwnerHome.open(resolve(opts.home));
      if (opts.relay) {
        const httpUrl = relayUrl(opts.relay);
        const pin = await pinRelay(httpUrl);
        process.stderr.write(`${pin.how}\n`);
        const { fingerprint: _old, ...stored } = await home.relay();
        const login = { ...stored, httpUrl, ...(pin.fingerprint ? { fingerprint: pin.fingerprint } : {}) };
        await listAccountCameras(login); // stored only once the relay at the new URL knows the login
        await home.setRelay(login);
      }
      const result = await pairAsOwner({
        home,
        name: opts.name,
        timeoutMs: opts.timeout * 1000,
        showCode: async (text) => {
          process.stdout.write(`${await qrTerminal(text)}\nshow this code to the camera's lens (or: sealcam device pair --code ${text})\n`);
          if (opts.qrPng) {
            await writeQrPng(text, opts.qrPng);
            process.stdout.write(`code written to ${opts.qrPng}\n`);
          }
          process.stdout.write('waiting for the camera…\n');
        },
        onIgnored: (e) => process.stderr.write(`ignored a message on the pairing topic: ${e.message}\n`),
      });
      process.stderr.write(`${result.ignored} invalid messages on the pairing topic ignored\n`);
      process.stdout.write(`paired camera ${Buffer.from(result.camera.id).toString('hex')} as "${result.name}"\nconfirmation code ${result.code} — the camera shows the same code\n`);
    });
  owner
    .command('backup')
    .description("seal the owner's keys, relay login and paired cameras into a file the phone app restores (and `owner restore` too), under a passphrase (scrypt, N = 2^17)")
    .requiredOption('--home <dir>', 'owner home directory')
    .requiredOption('--out <file>', 'the backup file to write (0600)')
    .requiredOption('--passphrase-file <file>', "file holding the passphrase, at least 10 characters ('-' for stdin)")
    .action(async (opts: { home: string; out: string; passphraseFile: string }) => {
      const home = await OwnerHome.open(resolve(opts.home));
      const { text, cameras } = await backupOwnerHome(home, await secretFrom(opts.passphraseFile));
      await writeFileAtomic(resolve(opts.out), text, 0o600);
      process.stdout.write(`backup of owner ${home.identity.idHex} with ${cameras} camera${cameras === 1 ? '' : 's'} written to ${resolve(opts.out)} (0600); the app's "restore" takes it\n`);
    });
  owner
    .command('restore')
    .description('make a new owner home from a backup (made by the phone app or by `owner backup`): the same owner keys, relay login and cameras')
    .requiredOption('--home <dir>', 'the new owner home directory (must not hold an owner yet)')
    .requiredOption('--file <file>', 'the backup file')
    .requiredOption('--passphrase-file <file>', "file holding the passphrase ('-' for stdin)")
    .action(async (opts: { home: string; file: string; passphraseFile: string }) => {
      const text = await readFile(resolve(opts.file), 'utf8');
      const { home, cameras } = await restoreOwnerHome(resolve(opts.home), text, await secretFrom(opts.passphraseFile));
      process.stdout.write(`owner ${home.identity.idHex} restored into ${home.dir} with ${cameras} camera${cameras === 1 ? '' : 's'}\n`);
    });
  registerHousehold(owner);
}

/** A passphrase or password from a file or stdin, never the command line. */
async function secretFrom(file: string): Promise<string> {
  const text = (file === '-' ? await readStdin() : await readFile(file, 'utf8')).replace(/\r?\n$/, '');
  if (!text) throw new SealcamError('E_CONFIG', 'empty passphrase');
  return text;
}

async function viewerFrom(opts: { code?: string; qrImage?: string }) {
  if (opts.code) return decodeViewerCode(opts.code);
  if (opts.qrImage) {
    const found = await scanQrPng(opts.qrImage);
    if (!found) throw new SealcamError('E_QR_FORMAT', `no QR code found in ${opts.qrImage}`);
    return decodeViewerCode(found.text);
  }
  throw new SealcamError('E_CONFIG', "give the viewer's code with --code TEXT or --qr-image FILE");
}

export function registerHousehold(owner: Command): void {
  owner
    .command('code')
    .description("show this viewer's enrollment code (SCV1:…), for the owner of a camera to add it")
    .requiredOption('--home <dir>', 'this viewer\'s home (made by owner init)')
    .option('--qr-png <file>', 'also write it as a PNG')
    .action(async (opts: { home: string; qrPng?: string }) => {
      const home = await OwnerHome.open(resolve(opts.home));
      const text = encodeViewerCode(home.identity.public);
      process.stdout.write(`${await qrTerminal(text)}\n${text}\n`);
      if (opts.qrPng) await writeQrPng(text, opts.qrPng);
    });
  owner
    .command('add-viewer')
    .description("add a household viewer to a camera's roster (new owner-signed roster; the camera starts a new epoch)")
    .requiredOption('--home <dir>', 'owner home')
    .requiredOption('--camera <name>', 'the camera, by the name given at pairing')
    .option('--code <text>', "the viewer's SCV1:… code")
    .option('--qr-image <file>', "a PNG of the viewer's code")
    .action(async (opts: { home: string; camera: string; code?: string; qrImage?: string }) => {
      const home = await OwnerHome.open(resolve(opts.home));
      const viewer = await viewerFrom(opts);
      const cam = await addViewer(home, opts.camera, viewer);
      process.stdout.write(`viewer ${Buffer.from(viewer.id).toString('hex')} added to ${opts.camera} (roster version ${cam.rosterVersion})\n`);
    });
  owner
    .command('revoke')
    .description('remove a viewer from a camera: from the next epoch on it cannot open anything')
    .requiredOption('--home <dir>', 'owner home')
    .requiredOption('--camera <name>', 'the camera, by the name given at pairing')
    .requiredOption('--viewer <id>', "the viewer's id (32 hex digits)")
    .action(async (opts: { home: string; camera: string; viewer: string }) => {
      const home = await OwnerHome.open(resolve(opts.home));
      const cam = await revokeViewer(home, opts.camera, opts.viewer);
      process.stdout.write(`viewer ${opts.viewer} revoked from ${opts.camera} (roster version ${cam.rosterVersion})\n`);
    });
}

async function readStdin(): Promise<string> {
  let s = '';
  for await (const chunk of process.stdin) s += chunk;
  return s;
}
