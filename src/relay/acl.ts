/**
 * Topic ACL (PROTOCOL.md §11). One rule set, used by the embedded broker's hooks and written out
 * as a Mosquitto acl_file, so both brokers refuse the same things.
 *
 *   camera  (account a, camera c)  publish    sc/v1/a/c/{seg,live,keys,status}, sc/v1/pair/<hash>
 *                                  subscribe  sc/v1/a/c/{roster,ota,stored}, sc/v1/pair/<hash>
 *   viewer  (account a)            publish    sc/v1/a/<camera>/roster, sc/v1/pair/<hash>
 *                                  subscribe  any filter under sc/v1/a/ (account level literal), sc/v1/pair/<hash>
 *   store   (the relay's own)      subscribe  sc/v1/+/+/{seg,keys} (also as $share/<group>/…)
 *                                  publish    sc/v1/<a>/<c>/stored (storage receipts, §10.5)
 *   camera, viewer                 subscribe  sc/v1/fw/<board>/announce, sc/v1/fw/<board>/image/<version>
 *                                             (signed firmware updates; only the operator publishes there)
 * Everything else is refused, $SYS included. Wildcards are never allowed at the account level,
 * and never in a camera's filters.
 */
import { TOPIC_ROOT } from '../protocol/topics.js';

export type Role = 'viewer' | 'camera' | 'store';

export interface Principal {
  username: string;
  role: Role;
  account: string;
  /** for cameras: the camera id (hex) their credentials are bound to */
  cameraId?: string;
}

const SLUG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const PAIR_HASH = /^[0-9a-f]{32}$/;
const CAMERA_PUBLISHES = new Set(['seg', 'live', 'keys', 'status']);
const CAMERA_SUBSCRIBES = new Set(['roster', 'ota', 'stored']);
const VIEWER_PUBLISHES = new Set(['roster']);
const STORE_CHANNELS = new Set(['seg', 'keys']);

function levels(topic: string): string[] {
  return topic.split('/');
}

/** Account names that are topic namespaces of their own. */
export const RESERVED_ACCOUNTS = new Set(['pair', 'fw']);

function isFirmwareTopic(l: string[]): boolean {
  if (`${l[0]}/${l[1]}` !== TOPIC_ROOT || l[2] !== 'fw' || !SLUG.test(l[3] ?? '')) return false;
  return (l.length === 5 && l[4] === 'announce') || (l.length === 6 && l[4] === 'image' && /^[0-9A-Za-z][0-9A-Za-z.-]{0,63}$/.test(l[5]!));
}

function isPairTopic(l: string[]): boolean {
  return l.length === 4 && `${l[0]}/${l[1]}` === TOPIC_ROOT && l[2] === 'pair' && PAIR_HASH.test(l[3]!);
}

/** sc/v1/<account>/<camera>/<channel> with literal levels. */
function cameraTopicParts(l: string[]): { account: string; camera: string; channel: string } | null {
  if (l.length !== 5 || `${l[0]}/${l[1]}` !== TOPIC_ROOT) return null;
  const [, , account, camera, channel] = l as [string, string, string, string, string];
  if (!SLUG.test(account) || RESERVED_ACCOUNTS.has(account) || !SLUG.test(camera)) return null;
  return { account, camera, channel };
}

export function mayPublish(p: Principal, topic: string): boolean {
  const l = levels(topic);
  if (topic.includes('+') || topic.includes('#')) return false; // MQTT-3.3.2-2
  if (isPairTopic(l)) return p.role === 'camera' || p.role === 'viewer';
  if (p.role === 'store') return storeMayPublish(l);
  const t = cameraTopicParts(l);
  if (!t || t.account !== p.account) return false;
  if (p.role === 'camera') return t.camera === p.cameraId && CAMERA_PUBLISHES.has(t.channel);
  if (p.role === 'viewer') return VIEWER_PUBLISHES.has(t.channel);
  return false;
}

/** The store login publishes storage receipts (§10.5) to any camera's `stored`, and nothing else. */
function storeMayPublish(l: string[]): boolean {
  const t = cameraTopicParts(l);
  return t !== null && t.channel === 'stored';
}

export function maySubscribe(p: Principal, filter: string): boolean {
  let l = levels(filter);
  if (p.role === 'store') {
    if (l[0] === '$share' && l.length > 2 && SLUG.test(l[1]!)) l = l.slice(2);
    return l.length === 5 && `${l[0]}/${l[1]}` === TOPIC_ROOT && l[2] === '+' && l[3] === '+' && STORE_CHANNELS.has(l[4]!);
  }
  if (isPairTopic(l) || isFirmwareTopic(l)) return true;
  if (p.role === 'camera') {
    const t = cameraTopicParts(l);
    return t !== null && t.account === p.account && t.camera === p.cameraId && CAMERA_SUBSCRIBES.has(t.channel);
  }
  // viewer: sc/v1/<own account>/… with any wildcards below the account level
  if (l.length < 3 || `${l[0]}/${l[1]}` !== TOPIC_ROOT || l[2] !== p.account) return false;
  const rest = l.slice(3);
  if (rest.length === 0 || rest.length > 2) return false;
  return rest.every((level, i) => (level === '#' ? i === rest.length - 1 : level === '+' || SLUG.test(level)));
}

/** Is `topic` a camera topic the relay stores (seg or keys)? Returns its parts. */
export function storedTopic(topic: string): { account: string; camera: string; channel: 'seg' | 'keys' } | null {
  const t = cameraTopicParts(levels(topic));
  return t && (t.channel === 'seg' || t.channel === 'keys') ? { account: t.account, camera: t.camera, channel: t.channel } : null;
}

/** Parts of any camera topic (for the misroute fault). */
export function cameraTopicOf(topic: string): { account: string; camera: string; channel: string } | null {
  return cameraTopicParts(levels(topic));
}

/** One Mosquitto topic rule: `read` is subscribe + receive, `write` is publish. */
export interface BrokerRule {
  access: 'read' | 'write' | 'readwrite';
  topic: string;
}

/** What a login may do on an external broker: the rules of acl.ts in Mosquitto's pattern terms. */
export function brokerRules(u: { role: Role; account: string; cameraId?: string }): BrokerRule[] {
  const r = (access: BrokerRule['access'], topic: string): BrokerRule => ({ access, topic });
  if (u.role === 'camera') {
    const base = `sc/v1/${u.account}/${u.cameraId}`;
    return [
      ...['seg', 'live', 'keys', 'status'].map((ch) => r('write', `${base}/${ch}`)),
      ...['roster', 'ota', 'stored'].map((ch) => r('read', `${base}/${ch}`)),
      r('readwrite', 'sc/v1/pair/+'),
      r('read', 'sc/v1/fw/#'),
    ];
  }
  if (u.role === 'viewer') return [r('read', `sc/v1/${u.account}/#`), r('write', `sc/v1/${u.account}/+/roster`), r('readwrite', 'sc/v1/pair/+'), r('read', 'sc/v1/fw/#')];
  return [r('read', 'sc/v1/+/+/seg'), r('read', 'sc/v1/+/+/keys'), r('write', 'sc/v1/+/+/stored')];
}
