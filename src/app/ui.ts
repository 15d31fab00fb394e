/** DOM helpers and the app's shared state: who the owner is, the relay login, the paired cameras. */
import type { MqttClient } from 'mqtt';
import { Identity, SealcamError, fromHex, publicIdentity, type PublicIdentity } from '../protocol/index.js';
import { explain } from './explain.js';
import { RelayClient } from './relay-client.js';
import { store, type AppCamera, type AppLogin } from './store.js';

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

/** An element: `testid` becomes data-testid, `on…` a listener, the rest attributes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'testid') el.dataset.testid = String(v);
    else if (k === 'value') (el as unknown as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

export const byTestId = <T extends HTMLElement = HTMLElement>(root: ParentNode, id: string) => root.querySelector<T>(`[data-testid="${id}"]`);

/** A message the person reads: an explanation, never a raw error. */
export function problem(e: unknown): string {
  if (SealcamError.is(e, 'E_BAD_ARGUMENT')) return `${e.message.replace(/^E_[A-Z_]+: /, '')} (E_BAD_ARGUMENT)`;
  if (SealcamError.is(e)) return explain(e.code);
  return 'something went wrong in this app (E_INTERNAL)';
}

/** how long a topic no screen listens to stays subscribed (a screen change often takes it again) */
const UNSUBSCRIBE_AFTER_MS = 5000;

export interface App {
  me: Identity | null;
  login: AppLogin | null;
  cameras: AppCamera[];
  /** the app bundle's SHA-256, as `sealcam app build` printed it */
  hash: string;
  relay(): RelayClient;
  /** one MQTT connection for every screen, made on first use */
  mqtt(): Promise<MqttClient>;
  /**
   * Subscribe `onMessage` to `topics` on that connection; resolves to the function that undoes it.
   * Counted per topic, so a screen that leaves never unsubscribes a topic the next screen just took.
   */
  listen(topics: string[], onMessage: (topic: string, payload: Uint8Array) => void): Promise<() => void>;
  go(route: string): void;
  reload(): Promise<void>;
}

export function cameraPublic(c: { signPublicKey: string; boxPublicKey: string }): PublicIdentity {
  return publicIdentity(fromHex(c.signPublicKey, 32), fromHex(c.boxPublicKey, 32));
}

export async function loadApp(go: (route: string) => void): Promise<App> {
  let client: Promise<MqttClient> | null = null;
  const refs = new Map<string, number>();
  const app: App = {
    me: null,
    login: null,
    cameras: [],
    hash: document.querySelector<HTMLMetaElement>('meta[name="sealcam-app-hash"]')?.content ?? 'unknown (not a built app)',
    relay: () => {
      if (!app.login) throw new SealcamError('E_CONFIG', 'no relay login');
      return new RelayClient(app.login);
    },
    mqtt: () => {
      client ??= app.relay().mqtt();
      client.catch(() => (client = null));
      return client;
    },
    listen: async (topics, onMessage) => {
      const c = await app.mqtt();
      const handler = (topic: string, payload: Uint8Array) => topics.includes(topic) && onMessage(topic, new Uint8Array(payload));
      c.on('message', handler);
      for (const t of topics) refs.set(t, (refs.get(t) ?? 0) + 1);
      // Always SUBSCRIBE, even to a topic still subscribed: the broker then sends its retained
      // message again (MQTT-3.8.4-3), which a new screen needs (the camera's newest keys, status).
      await c.subscribeAsync(topics, { qos: 1 });
      let undone = false;
      return () => {
        if (undone) return;
        undone = true;
        c.removeListener('message', handler);
        for (const t of topics) refs.set(t, refs.get(t)! - 1);
        // Unsubscribed a little later, and only if no screen took the topic again meanwhile.
        setTimeout(() => {
          const gone = topics.filter((t) => refs.get(t) === 0);
          if (gone.length) void c.unsubscribeAsync(gone).catch(() => undefined);
        }, UNSUBSCRIBE_AFTER_MS);
      };
    },
    go,
    reload: async () => {
      const id = await store.get<{ v: 1; secret: string }>('identity');
      app.me = id ? Identity.fromSecret(fromHex(id.secret, 64)) : null;
      app.login = (await store.get<AppLogin>('login')) ?? null;
      app.cameras = await store.cameras();
    },
  };
  await app.reload();
  return app;
}
