package fsm

import (
	"cmp"
	"slices"
	"strings"

	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
)

// The directory's reads: take the read lock, ask the tables, copy what
// they return, so no reader reaches a stored value.

// Access levels a user has on a file, as FilesOf and Access report them.
const (
	AccessOwner = "owner"
	AccessRead  = shares.ModeRead
	AccessWrite = shares.ModeWrite
)

// FileAccess is a file and the access a user has to it.
type FileAccess struct {
	File   files.File `json:"file"`
	Access string     `json:"access"`
}

// DFSSummary is the directory's totals, for /admin/dfs.
type DFSSummary struct {
	// Servers is the number of registered file servers, whatever their state.
	Servers int `json:"servers"`
	Files   int `json:"files"`
	// Bytes is the sum of the files' sizes (one copy each).
	Bytes int64 `json:"bytes"`
	// UnderReplicated counts files with fewer live copies (on alive
	// servers) than they want, the lost ones included: the replication
	// queue's length, under its older name.
	UnderReplicated int `json:"under_replicated"`
	// Lost counts files with no readable copy (none on an alive or
	// draining server). They are in the queue, but no copy can be made.
	Lost int `json:"lost"`
	// Queue is the replication queue's length (docs/REPLICATION.md).
	Queue int `json:"replication_queue"`
}

// Server returns the file server with id.
func (f *FSM) Server(id string) (fileservers.Server, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s, ok := f.servers.Get(id)
	if !ok {
		return fileservers.Server{}, false
	}
	return *s, true
}

// Servers returns every file server in ring order.
func (f *FSM) Servers() []fileservers.Server {
	f.mu.RLock()
	defer f.mu.RUnlock()
	all := f.servers.All()
	out := make([]fileservers.Server, len(all))
	for i, s := range all {
		out[i] = *s
	}
	return out
}

// File returns the file with id.
func (f *FSM) File(id string) (files.File, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	file, ok := f.files.Get(id)
	if !ok {
		return files.File{}, false
	}
	return file.Clone(), true
}

// FileByName returns owner's file called name.
func (f *FSM) FileByName(owner, name string) (files.File, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	file, ok := f.files.ByName(owner, name)
	if !ok {
		return files.File{}, false
	}
	return file.Clone(), true
}

// FilesOf returns the files user may reach: their own, then those shared
// with them, each group ordered by (owner, name).
func (f *FSM) FilesOf(user string) []FileAccess {
	f.mu.RLock()
	defer f.mu.RUnlock()
	owned := f.files.OwnedBy(user)
	out := make([]FileAccess, 0, len(owned))
	for _, file := range owned {
		out = append(out, FileAccess{File: file.Clone(), Access: AccessOwner})
	}
	var shared []FileAccess
	for _, sh := range f.shares.OfUser(user) {
		if file, ok := f.files.Get(sh.File); ok {
			shared = append(shared, FileAccess{File: file.Clone(), Access: sh.Mode})
		}
	}
	sortByOwnerName(shared)
	return append(out, shared...)
}

func sortByOwnerName(fa []FileAccess) {
	slices.SortFunc(fa, func(a, b FileAccess) int {
		return cmp.Or(strings.Compare(a.File.Owner, b.File.Owner), strings.Compare(a.File.Name, b.File.Name))
	})
}

// Access returns user's access to file id: "owner", "read", "write", or
// "" for none (or no such file).
func (f *FSM) Access(fileID, user string) string {
	f.mu.RLock()
	defer f.mu.RUnlock()
	file, ok := f.files.Get(fileID)
	if !ok {
		return ""
	}
	if file.Owner == user {
		return AccessOwner
	}
	return f.shares.Mode(fileID, user)
}

// Lock returns file id's lock as stored: it may have expired (compare
// Expires with the time), as only a command judges expiry.
func (f *FSM) Lock(fileID string) (locks.Lock, bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	l, ok := f.locks.Get(fileID)
	if !ok {
		return locks.Lock{}, false
	}
	return *l, true
}

// DFSSummary returns the directory's totals. It reads the counts the
// glue keeps and walks only the replication queue.
func (f *FSM) DFSSummary() DFSSummary {
	f.mu.RLock()
	defer f.mu.RUnlock()
	s := DFSSummary{Servers: f.servers.Len(), Files: f.files.Len(), Bytes: f.files.Bytes(),
		UnderReplicated: len(f.queue), Queue: len(f.queue)}
	for id := range f.queue {
		if file, ok := f.files.Get(id); ok {
			if _, readable := copiesOf(f.servers, file); readable == 0 {
				s.Lost++
			}
		}
	}
	return s
}

// FilesOn returns the files that list server among their replicas (a
// scan of every file: for a server's reconciliation, not per request).
func (f *FSM) FilesOn(server string) []files.File {
	f.mu.RLock()
	defer f.mu.RUnlock()
	ids := f.files.Holding(server)
	out := make([]files.File, 0, len(ids))
	for _, id := range ids {
		if fl, ok := f.files.Get(id); ok {
			out = append(out, fl.Clone())
		}
	}
	return out
}
