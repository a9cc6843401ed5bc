// The file-server ring (SVG): the servers in ring order around a circle,
// each with its files and bytes, dead ones marked; the replication queue
// in the middle, and its recent history as a line that falls as it
// drains.

import { $, bytes, replaceRows, setText, svg, el } from './dom.js';

const C = 160; // the centre of the 320x320 view box
const R = 112; // the ring's radius

function label(id) {
  return id.length > 9 ? id.slice(0, 8) + '…' : id;
}

// renderRing draws /admin/dfs, or says why there is nothing to draw.
export function renderRing(overview, why) {
  const ring = $('ring');
  const title = ring.querySelector('title');
  const parts = [title];
  parts.push(svg('circle', { cx: C, cy: C, r: R, class: 'ring-line' }));
  const servers = ((overview && overview.servers) || []).slice().sort((a, b) => a.ring - b.ring || a.id.localeCompare(b.id));
  const n = servers.length;
  servers.forEach((s, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    const x = C + R * Math.cos(a);
    const y = C + R * Math.sin(a);
    const lx = C + (R - 50) * Math.cos(a);
    const ly = C + (R - 50) * Math.sin(a);
    const dead = s.state === 'dead';
    const suspect = !dead && s.state === 'alive' && s.gossip === 'dead';
    const g = svg('g', {
      class: 'fs state-' + s.state + (suspect ? ' suspect' : ''),
      'data-id': s.id, 'data-state': s.state, 'data-gossip': s.gossip,
    },
    svg('title', {}, s.id + ' (' + s.address + '): ' + s.state + ', gossip ' + s.gossip + ', ' + s.files + ' files, ' + bytes(s.bytes)),
    svg('circle', { cx: x.toFixed(1), cy: y.toFixed(1), r: 24, class: 'node' }),
    // A dead server is crossed out under its name.
    dead && svg('path', { d: `M${(x - 14).toFixed(1)} ${(y - 14).toFixed(1)} l28 28 M${(x + 14).toFixed(1)} ${(y - 14).toFixed(1)} l-28 28`, class: 'dead-mark' }),
    svg('text', { x: x.toFixed(1), y: (y + 4).toFixed(1), class: 'node-id' }, label(s.id)),
    svg('text', { x: lx.toFixed(1), y: (ly - 2).toFixed(1), class: 'node-files' }, s.files + (s.files === 1 ? ' file' : ' files')),
    svg('text', { x: lx.toFixed(1), y: (ly + 11).toFixed(1), class: 'node-bytes' }, bytes(s.bytes)));
    // The state, when it is not alive, outside the ring by the server.
    const ox = C + (R + 36) * Math.cos(a);
    const oy = C + (R + 36) * Math.sin(a) + 4;
    if (dead) {
      g.append(svg('text', { x: ox.toFixed(1), y: oy.toFixed(1), class: 'dead-label' }, 'dead'));
    } else if (s.state !== 'alive' || suspect) {
      g.append(svg('text', { x: ox.toFixed(1), y: oy.toFixed(1), class: 'state-label' }, suspect ? 'unreachable' : s.state));
    }
    parts.push(g);
  });
  if (overview) {
    const q = overview.replication_queue || 0;
    parts.push(svg('text', { x: C, y: C - 6, class: 'queue-n' + (q > 0 ? ' pending' : ''), id: 'ring-queue' }, String(q)));
    parts.push(svg('text', { x: C, y: C + 14, class: 'queue-label' }, q === 1 ? 'file to copy' : 'files to copy'));
  }
  if (n === 0) {
    parts.push(svg('text', { x: C, y: C + 40, class: 'queue-label' }, why || 'no file server registered'));
  }
  ring.replaceChildren(...parts);

  replaceRows('file-servers', servers.map((s) =>
    el('tr', { 'data-id': s.id, 'data-state': s.state },
      el('td', { class: 'id' }, s.id),
      el('td', { class: 'addr' }, s.address),
      el('td', {}, el('span', { class: 'badge fs-' + s.state }, s.state)),
      el('td', {}, el('span', { class: 'badge gossip-' + s.gossip }, s.gossip)),
      el('td', { class: 'num' }, s.files),
      el('td', { class: 'num' }, bytes(s.bytes)))));

  const o = overview || {};
  setText('dfs-files', overview ? o.files : '—');
  setText('dfs-bytes', overview ? bytes(o.bytes) : '—');
  setText('dfs-queue', overview ? o.replication_queue : '—');
  setText('dfs-under', overview ? o.under_replicated : '—');
  setText('dfs-lost', overview ? o.lost : '—');
  setText('dfs-inflight', overview ? o.in_flight : '—');
  $('dfs-lost').classList.toggle('bad', !!o.lost);
}

// renderQueueHistory draws the queue lengths sampled (oldest first).
export function renderQueueHistory(samples) {
  const box = $('queue-history');
  const w = 200;
  const h = 48;
  const top = Math.max(1, ...samples);
  const step = samples.length > 1 ? w / (samples.length - 1) : w;
  // The line runs from y = h-2 (empty) up to y = 12 (the most seen),
  // under the label.
  const pts = samples.map((q, i) => (i * step).toFixed(1) + ',' + (h - 2 - ((h - 14) * q) / top).toFixed(1));
  const parts = [svg('line', { x1: 0, y1: h - 2, x2: w, y2: h - 2, class: 'axis' })];
  if (pts.length > 1) parts.push(svg('polyline', { points: pts.join(' '), class: 'queue-line' }));
  parts.push(svg('text', { x: w - 2, y: 8, class: 'queue-top' }, 'max ' + top));
  box.replaceChildren(...parts);
}
