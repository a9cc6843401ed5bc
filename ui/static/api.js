// The API client: GETs to the agent that served the page, with the token
// the user typed (sessionStorage: this tab only) as Authorization: Bearer.

const TOKEN_KEY = 'custodes.token';

// AuthError is a 401 or 403: the page asks for a token.
export class AuthError extends Error {
  constructor(status, message) {
    super(message || (status === 401 ? 'a token is needed' : 'the token lacks the permission'));
    this.status = status;
  }
}

// HTTPError is any other answer the caller did not accept.
export class HTTPError extends Error {
  constructor(status, message) {
    super(message || 'HTTP ' + status);
    this.status = status;
  }
}

export function token() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// apiURL resolves an API path against the page's own address: the page
// lives at <base>/ui/, the API at <base>/, so that behind a proxy that
// serves the agent under a path prefix the calls keep the prefix.
export function apiURL(path) {
  return new URL('..' + path, document.baseURI).toString();
}

// headers are every request's: the token when there is one.
export function headers(extra) {
  const h = Object.assign({}, extra || {});
  const t = token();
  if (t) h['Authorization'] = 'Bearer ' + t;
  return h;
}

// body reads an answer as JSON, or null when it is not JSON.
async function body(resp) {
  try {
    return await resp.json();
  } catch {
    return null;
  }
}

// getJSON fetches path. It answers {status, body, index} for a 2xx or a
// status listed in accept, and throws AuthError for 401/403, HTTPError for
// anything else and the fetch's own TypeError when the agent is out of
// reach.
export async function getJSON(path, opts) {
  const o = opts || {};
  const resp = await fetch(apiURL(path), {
    headers: headers({ Accept: 'application/json' }),
    cache: 'no-store',
    credentials: 'omit',
    signal: o.signal,
  });
  const b = await body(resp);
  if (resp.status === 401 || resp.status === 403) {
    throw new AuthError(resp.status, b && typeof b.error === 'string' ? b.error : '');
  }
  if (!resp.ok && !(o.accept || []).includes(resp.status)) {
    throw new HTTPError(resp.status, b && typeof b.error === 'string' ? b.error : '');
  }
  return { status: resp.status, body: b, index: resp.headers.get('X-Custodes-Index') };
}
