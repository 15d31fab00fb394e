/**
 * Per-connection limits of the embedded broker (PROTOCOL.md §11.3), enforced on the bytes before
 * aedes' MQTT parser sees them. aedes 1.2 / mqtt-packet 9 have no maximum packet size: the parser
 * buffers a whole packet, however long its header says it is, before anything can look at it.
 * aedes pulls bytes with `conn.read()` (lib/client.js, nextBatch); the guard wraps that read, walks
 * the MQTT fixed header of each packet (MQTT 3.1.1 §2.2: one type byte, then a 1–4 byte remaining
 * length) and destroys the connection as soon as a header announces too much:
 *   - before the login is accepted: at most `preAuthBytes` in all (the CONNECT included);
 *   - after: no packet whose remaining length exceeds `maxPacketBytes`.
 * It also tells the broker how many bytes wait to be written to the client (`queuedBytes`), so a
 * subscriber that stops reading can be cut off past a bound.
 */
import type { Duplex } from 'node:stream';
import { SealcamError } from '../protocol/errors.js';

export interface ConnLimits {
  /** bytes a connection may send before its login is accepted */
  preAuthBytes: number;
  /** the largest remaining length (MQTT 3.1.1 §2.2.3) of a packet after login */
  maxPacketBytes: number;
}

/** MQTT control packet types (MQTT 3.1.1 §2.2.1, table 2.1). */
const PACKET_NAMES = ['reserved', 'CONNECT', 'CONNACK', 'PUBLISH', 'PUBACK', 'PUBREC', 'PUBREL', 'PUBCOMP', 'SUBSCRIBE', 'SUBACK', 'UNSUBSCRIBE', 'UNSUBACK', 'PINGREQ', 'PINGRESP', 'DISCONNECT', 'reserved'];
/** The remaining length takes at most 4 bytes (MQTT 3.1.1 §2.2.3). */
const MAX_LENGTH_BYTES = 4;

/**
 * Walks MQTT framing: header byte, remaining length, body. `feed` returns an error the moment a
 * limit is crossed, having looked at no more than the bytes given.
 */
export class FrameScanner {
  /** bytes read in all (the refused chunk included: one socket read, ≤ 64 KiB) */
  bytes = 0;
  authenticated = false;
  private state: 'type' | 'length' | 'body' = 'type';
  private type = 0;
  private length = 0;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(private readonly limits: ConnLimits) {}

  feed(buf: Uint8Array): SealcamError | null {
    this.bytes += buf.length;
    if (!this.authenticated && this.bytes > this.limits.preAuthBytes) {
      return new SealcamError('E_TOO_LARGE', `${this.bytes} bytes before the login was accepted; the limit is ${this.limits.preAuthBytes}`);
    }
    let i = 0;
    while (i < buf.length) {
      if (this.state === 'body') {
        const n = Math.min(this.bodyLeft, buf.length - i);
        this.bodyLeft -= n;
        i += n;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = buf[i++]!;
      if (this.state === 'type') {
        this.type = byte >> 4;
        this.length = 0;
        this.lengthBytes = 0;
        this.state = 'length';
        continue;
      }
      // remaining length: 7 bits per byte, least significant first; the top bit says "more"
      this.length += (byte & 0x7f) * 128 ** this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === MAX_LENGTH_BYTES) return new SealcamError('E_TOO_LARGE', 'remaining length longer than 4 bytes (MQTT 3.1.1 §2.2.3)');
        continue;
      }
      const limit = this.authenticated ? this.limits.maxPacketBytes : this.limits.preAuthBytes;
      if (this.length > limit) {
        return new SealcamError('E_TOO_LARGE', `a ${PACKET_NAMES[this.type]} of ${this.length} bytes${this.authenticated ? '' : ' before the login was accepted'}; the limit is ${limit}`);
      }
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
    }
    return null;
  }
}

/** One guarded connection: its scanner, where it comes from, and what waits to be written to it. */
export interface GuardedConn {
  scanner: FrameScanner;
  source: string;
  /** bytes accepted for writing to the client but not yet handed to the kernel */
  queuedBytes(): number;
}

/**
 * Put `conn` under `limits` before handing it to aedes: every byte aedes reads passes the scanner
 * first. On a violation the connection is destroyed and `onViolation` told.
 */
export function guardConnection(conn: Duplex, o: { limits: ConnLimits; source: string; queuedBytes: () => number; onViolation: (e: SealcamError, g: GuardedConn) => void }): GuardedConn {
  const guarded: GuardedConn = { scanner: new FrameScanner(o.limits), source: o.source, queuedBytes: o.queuedBytes };
  const read = conn.read.bind(conn);
  conn.read = (size?: number) => {
    const chunk: unknown = read(size);
    if (!(chunk instanceof Uint8Array) || conn.destroyed) return chunk;
    const violation = guarded.scanner.feed(chunk);
    if (!violation) return chunk;
    o.onViolation(violation, guarded);
    conn.destroy();
    return null;
  };
  return guarded;
}
