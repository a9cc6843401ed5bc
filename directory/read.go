package directory

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
)

// Access levels of a user on a file.
const (
	AccessOwner = "owner"
	AccessRead  = "read"
	AccessWrite = "write"
)

// resolve finds (owner, name) as user may see it, after a linearizable
// read (a revoked share is seen at once on every agent). owner "" is the
// user. A file the user may not see is ErrFileNotFound, exactly like one
// that does not exist, so existence does not leak. write asks for the
// right to lock and update.
func (d *Directory) resolve(ctx context.Context, user, owner, name string, write bool) (files.File, string, error) {
	if owner == "" {
		owner = user
	}
	if err := files.ValidateName(name); err != nil {
		return files.File{}, "", fmt.Errorf("%w: %v", fsm.ErrInvalid, err)
	}
	if _, err := d.cluster.ConsistentRead(ctx); err != nil {
		return files.File{}, "", err
	}
	f, ok := d.cluster.FSM().FileByName(owner, name)
	if !ok {
		return files.File{}, "", notFound(owner, name)
	}
	access := AccessOwner
	if owner != user {
		access = d.cluster.FSM().Access(f.ID, user)
	}
	if access == "" || (write && access == AccessRead) {
		if access == AccessRead {
			return files.File{}, access, fmt.Errorf("%w: %q of %s is shared with you read-only", fsm.ErrNotOwner, name, owner)
		}
		return files.File{}, "", notFound(owner, name)
	}
	return f, access, nil
}

func notFound(owner, name string) error {
	return fmt.Errorf("%w: no file %q of %s that you may see", fsm.ErrFileNotFound, name, owner)
}

// Open resolves a file the user may read.
func (d *Directory) Open(ctx context.Context, user, owner, name string) (files.File, error) {
	f, _, err := d.resolve(ctx, user, owner, name, false)
	return f, err
}

// Read copies bytes [offset, offset+length) of f's current version to w,
// from the first replica that answers; when one fails before or during
// the transfer, the next continues from the byte where it stopped. It
// returns how many bytes it wrote; an error with fewer than length
// written means the answer must be cut, never completed (ErrNoLiveCopy
// when no replica could give the rest, or w's own error).
func (d *Directory) Read(ctx context.Context, f files.File, offset, length int64, w io.Writer) (int64, error) {
	var done int64
	var errs []error
	for _, r := range d.replicasOf(f.Replicas, true) {
		if done == length {
			break
		}
		rc, info, err := d.copies.Get(ctx, r.Address, f.ID, f.Version, offset+done)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
			continue
		}
		if info.Size != f.Size || info.SHA256 != f.SHA256 {
			// Not the bytes the index committed (a fenced-off writer's,
			// say): skip it, whatever it holds.
			rc.Close()
			errs = append(errs, fmt.Errorf("%s: its copy (%d bytes, SHA-256 %s) is not the index's", r.ID, info.Size, info.SHA256))
			continue
		}
		cw := &countingWriter{w: w}
		buf := copyBuffers.Get().(*[]byte)
		_, err = io.CopyBuffer(cw, io.LimitReader(rc, length-done), *buf)
		copyBuffers.Put(buf)
		rc.Close()
		done += cw.n
		if cw.err != nil {
			return done, cw.err // the client went away: no replica helps
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.ID, err))
		}
	}
	if done < length {
		if ctx.Err() != nil {
			return done, ctx.Err()
		}
		return done, fmt.Errorf("%w: %q (replicas %v): %v", ErrNoLiveCopy, f.Name, f.Replicas, errors.Join(errs...))
	}
	return done, nil
}

// copyBuffers hold the 256 KiB buffers reads copy through: io.Copy's
// 32 KiB means eight times as many system calls on each side.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// countingWriter tells the client's write errors apart from the source's.
type countingWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	if err != nil {
		c.err = err
	}
	return n, err
}

// replicasOf turns server ids into addresses from the index. With
// liveFirst the replicas gossip reports alive come first (in their
// order), then the others, so a read does not wait on a dead primary;
// servers the index does not know are left out.
func (d *Directory) replicasOf(serverIDs []string, liveFirst bool) []Replica {
	f := d.cluster.FSM()
	alive := d.gossipAlive()
	var first, rest []Replica
	for _, id := range serverIDs {
		s, ok := f.Server(id)
		if !ok {
			continue
		}
		r := Replica{ID: id, Address: s.Address}
		if !liveFirst || (alive[id] && fileservers.Readable(s.State)) {
			first = append(first, r)
		} else {
			rest = append(rest, r)
		}
	}
	return append(first, rest...)
}

// ReplicaState is one replica of a file as /stat shows it.
type ReplicaState struct {
	Server  string `json:"server"`
	Address string `json:"address"`
	// State is the index's (alive, dead, left), or dead when gossip no
	// longer sees an alive server.
	State string `json:"state"`
}

// Stat is a file with its replicas' states and the caller's access.
type Stat struct {
	File     files.File
	Access   string
	Replicas []ReplicaState
}

// Stat answers /stat.
func (d *Directory) Stat(ctx context.Context, user, owner, name string) (Stat, error) {
	f, access, err := d.resolve(ctx, user, owner, name, false)
	if err != nil {
		return Stat{}, err
	}
	alive := d.gossipAlive()
	st := Stat{File: f, Access: access}
	for _, id := range f.Replicas {
		rs := ReplicaState{Server: id, State: fileservers.StateDead}
		if s, ok := d.cluster.FSM().Server(id); ok {
			rs.Address, rs.State = s.Address, s.State
			if s.State == fileservers.StateAlive && !alive[id] {
				rs.State = fileservers.StateDead
			}
		}
		st.Replicas = append(st.Replicas, rs)
	}
	return st, nil
}

// List answers /all: the files user owns or that were shared with them.
func (d *Directory) List(ctx context.Context, user string) ([]fsm.FileAccess, error) {
	if _, err := d.cluster.ConsistentRead(ctx); err != nil {
		return nil, err
	}
	return d.cluster.FSM().FilesOf(user), nil
}

// AccessAnswer is /access's answer: whether a lock token holds a file now.
type AccessAnswer struct {
	File    string     `json:"file"`
	Valid   bool       `json:"valid"`
	Holder  string     `json:"holder,omitempty"`
	Fence   uint64     `json:"fence,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
}

// Access answers the lock service's check: does token hold file's lock
// now? Only a valid token says who holds it.
func (d *Directory) Access(ctx context.Context, fileID, tokenHash string) (AccessAnswer, error) {
	if _, err := d.cluster.ConsistentRead(ctx); err != nil {
		return AccessAnswer{}, err
	}
	// An unknown file is just not held: the answer does not tell ids
	// that exist from ids that do not.
	a := AccessAnswer{File: fileID}
	l, ok := d.cluster.FSM().Lock(fileID)
	if ok && tokenHash != "" && l.TokenHash == tokenHash && time.Now().Before(l.Expires) {
		exp := l.Expires
		a.Valid, a.Holder, a.Fence, a.Expires = true, l.Holder, l.Fence, &exp
	}
	return a, nil
}
