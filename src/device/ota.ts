/**
 * The OTA client on the device, wired from its parts:
 *   transport (UpdateTransport: MQTT today; the relay plugs in its own later)
 *   → signed announcement (protocol/firmware-image.ts verifyUpdateAnnouncement, pinned firmware key)
 *   → image download, checked against the announced size and SHA-256
 *   → image verification (signature, board, security version, payload and per-file SHA-256)
 *   → A/B install, switch, health check, confirm or roll back (slots.ts).
 * Refusals, each before anything is written: E_FIRMWARE_UNSIGNED, E_FIRMWARE_SIGNATURE (wrong key
 * or tampered), E_FIRMWARE_BOARD, E_FIRMWARE_DOWNGRADE, E_FIRMWARE_HASH, E_FIRMWARE_FORMAT.
 */
import type { MqttClient } from 'mqtt';
import { SealcamError } from '../protocol/errors.js';
import {
  MAX_RAW_PAYLOAD_BYTES,
  firmwareAnnounceTopic,
  sha256Hex,
  splitPayloadFiles,
  verifyFirmwareImage,
  verifyUpdateAnnouncement,
  type ImageLocation,
  type UpdateAnnouncement,
} from '../protocol/firmware-image.js';
import { SlotStore, selfTestHealthCheck, type HealthCheck, type InstallResult, type InstallStep } from './slots.js';
import { zstdDecompress } from '../media/zstd.js';

/** How announcements reach the device and how it fetches an image. */
export interface UpdateTransport {
  /** Calls `onAnnouncement` with each raw announcement for `board`; resolves to an unsubscribe. */
  subscribe(board: string, onAnnouncement: (bytes: Uint8Array) => void): Promise<() => Promise<void>>;
  /** The image bytes at `location`, at most `maxBytes`. */
  fetchImage(location: ImageLocation, maxBytes: number): Promise<Uint8Array>;
}

export interface OtaOptions {
  board: string;
  /** The pinned firmware public key (KEY.pub, installed by flash as /opt/sealcam/firmware.pub). */
  publicKey: Uint8Array;
  slots: SlotStore;
  transport: UpdateTransport;
  /** Default: selfTestHealthCheck (file hashes, then the new agent's self-test on a matching CPU). */
  healthCheck?: HealthCheck;
  /** Crash injection for tests: called before each install step. */
  beforeStep?: (step: InstallStep, detail?: string) => void | Promise<void>;
}

export type OtaOutcome = { kind: 'installed'; result: InstallResult; announcement: UpdateAnnouncement } | { kind: 'current'; announcement: UpdateAnnouncement };

export class OtaClient {
  constructor(private readonly o: OtaOptions) {}

  /** Handle one announcement end to end. Throws a SealcamError on any refusal. */
  async apply(announcementBytes: Uint8Array): Promise<OtaOutcome> {
    const { slots } = this.o;
    await slots.recover();
    const floor = (await slots.state()).minSecurityVersion;
    const announcement = verifyUpdateAnnouncement(announcementBytes, this.o.publicKey, { board: this.o.board, minSecurityVersion: floor });
    const active = await slots.active();
    const installed = active === undefined ? undefined : await slots.manifest(active);
    if (installed !== undefined && installed.version === announcement.version && installed.securityVersion === announcement.securityVersion) return { kind: 'current', announcement };

    const image = await this.o.transport.fetchImage(announcement.location, announcement.imageSize);
    if (image.length !== announcement.imageSize) throw new SealcamError('E_FIRMWARE_HASH', `update ${announcement.version}: image has ${image.length} bytes, the announcement says ${announcement.imageSize}`);
    const digest = sha256Hex(image);
    if (digest !== announcement.imageSha256) throw new SealcamError('E_FIRMWARE_HASH', `update ${announcement.version}: image SHA-256 ${digest}, the announcement says ${announcement.imageSha256}`);

    const { manifest, payload } = verifyFirmwareImage(image, this.o.publicKey, { board: this.o.board, minSecurityVersion: floor });
    if (manifest.version !== announcement.version || manifest.securityVersion !== announcement.securityVersion) {
      throw new SealcamError('E_FIRMWARE_FORMAT', `update: announced ${announcement.version} (security ${announcement.securityVersion}), the image is ${manifest.version} (security ${manifest.securityVersion})`);
    }
    const raw = await zstdDecompress(payload, Math.min(manifest.payload.rawSize, MAX_RAW_PAYLOAD_BYTES), `update ${manifest.version}`);
    const files = splitPayloadFiles(manifest, raw);
    const result = await slots.install(manifest, files, {
      healthCheck: this.o.healthCheck ?? selfTestHealthCheck,
      ...(this.o.beforeStep ? { beforeStep: this.o.beforeStep } : {}),
    });
    return { kind: 'installed', result, announcement };
  }

