/**
 * First run: make the owner identity in the page (or restore it from a backup), then log in to
 * the relay account. The relay's key fingerprint (§15.8) is shown and pinned: a later /v1/info
 * that reports another key is refused (E_RELAY_PIN), and pairing codes carry the pinned key.
 */
import { Identity, SealcamError, systemRandom, toHex } from '../../protocol/index.js';
import { openBackup } from '../../protocol/backup.js';
import { pageScrypt } from '../scrypt.js';
import { RelayClient } from '../relay-client.js';
import { store, type AppLogin } from '../store.js';
import { h, problem, type App } from '../ui.js';

export function setupScreen(app: App): HTMLElement {
  if (!app.me) {
    const message = h('p', { class: 'problem', testid: 'setup-message' });
    const file = h('input', { type: 'file', accept: '.json,application/json', testid: 'restore-file' });
    const pass = h('input', { type: 'password', placeholder: 'backup passphrase', testid: 'restore-passphrase', autocomplete: 'off' });
    return h('section', { class: 'screen' },
      h('h2', {}, 'Welcome'),
      h('p', {}, 'This phone makes your owner keys and keeps them. They never leave it, except in a backup file you protect with a passphrase.'),
      h('button', { class: 'primary', testid: 'create-owner', onclick: async () => {
        const me = Identity.generate(systemRandom);
        await store.put('identity', { v: 1, secret: toHex(me.exportSecret()) });
        await app.reload();
        app.go('#/setup');
      } }, 'Create my owner keys'),
      h('details', {}, h('summary', {}, 'Restore from a backup'), file, pass,
        h('button', { testid: 'restore-submit', onclick: async () => {
          message.textContent = 'Unlocking the backup…';
          try {
            const text = await file.files?.[0]?.text();
            if (!text) throw new SealcamError('E_MALFORMED', 'no file chosen');
            const content = await openBackup(pageScrypt, text, pass.value);
            await store.put('identity', { v: 1, secret: content.identitySecret });
            if (content.login) await store.put('login', content.login);
            await store.put('cameras', content.cameras);
            await app.reload();
            app.go('#/');
          } catch (e) {
            message.textContent = SealcamError.is(e, 'E_DECRYPT') ? 'Wrong passphrase, or the file was altered (E_DECRYPT).' : problem(e);
          }
        } }, 'Restore')),
      message);
  }
  return loginForm(app);
}

function loginForm(app: App): HTMLElement {
  const here = location.pathname.startsWith('/app') ? location.origin : '';
  const field = (id: string, label: string, attrs: Record<string, string> = {}) => h('label', {}, label, h('input', { testid: `login-${id}`, name: id, autocomplete: 'off', ...attrs }));
  const form = h('form', { class: 'screen' },
    h('h2', {}, 'Your relay account'),
    h('p', {}, 'The relay stores and forwards your cameras\' video, sealed: it never holds a key.'),
    field('url', 'Relay address', { value: app.login?.httpUrl ?? here, placeholder: 'https://relay.example:8443', inputmode: 'url' }),
    field('account', 'Account', { value: app.login?.account ?? '' }),
    field('username', 'User name', { value: app.login?.username ?? '' }),
    field('password', 'Password', { type: 'password' }),
    h('button', { class: 'primary', type: 'submit', testid: 'login-submit' }, 'Log in'),
    h('p', { class: 'problem', testid: 'login-message' }));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const value = (id: string) => (form.querySelector(`[name="${id}"]`) as HTMLInputElement).value.trim();
    const message = form.querySelector('[data-testid="login-message"]')!;
    const login: AppLogin = { httpUrl: value('url').replace(/\/+$/, ''), account: value('account'), username: value('username'), password: value('password'), fingerprint: null };
    message.textContent = 'Checking…';
    void (async () => {
      try {
        if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?$/.test(login.httpUrl)) throw new SealcamError('E_RELAY_UNREACHABLE', 'not an http(s):// address');
        const client = new RelayClient(login);
        const info = await client.info();
        await client.checkLogin();
        login.fingerprint = info.fingerprint;
        await store.put('login', login);
        await app.reload();
        app.go('#/');
      } catch (e) {
        message.textContent = problem(e);
      }
    })();
  });
  return form;
}
