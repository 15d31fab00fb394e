/**
 * MQTT 3.1.1 by hand, for attacks a well-behaved client library will not send: packets whose
 * header announces more than follows, floods from another loopback source address, subscribers
 * that never read. Encoded from the spec (MQTT 3.1.1 §2.2, §3.1, §3.3, §3.8), independent of
 * mqtt-packet, which the broker uses.
 */
import { connect, type Socket } from 'node:net';

/** Remaining length (MQTT 3.1.1 §2.2.3): 7 bits per byte, least significant first. */
export function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return Buffer.from(out);
}

const str = (s: string | Buffer) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
};

/** A CONNECT (§3.1) with username and password, clean session, keep-alive 60 s. */
export function connectPacket(o: { clientId: string; username: string; password: string }): Buffer {
  const body = Buffer.concat([str('MQTT'), Buffer.from([4, 0xc2, 0, 60]), str(o.clientId), str(o.username), str(o.password)]);
  return Buffer.concat([Buffer.from([0x10]), remainingLength(body.length), body]);
}

/** A SUBSCRIBE (§3.8) to one filter. */
export function subscribePacket(filter: string, qos: 0 | 1, packetId = 1): Buffer {
  const body = Buffer.concat([Buffer.from([packetId >> 8, packetId & 0xff]), str(filter), Buffer.from([qos])]);
  return Buffer.concat([Buffer.from([0x82]), remainingLength(body.length), body]);
}

/** The fixed header and topic of a QoS 0 PUBLISH (§3.3) whose payload is `payloadLength` long. */
export function publishHeader(topic: string, payloadLength: number): Buffer {
  const t = str(topic);
  return Buffer.concat([Buffer.from([0x30]), remainingLength(t.length + payloadLength), t]);
}

export interface RawClient {
  socket: Socket;
  /** CONNACK return code (§3.2.2.3) */
  connack: number;
}

/** Open a TCP connection (from `localAddress` if given) and send a CONNECT; resolves at the CONNACK. */
export function rawLogin(port: number, login: { clientId: string; username: string; password: string }, localAddress?: string): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
    let got = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.length < 4) return;
      socket.off('data', onData);
      socket.pause();
      if (got[0] !== 0x20) return reject(new Error(`expected CONNACK, got 0x${got[0]!.toString(16)}`));
      resolve({ socket, connack: got[3]! });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before CONNACK')));
    socket.once('connect', () => socket.write(connectPacket(login)));
  });
}

/**
 * Write `total` bytes (the start of `first`, then zeros) until the peer closes the connection;
 * resolves with how many bytes the socket took.
 */
export function writeUntilClosed(socket: Socket, first: Buffer, total: number): Promise<{ written: number; closed: boolean }> {
  return new Promise((resolve) => {
    let written = 0;
    let closed = false;
    socket.on('error', () => undefined);
    socket.once('close', () => {
      closed = true;
      resolve({ written, closed });
    });
    const chunk = Buffer.alloc(1024 * 1024);
    const pump = () => {
      while (!closed && !socket.destroyed && written < total) {
        const piece = written === 0 ? first : chunk.subarray(0, Math.min(chunk.length, total - written));
        written += piece.length;
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
      if (written >= total && !closed) resolve({ written, closed });
    };
    pump();
  });
}
