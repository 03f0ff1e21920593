// @ts-check
// The shell: desktop, launcher, windows and chat, wired to the instance's API and WebSocket.

import { createChat } from './chat.js';
import { createCommunity } from './community.js';
import { createFileBrowser } from './files.js';
import { createInbox } from './inbox.js';
import { createJobsApp } from './jobs.js';
import { createLauncher } from './launcher.js';
import { connectSocket } from './lib/socket.js';
import { openWindow } from './lib/windows.js';
import { createSettings } from './settings.js';

const body = document.body;
const statusEl = document.getElementById('status');

const files = createFileBrowser();
const inbox = createInbox({ button: document.getElementById('inbox-button') });
const settings = createSettings();

function showView(view) {
  body.dataset.view = view;
}

function openFiles() {
  openWindow({ id: 'files', title: 'Files', hue: 215, content: files.element, width: 640, height: 480 });
  files.open();
}

function openSettings() {
  showView('desktop');
  openWindow({
    id: 'settings',
    title: 'Settings',
    hue: 260,
    content: settings.element,
    width: 560,
    height: 660,
  });
  settings.open();
}

const jobs = createJobsApp();
function openJobs() {
  showView('desktop');
  openWindow({ id: 'jobs', title: 'Jobs', hue: 30, content: jobs.element, width: 720, height: 560 });
  jobs.open();
}

const community = createCommunity();
function openCommunity() {
  showView('desktop');
  openWindow({
    id: 'community',
    title: 'Community',
    hue: 160,
    content: community.element,
    width: 760,
    height: 580,
  });
  community.open();
}

const launcher = createLauncher({
  el: document.getElementById('launcher'),
  openFiles,
  openSettings,
  openJobs,
  openCommunity,
});

const chat = createChat({
  el: document.getElementById('chat'),
  // The socket is made just below; nothing is sent before the owner types.
  send: (message) => socket.send(message),
  openApp(app) {
    showView('desktop');
    launcher.openApp(app);
  },
  openSettings,
});

const STATES = { connecting: 'Connecting…', open: 'Connected', closed: 'Offline, reconnecting…' };
const socket = connectSocket({
  onState(state) {
    statusEl.dataset.state = state;
    statusEl.title = STATES[state];
    statusEl.querySelector('.status-text').textContent = STATES[state];
  },
  onEvent(event) {
    chat.handle(event);
    inbox.handle(event);
    community.handle(event);
    if (event.type === 'files.changed') {
      files.changed(event.path);
      const app = /^apps\/([^/]+)(?:\/|\.html$)/.exec(event.path);
      if (app) {
        launcher.refresh();
        if (event.action === 'updated' && event.path.endsWith('.html')) launcher.reloadApp(app[1]);
      }
    }
  },
});

for (const tab of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.tab'))) {
  tab.addEventListener('click', () => {
    showView(tab.dataset.view);
    if (tab.dataset.view === 'chat') chat.focus();
  });
}

const clock = document.getElementById('clock');
function tick() {
  clock.textContent = new Date().toLocaleString(undefined, {
    weekday: 'short',
    hour: '2-digit',
    minute: '2-digit',
  });
}
tick();
setInterval(tick, 15_000);

launcher.render();
launcher.refresh();
inbox.load();
