/**
 * Settings: the app's own hash (compare it with the one `sealcam app build` prints, THREAT-MODEL
 * A1), this phone's owner id, the pinned relay key, and the passphrase-protected backup.
 */
import { toHex } from '../../protocol/index.js';
import { sealBackup } from '../../protocol/backup.js';
import { pageScrypt } from '../scrypt.js';
import { h, problem, type App } from '../ui.js';

export function settingsScreen(app: App): HTMLElement {
  const pass = h('input', { type: 'password', testid: 'backup-passphrase', placeholder: 'a passphrase of 10+ characters', autocomplete: 'new-password' });
  const link = h('a', { class: 'button', testid: 'backup-download', hidden: true }, 'Save the backup file');
  const message = h('p', { class: 'problem', testid: 'backup-message' });
  return h('section', { class: 'screen settings' },
    h('h2', {}, 'Settings'),
    h('dl', {},
      h('dt', {}, 'App version (SHA-256 of app.js)'), h('dd', { testid: 'app-hash', class: 'mono' }, app.hash),
      h('dt', {}, 'Your owner id'), h('dd', { class: 'mono', testid: 'owner-id' }, app.me ? toHex(app.me.id) : '–'),
      h('dt', {}, 'Relay'), h('dd', {}, app.login ? `${app.login.account} at ${app.login.httpUrl}` : 'not logged in'),
      h('dt', {}, 'Relay key'), h('dd', { class: 'mono', testid: 'relay-fingerprint' }, app.login?.fingerprint ?? 'none (plain HTTP: only for the loopback address)')),
    h('p', { class: 'note' }, 'Compare the app version with the one published by whoever runs your relay, or host the app yourself (`sealcam app build`).'),
    h('h3', {}, 'Backup'),
    h('p', {}, 'Your keys exist only on this phone. A backup file, locked with a passphrase, restores them on another phone.'),
    pass,
    h('button', { testid: 'backup-export', onclick: async () => {
      message.textContent = 'Locking the backup (a few seconds)…';
      try {
        const text = await sealBackup(pageScrypt, { identitySecret: toHex(app.me!.exportSecret()), login: app.login, cameras: app.cameras }, pass.value);
        link.href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
        link.download = 'sealcam-owner-backup.json';
        link.hidden = false;
        message.textContent = 'Ready: keep the file and the passphrase apart.';
      } catch (e) {
        message.textContent = problem(e);
      }
    } }, 'Make a backup'),
    link, message,
    h('button', { onclick: () => app.go('#/setup') }, 'Change relay login'));
}
