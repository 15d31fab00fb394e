/**
 * The owner's phone app (issue 13): entry point. Wires the screens to a hash route:
 *
 *   #/setup                     first run: owner keys (made here), relay login   screens/setup.ts
 *   #/                          paired cameras and their status                  screens/cameras.ts
 *   #/pair                      add a camera: pairing code, confirmation code    screens/pair.ts
 *   #/camera/<id>/live          live view (LiveSession)                          screens/live.ts
 *   #/camera/<id>/history       timeline, playback, MP4 download                 screens/history.ts
 *   #/camera/<id>/household     viewers: add, revoke, roster taken or lagging    screens/household.ts
 *   #/settings                  app hash, relay key, backup                      screens/settings.ts
 *
 * Keys and state live in IndexedDB (store.ts); the service worker (sw.ts) lets it open offline.
 */
import { camerasScreen } from './screens/cameras.js';
import { canvasLuma } from './canvas-luma.js';
import { historyScreen } from './screens/history.js';
import { householdScreen } from './screens/household.js';
import { liveScreen } from './screens/live.js';
import { pairScreen } from './screens/pair.js';
import { settingsScreen } from './screens/settings.js';
import { setupScreen } from './screens/setup.js';
import { h, loadApp, type App } from './ui.js';

const main = document.getElementById('main')!;
const title = document.getElementById('title')!;
const back = document.getElementById('back') as HTMLButtonElement;
let leaving: (() => void)[] = [];
const onLeave = (f: () => void) => leaving.push(f);

function tabs(app: App, id: string, active: string): HTMLElement {
  const tab = (name: string, label: string) => h('a', { href: `#/camera/${id}/${name}`, class: active === name ? 'tab active' : 'tab', testid: `tab-${name}` }, label);
  return h('nav', { class: 'tabs' }, tab('live', 'Live'), tab('history', 'History'), tab('household', 'Household'));
}

function render(app: App): void {
  for (const f of leaving) f();
  leaving = [];
  const route = location.hash || '#/';
  back.hidden = route === '#/' || route === '#/setup';
  let screen: HTMLElement;
  if (!app.me || !app.login || route === '#/setup') {
    title.textContent = 'sealcam';
    screen = setupScreen(app);
  } else if (route === '#/pair') {
    title.textContent = 'Add a camera';
    screen = pairScreen(app, onLeave);
  } else if (route === '#/settings') {
    title.textContent = 'Settings';
    screen = settingsScreen(app);
  } else {
    const m = /^#\/camera\/([0-9a-f]{32})\/(live|history|household)$/.exec(route);
    const cam = m ? app.cameras.find((c) => c.id === m[1]) : undefined;
    if (m && cam) {
      title.textContent = cam.name;
      const body = m[2] === 'live' ? liveScreen(app, cam, onLeave) : m[2] === 'history' ? historyScreen(app, cam) : householdScreen(app, cam, onLeave);
      screen = h('div', {}, tabs(app, cam.id, m[2]!), body);
    } else {
      title.textContent = 'Cameras';
      screen = camerasScreen(app, onLeave);
    }
  }
  main.replaceChildren(screen);
}

async function start(): Promise<void> {
  if ('serviceWorker' in navigator) navigator.serviceWorker.register('./sw.js', { scope: './' }).catch(() => undefined);
  const app = await loadApp((route) => {
    if (location.hash === route) render(app);
    else location.hash = route;
  });
  back.addEventListener('click', () => app.go('#/'));
  document.getElementById('settings')!.addEventListener('click', () => app.go('#/settings'));
  window.addEventListener('hashchange', () => render(app));
  (window as unknown as { sealcamApp: unknown }).sealcamApp = {
    /** the luma of a canvas, for tests that read the synthetic camera's frame number back */
    canvasLuma: (testid: string) => canvasLuma(document.querySelector<HTMLCanvasElement>(`[data-testid="${testid}"]`)!),
  };
  render(app);
  document.body.dataset.ready = '1';
}

void start().catch(() => {
  main.textContent = 'This browser cannot run the sealcam app (it needs IndexedDB, WebCodecs and a secure https:// address) (E_INTERNAL).';
});