  /**
   * Listen for announcements and apply them one at a time. Errors go to `onOutcome` and do not
   * stop the listener. Resolves to a stop function.
   */
  async listen(onOutcome: (outcome: OtaOutcome | SealcamError | Error) => void): Promise<() => Promise<void>> {
    let queue = Promise.resolve();
    return this.o.transport.subscribe(this.o.board, (bytes) => {
      queue = queue.then(() => this.apply(bytes).then(onOutcome, (e: Error) => onOutcome(e)));
    });
  }
}

/**
 * OTA over MQTT 3.1.1: the announcement is the retained message on sc/v1/fw/<board>/announce, the
 * image the retained message on the topic it names (or an http(s) URL).
 */
export class MqttUpdateTransport implements UpdateTransport {
  constructor(
    private readonly client: MqttClient,
    private readonly timeoutMs = 60_000,
  ) {}

  async subscribe(board: string, onAnnouncement: (bytes: Uint8Array) => void): Promise<() => Promise<void>> {
    const topic = firmwareAnnounceTopic(board);
    const handler = (t: string, payload: Buffer) => {
      if (t === topic && payload.length > 0) onAnnouncement(new Uint8Array(payload));
    };
    this.client.on('message', handler);
    await this.client.subscribeAsync(topic, { qos: 1 });
    return async () => {
      this.client.off('message', handler);
      await this.client.unsubscribeAsync(topic);
    };
  }

  async fetchImage(location: ImageLocation, maxBytes: number): Promise<Uint8Array> {
    if (location.kind === 'url') return fetchUrl(location.url, maxBytes, this.timeoutMs);
    const { topic } = location;
    let handler: ((t: string, payload: Buffer) => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const received = new Promise<Uint8Array>((resolve, reject) => {
      handler = (t, payload) => {
        if (t !== topic) return;
        if (payload.length > maxBytes) reject(new SealcamError('E_FIRMWARE_HASH', `image on ${topic}: ${payload.length} bytes, more than the announced ${maxBytes}`));
        else resolve(new Uint8Array(payload));
      };
      timer = setTimeout(() => reject(new SealcamError('E_FIRMWARE_FORMAT', `no image arrived on ${topic} within ${this.timeoutMs} ms`)), this.timeoutMs);
      this.client.on('message', handler);
    });
    try {
      await this.client.subscribeAsync(topic, { qos: 1 });
      return await received;
    } finally {
      clearTimeout(timer);
      this.client.off('message', handler!);
      await this.client.unsubscribeAsync(topic).catch(() => undefined);
    }
  }
}

async function fetchUrl(url: string, maxBytes: number, timeoutMs: number): Promise<Uint8Array> {
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!response.ok || response.body === null) throw new SealcamError('E_FIRMWARE_FORMAT', `GET ${url}: HTTP ${response.status}`);
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = response.body.getReader();
  for (let r = await reader.read(); !r.done; r = await reader.read()) {
    const chunk = r.value;
    total += chunk.length;
    if (total > maxBytes) {
      await reader.cancel();
      throw new SealcamError('E_FIRMWARE_HASH', `GET ${url}: more than the announced ${maxBytes} bytes`);
    }
    parts.push(chunk);
  }
  return new Uint8Array(Buffer.concat(parts));
}
