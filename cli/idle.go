package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
)

// defaultIdleTimeout is how long a download (files get, snapshot save)
// may go without receiving a byte before it is given up: a stalled agent
// or a dead connection would otherwise hang the command until Ctrl-C, as
// TCP alone may never notice a peer that vanished.
const defaultIdleTimeout = time.Minute

// errStalled is the cause of a download cancelled by its idle watch.
var errStalled = errors.New("stalled")

// idleWatch cancels a download's context once Timeout passes without a
// byte (or the answer's headers) arriving; 0 watches nothing.
type idleWatch struct {
	timeout time.Duration
	timer   *time.Timer
	ctx     context.Context
	cancel  context.CancelCauseFunc
}

// watchIdle starts the watch over a request about to be sent.
func watchIdle(parent context.Context, timeout time.Duration) *idleWatch {
	ctx, cancel := context.WithCancelCause(parent)
	w := &idleWatch{timeout: timeout, ctx: ctx, cancel: cancel}
	if timeout > 0 {
		w.timer = time.AfterFunc(timeout, func() { cancel(errStalled) })
	}
	return w
}

// touch records that something arrived.
func (w *idleWatch) touch() {
	if w.timer != nil {
		w.timer.Reset(w.timeout)
	}
}

// stop ends the watch (and the context).
func (w *idleWatch) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
	w.cancel(nil)
}

// body wraps an answer's body so that every byte read touches the watch.
func (w *idleWatch) body(resp *http.Response) {
	w.touch()
	resp.Body = &idleBody{ReadCloser: resp.Body, w: w}
}

// explain turns the error of a call or a read cut by the watch into one
// that says so; other errors are returned as they are.
func (w *idleWatch) explain(err error) error {
	if err != nil && errors.Is(context.Cause(w.ctx), errStalled) {
		return fmt.Errorf("no data from the agent for %s: given up (--idle-timeout)", w.timeout)
	}
	return err
}

type idleBody struct {
	io.ReadCloser
	w *idleWatch
}

func (b *idleBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.touch()
	}
	return n, err
}
