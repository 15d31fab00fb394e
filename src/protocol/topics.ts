/**
 * MQTT topic names (PROTOCOL.md §11). Names carry only opaque ids; no topic segment is ever
 * taken from message contents. Every segment is validated so that "+", "#" and "/" cannot be
 * smuggled into an ACL decision.
 */
import { ensure } from './errors.js';

export const TOPIC_ROOT = 'sc/v1';
export type CameraChannel = 'seg' | 'live' | 'keys' | 'status' | 'roster' | 'stored';
const SEGMENT_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

function segment(value: string, what: string): string {
  ensure(SEGMENT_RE.test(value), 'E_BAD_ARGUMENT', `${what}: expected 1-64 of [a-z0-9_-], got ${JSON.stringify(value)}`);
  return value;
}

/** sc/v1/<account>/<camera>/<channel> */
export function cameraTopic(account: string, cameraIdHex: string, channel: CameraChannel): string {
  return `${TOPIC_ROOT}/${segment(account, 'account')}/${segment(cameraIdHex, 'camera id')}/${channel}`;
}

/** sc/v1/pair/<hex of pairingId>: pairingId is defined once, in PROTOCOL.md §3.2, and computed by pairing.ts. */
export function pairingTopic(secretHashHex: string): string {
  return `${TOPIC_ROOT}/pair/${segment(secretHashHex, 'pairing hash')}`;
}

/** The wildcard a viewer of `account` subscribes to. */
export function accountWildcard(account: string): string {
  return `${TOPIC_ROOT}/${segment(account, 'account')}/#`;
}
