package fsm

import (
	"cmp"
	"slices"
	"strings"

	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
)

// The replication queue (docs/REPLICATION.md): the files with fewer live
// copies than they want. A file's live copies are its replicas on alive
// servers; a draining server's copy is readable but does not count. A
// lost file has no replica on a readable (alive or draining) server; it
// has no live copy either, so it is always in the queue.
//
// The queue is a set of file ids the glue keeps on every command that
// changes files or servers (create, update, delete, set-replicas,
// set-server-state, register), so reads never walk every file. It is not
// part of the snapshot: Restore rebuilds it from the tables (one walk),
// which keeps the snapshot's format as it was.
//
// A server's files are found by walking every file (files.Table.Holding)
// on the rare command that changes a server's state: no per-server index
// is kept, as it would cost a map entry per copy held, for every file.

// FileReplicated is the field of the "file" event that a set-replicas
// adds (after its "replicas" event) when it brings the file back to the
// copies it wants: the file left the replication queue.
const FileReplicated = "replicated"

// copiesOf counts file's replicas on alive servers (live) and on alive
// or draining ones (readable).
func copiesOf(servers *fileservers.Table, file *files.File) (live, readable int) {
	for _, id := range file.Replicas {
		s, ok := servers.Get(id)
		if !ok {
			continue
		}
		if s.Alive() {
			live++
		}
		if s.Live() {
			readable++
		}
	}
	return live, readable
}

// queued reports whether file belongs in the replication queue.
func queued(servers *fileservers.Table, file *files.File) bool {
	live, _ := copiesOf(servers, file)
	return live < file.Want
}

// buildQueue computes the queue of a state from scratch (on Restore).
func buildQueue(servers *fileservers.Table, fs *files.Table) map[string]struct{} {
	q := map[string]struct{}{}
	fs.Each(func(file *files.File) bool {
		if queued(servers, file) {
			q[file.ID] = struct{}{}
		}
		return true
	})
	return q
}

// requeue puts file id in the queue or takes it out (a file gone is
// taken out), and reports whether it was queued before and is now.
func (f *FSM) requeue(id string) (was, now bool) {
	_, was = f.queue[id]
	file, ok := f.files.Get(id)
	now = ok && queued(f.servers, file)
	if now {
		f.queue[id] = struct{}{}
	} else {
		delete(f.queue, id)
	}
	return was, now
}

// replicaRank orders a file's replicas after a server stopped counting:
// alive servers first, then draining ones (still readable), then the
// rest. The first replica on an alive server is the primary.
func (f *FSM) replicaRank(id string) int {
	s, ok := f.servers.Get(id)
	switch {
	case ok && s.Alive():
		return 0
	case ok && s.Live():
		return 1
	}
	return 2
}

// serverChanged updates the files on server id after its state went from
// one state to another (from is "" for a server just registered). When
// the server is no longer alive (dead, draining or left), every file with
// a replica on it has its replicas reordered, alive servers first, stable
// otherwise: the first alive replica is the primary. When it is alive
// again nothing is reordered (the leader reconciles its copies). Either
// way its files are requeued. Reordered files make no events of their
// own (a server may hold millions): the server's event tells, and the
// files' watches are woken.
func (f *FSM) serverChanged(index uint64, id, from, to string) {
	if from == "" || from == to && to == fileservers.StateAlive {
		return // a new server holds nothing; alive to alive changes nothing
	}
	reorder := to != fileservers.StateAlive
	for _, fileID := range f.files.Holding(id) {
		if reorder && f.files.Reorder(index, fileID, f.replicaRank) && len(f.watches) > 0 {
			key := FileWatchKey(fileID)
			if ch, ok := f.watches[key]; ok {
				close(ch)
				delete(f.watches, key)
			}
		}
		f.requeue(fileID)
	}
}

// LiveCopies returns how many copies of file id count toward its Want
// (its replicas on alive servers) and how many are readable (on alive or
// draining servers); ok is false for an unknown file.
func (f *FSM) LiveCopies(id string) (live, readable int, ok bool) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	file, ok := f.files.Get(id)
	if !ok {
		return 0, 0, false
	}
	live, readable = copiesOf(f.servers, file)
	return live, readable, true
}

// ReplicationQueue returns the files with fewer live copies than they
// want, lost ones included: fewest live copies first, then by id.
func (f *FSM) ReplicationQueue() []files.File {
	f.mu.RLock()
	defer f.mu.RUnlock()
	type entry struct {
		live int
		file *files.File
	}
	all := make([]entry, 0, len(f.queue))
	for id := range f.queue {
		if file, ok := f.files.Get(id); ok {
			live, _ := copiesOf(f.servers, file)
			all = append(all, entry{live, file})
		}
	}
	slices.SortFunc(all, func(a, b entry) int {
		return cmp.Or(cmp.Compare(a.live, b.live), strings.Compare(a.file.ID, b.file.ID))
	})
	out := make([]files.File, len(all))
	for i, e := range all {
		out[i] = e.file.Clone()
	}
	return out
}
