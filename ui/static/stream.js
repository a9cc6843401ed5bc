// The event stream: GET /events read with fetch and a ReadableStream,
// because EventSource cannot send the Authorization header. Server-sent
// events are parsed here; after a drop the stream resumes with ?index= at
// the last event id seen.

import { apiURL, headers } from './api.js';

const MIN_BACKOFF = 250;
const MAX_BACKOFF = 5000;

export class EventStream {
  // handlers: onEvent(type, data, id), onState(state, detail) with state
  // one of connecting, live, reconnecting, auth; onAuth(status, message).
  constructor(handlers) {
    this.h = handlers;
    this.last = null; // the last event id seen: where to resume
    this.running = false;
    this.ctl = null;
    this.generation = 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.generation++;
    this.loop(this.generation);
  }

  stop() {
    this.running = false;
    this.generation++;
    if (this.ctl) this.ctl.abort();
  }

  // restart drops the connection and opens another (a new token).
  restart() {
    this.stop();
    this.start();
  }

  async loop(gen) {
    let backoff = MIN_BACKOFF;
    while (this.running && gen === this.generation) {
      const ctl = new AbortController();
      this.ctl = ctl;
      this.h.onState(this.last === null ? 'connecting' : 'reconnecting');
      try {
        const url = apiURL('/events' + (this.last === null ? '' : '?index=' + encodeURIComponent(this.last)));
        const resp = await fetch(url, {
          headers: headers({ Accept: 'text/event-stream' }),
          cache: 'no-store',
          credentials: 'omit',
          signal: ctl.signal,
        });
        if (resp.status === 401 || resp.status === 403) {
          let msg = '';
          try {
            const b = await resp.json();
            msg = b && typeof b.error === 'string' ? b.error : '';
          } catch {
            // not JSON: no message
          }
          if (gen === this.generation) {
            this.running = false;
            this.h.onState('auth');
            this.h.onAuth(resp.status, msg);
          }
          return;
        }
        if (!resp.ok || !resp.body) throw new Error('events: HTTP ' + resp.status);
        this.h.onState('live');
        backoff = MIN_BACKOFF;
        if (this.h.onOpen) this.h.onOpen();
        await this.read(resp.body, gen);
      } catch {
        // A drop, an abort or an agent out of reach: retried below.
      }
      if (!this.running || gen !== this.generation) return;
      this.h.onState('reconnecting');
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, MAX_BACKOFF);
    }
  }

  async read(stream, gen) {
    const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done || gen !== this.generation) return;
      buf += value.replace(/\r\n?/g, '\n');
      let cut;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        this.dispatch(block);
      }
    }
  }

  // dispatch handles one event block (the fields of text/event-stream).
  dispatch(block) {
    let type = 'message';
    let id = null;
    const data = [];
    for (const line of block.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') type = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
    if (id !== null && /^\d+$/.test(id)) this.last = id;
    if (data.length === 0) return;
    let parsed;
    try {
      parsed = JSON.parse(data.join('\n'));
    } catch {
      return; // not an event of ours
    }
    this.h.onEvent(type, parsed, id);
  }
}
