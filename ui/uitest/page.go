package uitest

import (
	"fmt"
	"time"
)

// Cond is something the dashboard shows: a JavaScript predicate over its
// DOM (the ids and data- attributes of ui/static), what it means in
// words, and an expression that says what the page showed instead, for
// the error of a wait.
type Cond struct {
	What, Predicate, Show string
}

// Until waits until the page shows c, for at most timeout.
func (b *Browser) Until(c Cond, timeout time.Duration) error {
	return b.Wait(c.What, timeout, c.Predicate, c.Show)
}

// ShowsAgents: the Raft table lists n servers.
func ShowsAgents(n int) Cond {
	return Cond{
		What:      fmt.Sprintf("%d agents in the Raft group", n),
		Predicate: fmt.Sprintf(`document.querySelectorAll('#raft-servers tbody tr').length === %d && document.getElementById('agent-count').textContent === '%d'`, n, n),
		Show:      `[...document.querySelectorAll('#raft-servers tbody tr')].map(r => r.dataset.id + ':' + r.dataset.state)`,
	}
}

// ShowsMembers: the gossip table lists at least n alive members.
func ShowsMembers(n int) Cond {
	return Cond{
		What:      fmt.Sprintf("%d alive gossip members", n),
		Predicate: fmt.Sprintf(`document.querySelectorAll('#members tbody tr[data-state="alive"]').length >= %d`, n),
		Show:      `[...document.querySelectorAll('#members tbody tr')].map(r => r.dataset.name + ':' + r.dataset.state)`,
	}
}

// NamesLeader: the page names id as the leader, in the summary and in
// the table.
func NamesLeader(id string) Cond {
	return Cond{
		What: "the leader " + id,
		Predicate: fmt.Sprintf(`document.getElementById('leader').textContent === %[1]s && `+
			`[...document.querySelectorAll('#raft-servers tbody tr[data-state="leader"]')].map(r => r.dataset.id).join() === %[1]s`, jsString(id)),
		Show: `document.getElementById('leader').textContent`,
	}
}

// UntilLeader waits until the page names the leader that leader() says
// leads now: an election on a loaded machine may move the leadership
// while the page loads, and the page is right to follow it.
func (b *Browser) UntilLeader(leader func() (string, error), timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		id, err := leader()
		if err == nil {
			err = b.Until(NamesLeader(id), min(time.Second, max(time.Until(deadline), 50*time.Millisecond)))
		}
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// ShowsService: the services panel has a card for name.
func ShowsService(name string) Cond {
	return Cond{
		What:      "the service " + name,
		Predicate: fmt.Sprintf(`[...document.querySelectorAll('#services [data-service]')].some(e => e.dataset.service === %s)`, jsString(name)),
		Show:      `[...document.querySelectorAll('#services [data-service]')].map(e => e.dataset.service)`,
	}
}

// ShowsInstances: the card of name lists n instances, each with status.
func ShowsInstances(name string, n int, status string) Cond {
	return Cond{
		What: fmt.Sprintf("%d %s instances of %s", n, status, name),
		Predicate: fmt.Sprintf(`[...document.querySelectorAll('#services [data-service]')].filter(e => e.dataset.service === %s)`+
			`.map(e => e.querySelectorAll('tbody tr[data-status=%s]').length)[0] === %d`, jsString(name), jsString(status), n),
		Show: `[...document.querySelectorAll('#services [data-service]')].map(e => e.dataset.service + ':' + [...e.querySelectorAll('tbody tr')].map(r => r.dataset.status))`,
	}
}

// ShowsFileServers: the ring draws n file servers.
func ShowsFileServers(n int) Cond {
	return Cond{What: fmt.Sprintf("%d file servers on the ring", n), Predicate: fmt.Sprintf(`document.querySelectorAll('#ring g.fs').length === %d`, n), Show: ringShown}
}

// FileServerIs: the ring draws file server id in state (alive, dead...).
func FileServerIs(id, state string) Cond {
	return Cond{
		What:      "file server " + id + " " + state + " on the ring",
		Predicate: fmt.Sprintf(`[...document.querySelectorAll('#ring g.fs')].some(g => g.dataset.id === %s && g.dataset.state === %s)`, jsString(id), jsString(state)),
		Show:      ringShown,
	}
}

const ringShown = `[...document.querySelectorAll('#ring g.fs')].map(g => g.dataset.id + ':' + g.dataset.state + '/' + g.dataset.gossip)`

// ShowsEvent: the events list has an event of that type.
func ShowsEvent(typ string) Cond {
	return Cond{
		What:      "a " + typ + " event",
		Predicate: fmt.Sprintf(`[...document.querySelectorAll('#events li')].some(li => li.dataset.type === %s)`, jsString(typ)),
		Show:      `[...document.querySelectorAll('#events li')].slice(0, 10).map(li => li.dataset.type)`,
	}
}

// AsksForToken: the token form is shown.
func AsksForToken() Cond {
	return Cond{What: "the token form", Predicate: `!document.getElementById('auth').hidden`, Show: `document.getElementById('stream-state').textContent`}
}

// TokenFormHidden: the token form is not shown.
func TokenFormHidden() Cond {
	return Cond{What: "no token form", Predicate: `document.getElementById('auth').hidden`, Show: `document.getElementById('auth-msg').textContent`}
}

// StreamLive: the event stream is connected.
func StreamLive() Cond {
	return Cond{What: "a live event stream", Predicate: `document.getElementById('stream-state').dataset.state === 'live'`, Show: `document.getElementById('stream-state').textContent`}
}

// EnterToken types a token into the page's form and sends it.
func (b *Browser) EnterToken(token string) error {
	if err := b.Type("token-input", token); err != nil {
		return fmt.Errorf("type the token: %w", err)
	}
	if err := b.Click("token-submit"); err != nil {
		return fmt.Errorf("send the token: %w", err)
	}
	return nil
}
