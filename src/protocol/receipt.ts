/**
 * Storage receipts (PROTOCOL.md §10.5): the relay tells a camera, on sc/v1/<a>/<c>/stored, that an
 * envelope or an announcement it uploaded is filed (or already was, or was refused). The camera
 * keeps each envelope in its spool until such a receipt names it, because an MQTT PUBACK only
 * says that a broker received a message, not that anything stored it: a clustered broker (NATS,
 * EMQX) or a queue behind a rule (AWS IoT → SQS) can acknowledge and still lose it.
 *
 * A receipt names what it confirms by the §10 commitment, SHA-512(bytes)[0..32], which the
 * camera already sends in every transport piece. It carries no secret and is not signed: a relay
 * that lies in a receipt can do no more than one that drops the upload, which the viewer detects
 * as a gap in seqs (§8).
 */
import { ByteReader, ByteWriter, asciiBytes, equalBytes } from './bytes.js';
import { SealcamError } from './errors.js';
import { sha512 } from './hash.js';

export const RECEIPT_MAGIC = asciiBytes('SCA1');
export const RECEIPT_VERSION = 1;
export const RECEIPT_ID_BYTES = 32;
const HEADER_BYTES = 8 + RECEIPT_ID_BYTES;
const MAX_CODE_BYTES = 32;
const CODE_RE = /^E_[A-Z0-9_]{1,30}$/;

export type ReceiptChannel = 'seg' | 'keys';
export type ReceiptOutcome = 'stored' | 'duplicate' | 'refused';
const CHANNELS: ReceiptChannel[] = ['seg', 'keys'];
const OUTCOMES: ReceiptOutcome[] = ['stored', 'duplicate', 'refused'];

export interface Receipt {
  channel: ReceiptChannel;
  outcome: ReceiptOutcome;
  /** SHA-512(envelope or announcement)[0..32]: for an envelope, its transport pieces' envelopeHash (§10.1) */
  id: Uint8Array;
  /** why it was refused (an error code of §9), only with outcome `refused` */
  code: string | null;
}

/** The id a receipt uses for `bytes` (an envelope or an announcement). */
export function receiptId(bytes: Uint8Array): Uint8Array {
  return sha512(bytes).subarray(0, RECEIPT_ID_BYTES);
}

export function encodeReceipt(r: Receipt): Uint8Array {
  const code = r.outcome === 'refused' ? asciiBytes(r.code ?? 'E_STORE') : new Uint8Array(0);
  if (r.outcome === 'refused' && !CODE_RE.test(r.code ?? 'E_STORE')) throw new SealcamError('E_BAD_ARGUMENT', `receipt code ${JSON.stringify(r.code)} is not an error code`);
  return new ByteWriter(HEADER_BYTES + code.length)
    .raw(RECEIPT_MAGIC)
    .u8(RECEIPT_VERSION)
    .u8(CHANNELS.indexOf(r.channel) + 1)
    .u8(OUTCOMES.indexOf(r.outcome))
    .u8(code.length)
    .raw(r.id, RECEIPT_ID_BYTES)
    .raw(code)
    .done();
}

/** Parse a receipt; anything else is E_BAD_MAGIC, E_UNSUPPORTED_VERSION or E_MALFORMED. */
export function decodeReceipt(bytes: Uint8Array): Receipt {
  const what = 'receipt';
  if (bytes.length < 4 || !equalBytes(bytes.subarray(0, 4), RECEIPT_MAGIC)) throw new SealcamError('E_BAD_MAGIC', `${what}: magic is not "SCA1"`);
  const r = new ByteReader(bytes, what);
  r.raw(4);
  const version = r.u8();
  if (version !== RECEIPT_VERSION) throw new SealcamError('E_UNSUPPORTED_VERSION', `${what}: version ${version} is not supported`);
  const channel = CHANNELS[r.u8() - 1];
  if (!channel) throw new SealcamError('E_MALFORMED', `${what}: unknown channel`);
  const outcome = OUTCOMES[r.u8()];
  if (!outcome) throw new SealcamError('E_MALFORMED', `${what}: unknown outcome`);
  const codeLength = r.u8();
  const id = r.raw(RECEIPT_ID_BYTES);
  if (codeLength > MAX_CODE_BYTES) throw new SealcamError('E_MALFORMED', `${what}: code of ${codeLength} bytes`);
  const codeBytes = r.raw(codeLength);
  r.end();
  let code: string | null = null;
  if (outcome === 'refused') {
    code = String.fromCharCode(...codeBytes);
    if (!CODE_RE.test(code)) throw new SealcamError('E_MALFORMED', `${what}: refusal code is not an error code`);
  } else if (codeLength !== 0) {
    throw new SealcamError('E_MALFORMED', `${what}: only a refusal carries a code`);
  }
  return { channel, outcome, id, code };
}
