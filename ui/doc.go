// Package ui is custodes' web dashboard: one page of plain HTML, CSS and
// JavaScript embedded in the binary (no build step, nothing fetched from
// elsewhere) and the handler that serves it under /ui/ on every agent.
//
// The page holds no data of its own: its scripts ask the agent that served
// it, over the public API, with the token the user types (kept in the
// tab's sessionStorage and sent as Authorization: Bearer), so the route is
// open. It follows /events (read with fetch, since EventSource cannot send
// a header) and polls the admin routes that have no events. The handler
// sends a strict Content-Security-Policy (scripts and styles from the page's
// own origin only, nothing inline) and nosniff; the scripts build the page
// with text nodes only, never markup from the API.
//
// ui/uitest drives the page in a headless Chromium for tests.
package ui
