// DOM helpers. Every string from the API reaches the page as a text node
// or an attribute value, never as markup: nothing here parses HTML.

const SVG_NS = 'http://www.w3.org/2000/svg';

// build makes an element in namespace ns (null for HTML) with attributes
// and children; a child that is not a Node becomes a text node. The
// attribute "style" is refused: the Content-Security-Policy forbids inline
// styles, and classes say the same.
function build(ns, tag, attrs, children) {
  const node = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'style') throw new Error('inline styles are not allowed');
    node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// el makes an HTML element.
export function el(tag, attrs, ...children) {
  return build(null, tag, attrs, children);
}

// svg makes an SVG element.
export function svg(tag, attrs, ...children) {
  return build(SVG_NS, tag, attrs, children);
}

// $ finds the element with that id.
export function $(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error('no element #' + id);
  return node;
}

// setText sets an element's text, by id.
export function setText(id, value) {
  const node = $(id);
  const s = value === undefined || value === null ? '' : String(value);
  if (node.textContent !== s) node.textContent = s;
}

// replaceRows replaces a table's body with rows.
export function replaceRows(tableId, rows) {
  $(tableId).tBodies[0].replaceChildren(...rows);
}

// showError shows (or, with an empty message, hides) a panel's error line.
export function showError(id, message) {
  const node = $(id);
  node.hidden = !message;
  node.textContent = message || '';
}

// bytes formats a byte count for people.
export function bytes(n) {
  if (typeof n !== 'number' || !isFinite(n)) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

// since formats how long ago an RFC 3339 time was.
export function since(t) {
  const ms = Date.now() - Date.parse(t);
  if (!isFinite(ms) || Date.parse(t) <= 0) return '';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return s + 's ago';
  if (s < 3600) return Math.round(s / 60) + 'm ago';
  if (s < 86400) return Math.round(s / 3600) + 'h ago';
  return Math.round(s / 86400) + 'd ago';
}

// short cuts an instance id (a UUID) to its first block for tables.
export function short(id) {
  return typeof id === 'string' && id.length > 8 ? id.slice(0, 8) : String(id || '');
}
