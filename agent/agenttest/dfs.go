package agenttest

import (
	"fmt"
	"time"

	"github.com/custodes/custodes/fsm/fileservers"
)

// FileServers is how many file servers the cluster was started with.
func (c *Cluster) FileServers() int { return len(c.fileServers) }

// WaitForFileServers waits until every live agent's replica lists n file
// servers registered and alive.
func (c *Cluster) WaitForFileServers(n int, timeout time.Duration) error {
	var view string // the last agent's view that fell short, for the error
	err := poll(timeout, func() bool {
		for i, a := range c.Agents {
			if a == nil {
				continue
			}
			alive := 0
			var states []string
			for _, s := range a.Node().FSM().Servers() {
				if s.State == fileservers.StateAlive {
					alive++
				}
				states = append(states, s.ID+"="+s.State)
			}
			if alive < n {
				view = fmt.Sprintf("agent %d sees %v", i+1, states)
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%d file servers did not register within %s (%s)", n, timeout, view)
	}
	return nil
}

// FileServerIndex returns the index of the file server with that id, or -1.
func (c *Cluster) FileServerIndex(id string) int {
	for i, cfg := range c.fsCfgs {
		if cfg.ID == id {
			return i
		}
	}
	return -1
}

// KillFileServerByID kills the file server with that id, as a crash would.
func (c *Cluster) KillFileServerByID(id string) error {
	i := c.FileServerIndex(id)
	if i < 0 {
		return fmt.Errorf("no file server %q", id)
	}
	c.KillFileServer(i)
	return nil
}
