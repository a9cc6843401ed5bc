// The tables: the Raft group, gossip members, services and their
// instances, recent events. Each render takes plain data from the API and
// builds nodes with text only (dom.js).

import { el, replaceRows, setText, short, since } from './dom.js';

const dash = '—';

function num(v) {
  return typeof v === 'number' && isFinite(v) ? v : null;
}

// renderRaft shows /admin/raft (this agent's view) joined with
// /admin/health (the leader's view of every server; null when it could not
// be asked). Lag is how far a server's applied index trails the leader's.
export function renderRaft(raft, health) {
  const leader = raft && raft.leader ? raft.leader.id : (health && health.leader) || '';
  setText('leader', leader || 'none');
  setText('term', raft ? raft.term : dash);
  setText('commit-index', raft ? raft.commit_index : dash);
  setText('applied-index', raft ? raft.applied_index : dash);
  setText('served-by', raft ? raft.node_id : dash);
  if (health && typeof health.failure_tolerance === 'number') {
    setText('tolerance', health.failure_tolerance + (health.failure_tolerance === 1 ? ' server' : ' servers'));
  } else {
    setText('tolerance', dash);
  }

  const byId = new Map();
  for (const s of (raft && raft.servers) || []) byId.set(s.id, { id: s.id, address: s.address, suffrage: s.suffrage });
  const healthOf = new Map();
  for (const h of (health && health.servers) || []) {
    healthOf.set(h.id, h);
    if (!byId.has(h.id)) byId.set(h.id, { id: h.id, address: h.address, suffrage: h.suffrage });
  }
  // The reference for lag: the leader's own applied index as the leader
  // reports it, else the highest one known.
  let ref = null;
  const lh = healthOf.get(leader);
  if (lh && num(lh.applied_index) !== null) ref = lh.applied_index;
  if (ref === null && raft && raft.node_id === leader) ref = raft.applied_index;
  if (ref === null) {
    for (const h of healthOf.values()) if (num(h.applied_index) !== null) ref = Math.max(ref || 0, h.applied_index);
  }

  const ids = [...byId.keys()].sort();
  const rows = ids.map((id) => {
    const s = byId.get(id);
    const h = healthOf.get(id);
    let state = s.suffrage === 'Voter' ? 'follower' : 'non-voter';
    if (id === leader) state = 'leader';
    const applied = h && num(h.applied_index) !== null ? h.applied_index : raft && raft.node_id === id ? raft.applied_index : null;
    const lag = applied !== null && ref !== null ? Math.max(0, ref - applied) : null;
    const healthText = h ? (h.healthy ? 'healthy' : 'unhealthy') : dash;
    return el('tr', { 'data-id': id, 'data-state': state, class: 'state-' + state },
      el('td', { class: 'id' }, id),
      el('td', { class: 'addr' }, s.address || dash),
      el('td', {}, el('span', { class: 'badge state-' + state }, state)),
      el('td', {}, s.suffrage || dash),
      el('td', {}, el('span', { class: 'badge gossip-' + ((h && h.gossip) || 'unknown') }, (h && h.gossip) || dash)),
      el('td', {}, el('span', { class: 'badge health-' + healthText }, healthText)),
      el('td', { class: 'num' }, applied === null ? dash : applied),
      el('td', { class: 'num' + (lag ? ' lagging' : '') }, lag === null ? dash : lag),
    );
  });
  replaceRows('raft-servers', rows);
  setText('agent-count', ids.length);
}

// renderMembers shows /admin/members.
export function renderMembers(members) {
  const list = ((members && members.members) || []).slice();
  list.sort((a, b) => (a.role || '').localeCompare(b.role || '') || (a.name || '').localeCompare(b.name || ''));
  replaceRows('members', list.map((m) =>
    el('tr', { 'data-name': m.name, 'data-state': m.state },
      el('td', { class: 'id' }, m.name),
      el('td', {}, m.role === 'file' ? 'file server' : m.role === 'registry' ? 'agent' : m.role || dash),
      el('td', {}, el('span', { class: 'badge gossip-' + (m.state || 'unknown') }, m.state || dash)),
      el('td', { class: 'addr' }, m.gossip || dash),
      el('td', { class: 'addr' }, m.http || dash),
    )));
}

// renderServices shows the catalog: services by name, each with its
// instances and their health.
export function renderServices(container, services) {
  const names = [...services.keys()].sort();
  setText('service-count', names.length ? '(' + names.length + ')' : '');
  const cards = names.map((name) => {
    const list = services.get(name).slice().sort((a, b) => (a.address || '').localeCompare(b.address || ''));
    const passing = list.filter((i) => i.status !== 'critical').length;
    const rows = list.map((i) =>
      el('tr', { 'data-id': i.id, 'data-status': i.status },
        el('td', { class: 'id', title: i.id }, short(i.id)),
        el('td', { class: 'addr' }, i.address),
        el('td', {}, i.version || dash),
        el('td', {}, i.kind || dash),
        el('td', {}, el('span', { class: 'badge status-' + (i.status || 'passing') }, i.status || 'passing')),
        el('td', { title: i.status_output || '' }, since(i.status_since)),
      ));
    return el('article', { class: 'service' + (passing === 0 ? ' all-critical' : ''), 'data-service': name },
      el('h3', {}, el('span', { class: 'name' }, name), ' ',
        el('span', { class: 'count' }, passing + '/' + list.length + ' passing')),
      el('table', { class: 'instances' },
        el('thead', {}, el('tr', {}, ...['instance', 'address', 'version', 'kind', 'health', 'since'].map((h) => el('th', {}, h)))),
        el('tbody', {}, ...rows)));
  });
  if (cards.length === 0) cards.push(el('p', { class: 'empty' }, 'No service is registered.'));
  container.replaceChildren(...cards);
}

// fileChanges say what each change of a "file" event means (the stream
// does not show the file itself: reading it needs services:read only).
const fileChanges = {
  created: 'a file was created',
  updated: 'a file was updated',
  deleted: 'a file was deleted',
  replicas: 'a file\'s copies changed',
  replicated: 'a file has all its copies again',
};

// describe says what an event changed, in one line.
function describe(type, ev) {
  if (ev.instance) {
    const i = ev.instance;
    return [i.name, short(i.id), i.address, i.status].filter(Boolean).join(' ');
  }
  if (ev.file_server) {
    const s = ev.file_server;
    return 'file server ' + s.id + ' ' + s.state + (s.address ? ' at ' + s.address : '');
  }
  if (type === 'membership') {
    const list = (ev.servers || []).map((s) => s.id + (s.suffrage && s.suffrage !== 'Voter' ? ' (' + s.suffrage + ')' : ''));
    return 'configuration: ' + (list.join(', ') || 'empty');
  }
  if (type === 'file') return fileChanges[ev.change] || 'a file changed' + (ev.change ? ' (' + ev.change + ')' : '');
  if (type === 'reset') return 'the stream resynchronised at index ' + ev.index;
  return '';
}

// renderEvents shows the newest events first.
export function renderEvents(list, events) {
  list.replaceChildren(...events.map((e) =>
    el('li', { 'data-type': e.type, value: e.data.index },
      el('span', { class: 'idx' }, '#' + (e.data.index || '')), ' ',
      el('span', { class: 'badge type-' + e.type }, e.type), ' ',
      el('span', { class: 'what' }, describe(e.type, e.data)), ' ',
      el('time', { datetime: e.at.toISOString() }, e.at.toLocaleTimeString()))));
}
