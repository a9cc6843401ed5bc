// The dashboard: loads every view, keeps them live from /events (each
// event refreshes what it touched, debounced) and polls what has no event
// (Raft indexes, gossip members, the file servers' counts). A 401 or 403
// anywhere stops everything and asks for a token.

import { AuthError, clearToken, getJSON, setToken, token } from './api.js';
import { $, showError } from './dom.js';
import { EventStream } from './stream.js';
import { renderQueueHistory, renderRing } from './ring.js';
import { renderEvents, renderMembers, renderRaft, renderServices } from './views.js';

const POLL_MS = 1500; // admin routes without events
const SERVICES_POLL_MS = 15000; // a safety net under the events
const DEBOUNCE_MS = 100;
const MAX_EVENTS = 100;
const QUEUE_SAMPLES = 80;

const state = {
  paused: false, // waiting for a token
  services: new Map(), // name -> instances
  events: [], // newest first
  queue: [], // replication queue samples, oldest first
  dfsMissing: false, // the agent serves no file system (404)
  pendingServices: new Set(),
};

// soon runs fn once, DEBOUNCE_MS after the first of a burst of calls.
const timers = new Map();
function soon(key, fn, ms) {
  if (timers.has(key)) return;
  timers.set(key, setTimeout(() => {
    timers.delete(key);
    fn();
  }, ms === undefined ? DEBOUNCE_MS : ms));
}

// single makes an async refresh run one at a time: a call while it runs
// makes it run once more afterwards.
function single(fn) {
  let running = false;
  let again = false;
  const run = async () => {
    if (state.paused) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    try {
      await fn();
    } catch (err) {
      failed(err);
    } finally {
      running = false;
      if (again) {
        again = false;
        run();
      }
    }
  };
  return run;
}

// failed handles an error no view handled: a token problem asks for one.
function failed(err) {
  if (err instanceof AuthError) needToken(err.status, err.message);
}

// panel runs one view's request, showing its error in the view's error
// line; a token problem goes up.
async function panel(errorId, fn) {
  try {
    await fn();
    showError(errorId, '');
  } catch (err) {
    if (err instanceof AuthError) throw err;
    showError(errorId, err instanceof TypeError ? 'the agent is out of reach' : err.message);
  }
}

const refreshCluster = single(async () => {
  await Promise.all([
    panel('raft-error', async () => {
      const raft = await getJSON('/admin/raft');
      let health = null;
      let healthErr = '';
      try {
        health = (await getJSON('/admin/health')).body;
      } catch (err) {
        if (err instanceof AuthError) throw err;
        healthErr = 'the leader\'s view is unavailable: ' + err.message;
      }
      renderRaft(raft.body, health);
      if (healthErr) throw new Error(healthErr);
    }),
    panel('members-error', async () => renderMembers((await getJSON('/admin/members')).body)),
  ]);
});

const refreshDFS = single(() => panel('dfs-error', async () => {
  const r = await getJSON('/admin/dfs', { accept: [404] });
  if (r.status === 404) {
    state.dfsMissing = true;
    renderRing(null, 'this agent serves no file system');
    return;
  }
  state.dfsMissing = false;
  state.queue.push(r.body.replication_queue || 0);
  if (state.queue.length > QUEUE_SAMPLES) state.queue.shift();
  renderRing(r.body);
  renderQueueHistory(state.queue);
  if (r.body.sweep_error) throw new Error('the replication sweep: ' + r.body.sweep_error);
}));

const refreshServices = single(() => panel('services-error', async () => {
  const r = await getJSON('/services?per_page=1000');
  const next = new Map();
  for (const s of r.body.services || []) next.set(s.name, s.instances || []);
  state.services = next;
  renderServices($('services'), state.services);
  if (r.body.total > (r.body.services || []).length) {
    throw new Error('showing ' + r.body.services.length + ' of ' + r.body.total + ' services');
  }
}));

// refreshService reads one service again (all its instances, critical
// ones too); 404 means it has none left.
async function refreshService(name) {
  const r = await getJSON('/service/' + encodeURIComponent(name) + '?all=true', { accept: [404, 503] });
  if (r.status === 404) state.services.delete(name);
  else state.services.set(name, (r.body && r.body.instances) || []);
}

const refreshPendingServices = single(() => panel('services-error', async () => {
  const names = [...state.pendingServices];
  state.pendingServices.clear();
  if (names.length > 20) {
    soon('services', refreshServices, 0);
    return;
  }
  await Promise.all(names.map(refreshService));
  renderServices($('services'), state.services);
}));

function refreshAll() {
  refreshCluster();
  refreshDFS();
  refreshServices();
}

const catalogEvents = new Set(['registered', 'changed', 'removed', 'passing', 'critical']);

function onEvent(type, data) {
  state.events.unshift({ type, data, at: new Date() });
  if (state.events.length > MAX_EVENTS) state.events.length = MAX_EVENTS;
  soon('events', () => renderEvents($('events'), state.events));
  if (catalogEvents.has(type) && data.instance && data.instance.name) {
    state.pendingServices.add(data.instance.name);
    soon('service', refreshPendingServices);
  } else if (type === 'membership') {
    soon('cluster', refreshCluster);
  } else if (type === 'file-server' || type === 'file') {
    soon('dfs', refreshDFS);
  } else if (type === 'reset') {
    soon('services', refreshServices);
    soon('cluster', refreshCluster);
    soon('dfs', refreshDFS);
  }
}

function setStreamState(s) {
  const b = $('stream-state');
  b.dataset.state = s;
  b.textContent = { connecting: 'connecting', live: 'live', reconnecting: 'reconnecting…', auth: 'needs a token' }[s] || s;
}

const stream = new EventStream({
  onEvent,
  onState: setStreamState,
  onAuth: needToken,
  // Every (re)connection reads the catalog again: events missed while
  // the stream was down are covered by ?index=, this covers the rest.
  onOpen: () => soon('services', refreshServices),
});

// needToken stops everything and shows the token form.
function needToken(status, message) {
  state.paused = true;
  stream.stop();
  setStreamState('auth');
  const had = token() !== '';
  let text;
  if (!had) text = 'This cluster needs a token.';
  else if (status === 401) text = 'The token was refused.';
  else text = 'The token lacks a permission this page needs.';
  if (message) text += ' (' + message + ')';
  $('auth-msg').textContent = text;
  const form = $('auth');
  if (form.hidden) {
    form.hidden = false;
    $('token-input').focus();
  }
}

function useToken(t) {
  if (t) setToken(t);
  else clearToken();
  $('forget-token').hidden = !t;
  $('auth').hidden = true;
  state.paused = false;
  refreshAll();
  stream.restart();
}

function start() {
  $('auth').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const input = $('token-input');
    const t = input.value.trim();
    input.value = '';
    if (t) useToken(t);
  });
  $('forget-token').addEventListener('click', () => useToken(''));
  $('forget-token').hidden = token() === '';
  renderQueueHistory([]);
  refreshAll();
  stream.start();
  setInterval(() => {
    if (state.paused) return;
    refreshCluster();
    if (!state.dfsMissing) refreshDFS();
  }, POLL_MS);
  setInterval(() => {
    if (state.paused) return;
    refreshServices();
    if (state.dfsMissing) refreshDFS();
  }, SERVICES_POLL_MS);
}

start();
