/**
 * (Shared by every app: media/ is the layer under them.) TLS to a relay whose key is pinned
 * (PROTOCOL.md §15.8). The pairing code carries the relay's fingerprint, SHA-256 of its
 * certificate's SubjectPublicKeyInfo, so a camera trusts exactly the relay its owner uses, with no
 * CA; `owner login` pins it too.
 *
 * A self-signed certificate cannot be checked against a CA, and Node calls `checkServerIdentity`
 * only after the chain verified. So the first connection to a host:port is a probe that sends
 * nothing: it takes the certificate the relay presents and compares its key with the pin. On a
 * match that certificate becomes a trust anchor (beside the usual CAs, so a CA-issued certificate
 * works the same way) and every real connection still checks the pin in `checkServerIdentity`;
 * on a mismatch nothing is sent and the caller gets E_RELAY_PIN with both fingerprints.
 */
import { X509Certificate, createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { connect, rootCertificates, type ConnectionOptions, type PeerCertificate } from 'node:tls';
import { SealcamError } from '../protocol/errors.js';

const TLS_PROTOCOLS = new Set(['https:', 'mqtts:', 'wss:']);
const DEFAULT_PORTS: Record<string, number> = { 'https:': 443, 'mqtts:': 8883, 'wss:': 443 };
const PROBE_TIMEOUT_MS = 10_000;

/** What a client passes to tls.connect (directly, or through mqtt.js and node:https). */
export type PinnedTlsOptions = Pick<ConnectionOptions, 'checkServerIdentity' | 'rejectUnauthorized' | 'servername'> & { ca?: string[] };

/** SHA-256 of a DER certificate's SubjectPublicKeyInfo, as `sha256/<base64url>`. */
export function fingerprintOfCertificate(der: Uint8Array): string {
  const key = new X509Certificate(Buffer.from(der)).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256/${createHash('sha256').update(key).digest('base64url')}`;
}

/** Raw 32 bytes of a `sha256/…` fingerprint (the pairing code carries them) and back. */
export function fingerprintBytes(fingerprint: string): Uint8Array {
  const b = Buffer.from(fingerprint.replace(/^sha256\//, ''), 'base64url');
  if (!fingerprint.startsWith('sha256/') || b.length !== 32) throw new SealcamError('E_CONFIG', `not a relay fingerprint: ${JSON.stringify(fingerprint.slice(0, 60))}`);
  return new Uint8Array(b);
}
export const fingerprintText = (bytes: Uint8Array): string => `sha256/${Buffer.from(bytes).toString('base64url')}`;

/** A fingerprint as given on a command line or stored in a file: `sha256/` and 43 base64url characters. */
export function parseFingerprint(text: string, what = 'relay fingerprint'): string {
  const t = text.trim();
  if (!/^sha256\/[A-Za-z0-9_-]{43}$/.test(t)) throw new SealcamError('E_CONFIG', `${what}: expected sha256/ and 43 base64url characters (as \`sealcam relay\` prints it), got ${JSON.stringify(text.slice(0, 80))}`);
  return t;
}

export const isTlsUrl = (url: string): boolean => TLS_PROTOCOLS.has(new URL(url).protocol);

const anchors = new Map<string, Promise<string>>();

/**
 * The TLS options for `url`: none for a plaintext URL; the system CAs for a TLS URL without a pin;
 * with a pin, the probed certificate as an anchor and a pin check on every connection.
 */
export async function tlsOptionsFor(url: string, fingerprint?: string | null): Promise<PinnedTlsOptions> {
  const u = new URL(url);
  if (!TLS_PROTOCOLS.has(u.protocol)) {
    if (fingerprint) throw new SealcamError('E_CONFIG', `${u.origin} is not a TLS address, but a relay fingerprint is pinned for it: use https:// / mqtts:// (or drop the pin with a plaintext relay)`);
    return {};
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const servername = isIP(host) ? {} : { servername: host };
  if (!fingerprint) return { rejectUnauthorized: true, ...servername };
  const port = Number(u.port) || DEFAULT_PORTS[u.protocol]!;
  const key = `${host}:${port}|${fingerprint}`;
  let anchor = anchors.get(key);
  if (!anchor) {
    anchor = probe(host, port, fingerprint);
    anchors.set(key, anchor);
    anchor.catch(() => anchors.delete(key)); // a failed probe is retried at the next connection
  }
  const pem = await anchor;
  return {
    ...servername,
    rejectUnauthorized: true,
    ca: [...rootCertificates, pem],
    // Called once the chain verified (against the anchor or a CA): the key must still be the pinned one.
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const got = fingerprintOfCertificate(cert.raw);
      return got === fingerprint ? undefined : pinError(host, port, got, fingerprint);
    },
  };
}

/** What the relay at host:port presents, for a person to compare (`owner login` without a pin). */
export async function presentedFingerprint(url: string): Promise<string> {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return fingerprintOfCertificate(await peerCertificate(host, Number(u.port) || DEFAULT_PORTS[u.protocol] || 443));
}

async function probe(host: string, port: number, fingerprint: string): Promise<string> {
  const der = await peerCertificate(host, port);
  const got = fingerprintOfCertificate(der);
  if (got !== fingerprint) throw pinError(host, port, got, fingerprint);
  return new X509Certificate(Buffer.from(der)).toString();
}

/** Connect, take the leaf certificate, send nothing, close. */
function peerCertificate(host: string, port: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }), timeout: PROBE_TIMEOUT_MS });
    const fail = (why: string, cause?: unknown) => {
      socket.destroy();
      reject(new SealcamError('E_RELAY_UNREACHABLE', `cannot reach the relay at ${host}:${port} over TLS (${why}): is the relay running there with TLS? (\`sealcam relay\` prints its address and fingerprint)`, { cause }));
    };
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate(false);
      socket.end();
      if (!cert?.raw) return fail('it presented no certificate');
      resolve(new Uint8Array(cert.raw));
    });
    socket.once('timeout', () => fail(`no TLS handshake within ${PROBE_TIMEOUT_MS / 1000} s`));
    socket.once('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message, e));
  });
}

function pinError(host: string, port: number, got: string, want: string): SealcamError {
  return new SealcamError(
    'E_RELAY_PIN',
    `the relay at ${host}:${port} presents key ${got}, but ${want} is pinned: this is not the relay you paired with (another server, or someone in between). Nothing was sent. If the relay's operator replaced its certificate, pair again (camera) or run \`sealcam owner login\` again (owner)`,
  );
}
