// Package uitest drives the dashboard (package ui) in a real headless
// Chromium through chromedp, for Go tests and godog steps alike: it finds
// the browser, starts it, opens pages, waits on conditions in the page with
// deadlines, types and clicks, and collects what the page wrote to the
// console (errors, uncaught exceptions, failed loads).
package uitest
