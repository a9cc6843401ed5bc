package ui_test

import (
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	"github.com/custodes/custodes/ui"
)

// The page's modules tested one by one in the browser, against nothing
// but the page's own files: the event stream's parsing, resuming and
// token handling with a fetch the test scripts, and the views' escaping.

// scriptPage opens a document of the page's origin in which the test
// can import the modules (a 404 of the handler: it carries the same
// policy, and nothing on it calls the API).
func scriptPage(t *testing.T) (*httptest.Server, func(expr string) string) {
	t.Helper()
	b := browser(t)
	srv := httptest.NewServer(ui.New())
	t.Cleanup(srv.Close)
	must(t, b.Open(srv.URL+"/ui/blank"))
	return srv, func(expr string) string {
		t.Helper()
		out, err := b.Await(expr, 20*time.Second)
		must(t, err)
		return out
	}
}

// The stream reads events split anywhere across chunks, CRLF or LF,
// comments and events without an id; after each drop it reconnects with
// ?index= at the last id it saw (not an event without one: the rest of
// its Raft entry comes again); on a 401 it stops and asks for a token.
func TestEventStreamParsesAndResumes(t *testing.T) {
	_, await := scriptPage(t)
	out := await(`(async () => {
	  const { EventStream } = await import('/ui/stream.js');
	  const enc = new TextEncoder();
	  const answers = [
	    ['id: 3\nevent: registered\ndata: {"index":3,"instance":{"name":"a"}}\n\n: keep-alive\n\nid: 5\r\nevent: rem',
	     'oved\r\ndata: {"index":5}\r\n\r\nevent: file\ndata: {"index":6', ',"change":"created"}\n\n'],
	    ['id: 9\nevent: critical\ndata: {"index":9}\n', '\nevent: bogus\ndata: not json\n\n'],
	    401,
	  ];
	  const urls = [];
	  window.fetch = async (url, opts) => {
	    urls.push(String(url).replace(location.origin, '') + ' ' + (opts.headers.Authorization || '-'));
	    const a = answers.shift();
	    if (a === undefined) return new Promise(() => {});
	    if (a === 401) return new Response('{"error":"unauthorized: nope"}', { status: 401 });
	    const body = new ReadableStream({ start(c) { for (const s of a) c.enqueue(enc.encode(s)); c.close(); } });
	    return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
	  };
	  sessionStorage.setItem('custodes.token', 'T0K');
	  const got = [], states = [];
	  let auth = null;
	  const s = new EventStream({
	    onEvent: (type, data, id) => got.push([type, data.index, id]),
	    onState: (st) => states.push(st),
	    onAuth: (status, msg) => { auth = [status, msg]; },
	  });
	  s.start();
	  const deadline = Date.now() + 10000;
	  while (auth === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
	  await new Promise((r) => setTimeout(r, 300)); // no call after the 401
	  s.stop();
	  return { urls, got, auth, last: states[states.length - 1] };
	})()`)
	var res struct {
		URLs []string `json:"urls"`
		Got  [][]any  `json:"got"`
		Auth []any    `json:"auth"`
		Last string   `json:"last"`
	}
	must(t, json.Unmarshal([]byte(out), &res))
	wantURLs := []string{"/events Bearer T0K", "/events?index=5 Bearer T0K", "/events?index=9 Bearer T0K"}
	if !reflect.DeepEqual(res.URLs, wantURLs) {
		t.Errorf("requests %q, want %q", res.URLs, wantURLs)
	}
	wantGot := [][]any{{"registered", 3.0, "3"}, {"removed", 5.0, "5"}, {"file", 6.0, nil}, {"critical", 9.0, "9"}}
	if !reflect.DeepEqual(res.Got, wantGot) {
		t.Errorf("events %v, want %v", res.Got, wantGot)
	}
	if !reflect.DeepEqual(res.Auth, []any{401.0, "unauthorized: nope"}) || res.Last != "auth" {
		t.Errorf("after the 401: onAuth %v, last state %q", res.Auth, res.Last)
	}
}

// Strings from the API reach the page as text: markup in a service's
// version, an address or an event stays inert.
func TestViewsShowStringsAsText(t *testing.T) {
	_, await := scriptPage(t)
	out := await(`(async () => {
	  const { renderServices, renderEvents } = await import('/ui/views.js');
	  window.pwned = 0;
	  const evil = '<img src=x onerror="window.pwned=1"><b>bold</b>';
	  const services = new Map([['web', [{ id: evil, name: 'web', address: evil, version: evil, kind: 'service', status: 'passing', status_since: '2024-01-01T00:00:00Z' }]]]);
	  const count = document.createElement('span');
	  count.id = 'service-count';
	  const box = document.createElement('div');
	  document.body.append(count, box);
	  renderServices(box, services);
	  const list = document.createElement('ol');
	  document.body.append(list);
	  renderEvents(list, [{ type: evil, data: { index: 7, instance: { name: evil, id: evil, address: evil } }, at: new Date() }]);
	  await new Promise((r) => setTimeout(r, 200));
	  return { elements: box.querySelectorAll('img, b').length + list.querySelectorAll('img, b').length,
	           pwned: window.pwned, text: box.textContent.includes(evil) && list.textContent.includes(evil) };
	})()`)
	var res struct {
		Elements int  `json:"elements"`
		Pwned    int  `json:"pwned"`
		Text     bool `json:"text"`
	}
	must(t, json.Unmarshal([]byte(out), &res))
	if res.Elements != 0 || res.Pwned != 0 || !res.Text {
		t.Errorf("markup from the API became elements (%d, pwned %d) or its text is not shown (%v)", res.Elements, res.Pwned, res.Text)
	}
}
