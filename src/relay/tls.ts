/**
 * The relay's TLS identity (issue 12, PROTOCOL.md §15.8). With `--tls-cert FILE --tls-key FILE`
 * the relay uses a CA-issued certificate; without them it makes a self-signed ECDSA P-256
 * certificate in its data directory on first start (tls/relay.crt, tls/relay.key, 0600) and keeps
 * it. Either way its **fingerprint** is SHA-256 of the certificate's SubjectPublicKeyInfo (DER),
 * written `sha256/<base64url>`: the pairing code carries it, so a camera pins the exact relay its
 * owner uses without any CA, and `owner login` pins it too.
 *
 * The certificate is built here with node:crypto and a few lines of DER (no X.509 library):
 * version 3, a random serial, CN "sealcam relay", subjectAltName for the given hosts, not a CA,
 * ten years. Node's X509Certificate parses it back as a check.
 */
import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { SealcamError } from '../protocol/errors.js';
import { writeFileAtomic } from '../media/atomic-file.js';

/** A certificate and its key, PEM. */
export interface TlsIdentity {
  cert: string;
  key: string;
}

/** A TLS handshake that has not finished by then is dropped (it holds a socket, nothing else). */
export const TLS_HANDSHAKE_TIMEOUT_MS = 10_000;

export interface RelayTls extends TlsIdentity {
  /** `sha256/<base64url of SHA-256(SPKI DER)>` */
  fingerprint: string;
  /** where it came from: the operator's files, or made by the relay */
  origin: 'files' | 'self-signed';
}

export const TLS_DIR = 'tls';
const VALID_YEARS = 10;

/** The fingerprint of a certificate (PEM or DER): SHA-256 over its SubjectPublicKeyInfo. */
export function spkiFingerprint(cert: string | Uint8Array): string {
  const x = new X509Certificate(typeof cert === 'string' ? cert : Buffer.from(cert));
  return spkiFingerprintOfKey(x.publicKey);
}

export function spkiFingerprintOfKey(key: KeyObject): string {
  return `sha256/${createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('base64url')}`;
}

export { parseFingerprint } from '../media/pinned-tls.js';

/**
 * The relay's certificate and key as files in `dir` (0600), for a broker that serves them (Mosquitto,
 * the nodes of a NATS cluster), so cameras that pinned the relay's key (§15.8) trust it too.
 */
export async function writeRelayCertFiles(dir: string, tls: TlsIdentity): Promise<{ certPath: string; keyPath: string }> {
  const certPath = join(dir, 'relay.crt');
  const keyPath = join(dir, 'relay.key');
  await writeFileAtomic(certPath, tls.cert, 0o600);
  await writeFileAtomic(keyPath, tls.key, 0o600);
  return { certPath, keyPath };
}

/**
 * Load the operator's certificate and key, or the relay's own self-signed pair from
 * `<dataDir>/tls/`, making it on first start for `hosts` (names and IP addresses it answers on).
 */
export async function relayTls(o: { dataDir: string; certFile?: string; keyFile?: string; hosts: string[] }): Promise<RelayTls> {
  if (o.certFile || o.keyFile) {
    if (!o.certFile || !o.keyFile) throw new SealcamError('E_CONFIG', '--tls-cert and --tls-key go together');
    const [cert, key] = await Promise.all([readFile(o.certFile, 'utf8'), readFile(o.keyFile, 'utf8')]).catch((e: NodeJS.ErrnoException) => {
      throw new SealcamError('E_FILE', `cannot read the TLS certificate or key: ${e.code ?? e.message}`);
    });
    return { cert, key, fingerprint: checkPair(cert, key, o.certFile), origin: 'files' };
  }
  const certPath = join(o.dataDir, TLS_DIR, 'relay.crt');
  const keyPath = join(o.dataDir, TLS_DIR, 'relay.key');
  if (await stat(certPath).catch(() => null)) {
    const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
    return { cert, key, fingerprint: checkPair(cert, key, certPath), origin: 'self-signed' };
  }
  const made = selfSignedCertificate(o.hosts);
  await mkdir(join(o.dataDir, TLS_DIR), { recursive: true, mode: 0o700 });
  await writeFileAtomic(keyPath, made.key, 0o600);
  await writeFileAtomic(certPath, made.cert, 0o600);
  return { ...made, origin: 'self-signed' };
}

function checkPair(cert: string, key: string, what: string): string {
  let x: X509Certificate;
  try {
    x = new X509Certificate(cert);
    if (!x.checkPrivateKey(createPrivateKey(key))) throw new Error('the key does not belong to the certificate');
  } catch (e) {
    throw new SealcamError('E_CONFIG', `${what}: not a usable certificate and key (${e instanceof Error ? e.message : String(e)})`);
  }
  return spkiFingerprintOfKey(x.publicKey);
}

/** A self-signed ECDSA P-256 certificate for these hosts, ten years, not a CA. */
export function selfSignedCertificate(hosts: string[], now = new Date()): { cert: string; key: string; fingerprint: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  const name = seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from('sealcam relay')))));
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(now.getUTCFullYear() + VALID_YEARS);
  const ecdsaSha256 = seq(oid('1.2.840.10045.4.3.2'));
  const names = [...new Set(['localhost', '127.0.0.1', ...hosts.filter((h) => h && h !== '0.0.0.0' && h !== '::')])];
  const san = seq(...names.map((h) => (isIP(h) === 4 ? tlv(0x87, Buffer.from(h.split('.').map(Number))) : tlv(0x82, Buffer.from(h, 'ascii')))));
  const extensions = tlv(0xa3, seq(seq(oid('2.5.29.17'), tlv(0x04, san)), seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq()))));
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x3f) | 0x40; // positive, and its first byte non-zero: DER allows no leading 00 before a byte below 0x80
  const tbs = seq(tlv(0xa0, tlv(0x02, Buffer.from([2]))), tlv(0x02, serial), ecdsaSha256, name, seq(time(now), time(notAfter)), name, spki, extensions);
  const signature = sign('sha256', tbs, privateKey); // DER ECDSA-Sig-Value
  const der = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const cert = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
  const key = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  return { cert, key, fingerprint: checkPair(cert, key, 'the self-signed certificate') };
}

// ---- minimal DER -------------------------------------------------------------------------------

function tlv(tag: number, body: Buffer): Buffer {
  const n = body.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, body]);
}
const seq = (...parts: Buffer[]) => tlv(0x30, Buffer.concat(parts));
const set = (...parts: Buffer[]) => tlv(0x31, Buffer.concat(parts));

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const groups: number[] = [];
    let v = n;
    do {
      groups.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    bytes.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)));
  }
  return tlv(0x06, Buffer.from(bytes));
}

/** UTCTime before 2050, GeneralizedTime from 2050 on (RFC 5280 §4.1.2.5). */
function time(d: Date): Buffer {
  const iso = d.toISOString().replace(/[-:T]/g, '').slice(0, 14); // YYYYMMDDHHMMSS
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${iso.slice(2)}Z`)) : tlv(0x18, Buffer.from(`${iso}Z`));
}
