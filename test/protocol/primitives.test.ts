import test from 'ava';
import nacl from 'tweetnacl';
import { readFileSync } from 'node:fs';
import { SealcamError, SigningKey, systemRandom, assertUsableBoxPublicKey, boxSharedKey, fromHex, publicIdentity, toHex, verifySignature, x25519 } from '../../src/protocol/index.js';

interface VectorFile<T> {
  source: string;
  vectors: T[];
}
const load = <T>(name: string): VectorFile<T> => JSON.parse(readFileSync(new URL(`../vectors/${name}`, import.meta.url), 'utf8')) as VectorFile<T>;

const ed = load<{ name: string; secretKey: string; publicKey: string; message: string; signature: string }>('ed25519-rfc8032.json');
const x = load<{ name: string; scalar: string; u: string; output: string }>('x25519-rfc7748.json');
const low = load<{ tcId: number; comment: string; private: string; public: string; shared: string }>('x25519-wycheproof-low-order.json');

test('vector files name their sources', (t) => {
  for (const f of [ed, x, low]) t.true(f.source.length > 10);
  t.true(ed.vectors.length >= 5);
  t.true(x.vectors.length >= 6);
  t.true(low.vectors.length >= 20);
});

for (const v of ed.vectors) {
  test(`RFC 8032 ${v.name}: node:crypto signer, tweetnacl and the vector agree`, (t) => {
    const seed = fromHex(v.secretKey);
    const msg = fromHex(v.message);
    const signer = new SigningKey(seed);
    t.is(toHex(signer.publicKey), v.publicKey);
    t.is(toHex(signer.sign(msg)), v.signature);
    t.is(toHex(nacl.sign.detached(msg, nacl.sign.keyPair.fromSeed(seed).secretKey)), v.signature);
    t.true(verifySignature(fromHex(v.publicKey), msg, fromHex(v.signature)));
    const bad = fromHex(v.signature);
    bad[0]! ^= 1;
    t.false(verifySignature(fromHex(v.publicKey), msg, bad));
  });
}

for (const v of x.vectors) {
  test(`RFC 7748 ${v.name}`, (t) => {
    t.is(toHex(x25519(fromHex(v.scalar), fromHex(v.u))), v.output);
  });
}

test('Wycheproof low-order X25519 public keys are refused wherever a shared secret is made', (t) => {
  for (const v of low.vectors) {
    const pub = fromHex(v.public);
    const priv = fromHex(v.private);
    t.is(v.shared, '00'.repeat(32), `tcId ${v.tcId}`);
    t.is(t.throws(() => boxSharedKey(pub, priv), { instanceOf: SealcamError })?.code, 'E_LOW_ORDER_POINT', `tcId ${v.tcId}: ${v.comment}`);
    t.is(t.throws(() => assertUsableBoxPublicKey(pub))?.message.startsWith('E_LOW_ORDER_POINT'), true, `tcId ${v.tcId}`);
    t.is(t.throws(() => publicIdentity(new Uint8Array(32).fill(1), pub), { instanceOf: SealcamError })?.code, 'E_LOW_ORDER_POINT');
  }
});

test('an all-zero X25519 public key is refused', (t) => {
  t.is(t.throws(() => boxSharedKey(new Uint8Array(32), new Uint8Array(32).fill(9)), { instanceOf: SealcamError })?.code, 'E_LOW_ORDER_POINT');
});

test('verifySignature is false, never a throw, for malformed keys and signatures', (t) => {
  t.false(verifySignature(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64)));
  t.false(verifySignature(new Uint8Array(32), new Uint8Array(1), new Uint8Array(63)));
  t.false(verifySignature(new Uint8Array(32).fill(0xff), new Uint8Array(1), new Uint8Array(64)));
});

test('systemRandom serves requests larger than the 64 KiB WebCrypto quota', (t) => {
  const big = systemRandom(300_000);
  t.is(big.length, 300_000);
  // The tail is filled too (a zero run of 64 bytes would be a 2^-512 event).
  t.false(big.subarray(299_936).every((b) => b === 0));
});
