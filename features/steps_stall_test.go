package features

import (
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"sync"
)

// stallProxy stands between a client and an agent and forwards the
// agent's answers only up to a number of bytes per connection, then
// stops reading them while keeping the connection open: an agent that
// stalls mid-transfer, as a client sees it. It lives until the scenario
// ends.
type stallProxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// stallingProxy starts a proxy to the agent `who` that stalls after n
// bytes of each answer, remembered as ${name} (its host:port).
func (c *cliWorld) stallingProxy(who string, n int64, name string) error {
	i, err := c.w.agent(who)
	if err != nil {
		return err
	}
	u, err := url.Parse(c.w.c.URL(i))
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	p := &stallProxy{l: l}
	go p.serve(u.Host, n)
	c.w.cleanup = append(c.w.cleanup, p.close)
	c.w.vars[name] = l.Addr().String()
	return nil
}

func (p *stallProxy) serve(target string, n int64) {
	for {
		down, err := p.l.Accept()
		if err != nil {
			return // closed at the scenario's end
		}
		up, err := net.Dial("tcp", target)
		if err != nil {
			down.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, down, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, down) }()
		go func() { _, _ = io.CopyN(down, up, n) }() // then silence
	}
}

func (p *stallProxy) close() {
	p.l.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// noLocalFile checks that a local file of the scenario was not made
// (nor a temporary file beside it left behind).
func (c *cliWorld) noLocalFile(name string) error {
	d, err := c.dir()
	if err != nil {
		return err
	}
	matches, err := filepath.Glob(filepath.Join(d, "*"+name+"*"))
	if err != nil {
		return err
	}
	if len(matches) > 0 {
		return fmt.Errorf("%s exists: %v", name, matches)
	}
	return nil
}
