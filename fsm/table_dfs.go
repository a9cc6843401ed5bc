package fsm

import (
	"fmt"

	"github.com/custodes/custodes/fsm/files"
	"github.com/custodes/custodes/fsm/fileservers"
	"github.com/custodes/custodes/fsm/locks"
	"github.com/custodes/custodes/fsm/shares"
)

// This file is the directory's glue (the distributed file system's
// index, docs/DFS.md): its commands compose the four pure tables, because
// a command's checks and effects span them (a create counts copies on the
// servers, a delete drops the file's lock and shares, a share asks the
// ACL table whether the user exists).
//
// Every command's checks are one function used both as its Precheck and,
// first thing, by its Apply, so the two cannot drift apart; Apply then
// adds only what Precheck cannot judge (a lock's expiry, which needs the
// stamped time). All checks run before the first change, so a refused
// command leaves every table as it was.
//
// Events: a server's registration or state change is a "file-server"
// event, a file's creation, update, deletion or replica change a "file"
// event whose field says which (the payload is the server or the file;
// a file event carries no more than the file's entry, which the directory
// shows to whoever may read the file). Locks and shares make no events:
// lock tokens' hashes and who may read what do not belong in /events.

// Event types and watch key prefixes of the directory.
const (
	EventFileServer EventType = "file-server"
	EventFile       EventType = "file"
)

// Fields of "file" events: what happened to the file.
const (
	FileCreated  = "created"
	FileUpdated  = "updated"
	FileDeleted  = "deleted"
	FileReplicas = "replicas"
)

// FileWatchKey is the watch woken by any change to file id's entry.
func FileWatchKey(id string) string { return "file/" + id }

// FileServerWatchKey is the watch woken by a change to server id.
func FileServerWatchKey(id string) string { return "file-server/" + id }

// dfsRequest is what every directory request type provides.
type dfsRequest[T any] interface {
	*T
	Validate() error
}

// dfsCommand makes the dispatch entry of one directory command. check
// answers from the tables what would certainly fail (nil: nothing can).
func dfsCommand[T any, P dfsRequest[T], R any](
	apply func(f *FSM, index uint64, r P) (*R, []Event, error),
	check func(f *FSM, r P) error,
) command {
	typed := func(req any) (P, error) {
		r, ok := req.(P)
		if !ok || r == nil {
			return nil, invalid(fmt.Errorf("request is %T, want %T", req, P(nil)))
		}
		return r, nil
	}
	cmd := command{
		newRequest: func() any { return P(new(T)) },
		apply: func(f *FSM, index uint64, req any) (any, []Event) {
			res, evs, err := apply(f, index, req.(P))
			if err != nil {
				return err, nil // a business outcome, not a failure of the log
			}
			return res, evs
		},
		validate: func(f *FSM, req any) error {
			r, err := typed(req)
			if err != nil {
				return err
			}
			if err := r.Validate(); err != nil {
				return invalid(err)
			}
			return nil
		},
		newResult: func() any { return new(R) },
	}
	if check != nil {
		cmd.precheck = func(f *FSM, req any) error {
			r, err := typed(req)
			if err != nil {
				return err
			}
			return check(f, r)
		}
	}
	return cmd
}

func serverEvent(index uint64, s fileservers.Server) []Event {
	return []Event{{Index: index, Type: EventFileServer, Key: FileServerWatchKey(s.ID), Field: "server", Payload: &s}}
}

func fileEvent(index uint64, field string, file *files.File) []Event {
	return []Event{{Index: index, Type: EventFile, Key: FileWatchKey(file.ID), Field: field, Payload: file}}
}

// checkServers fails unless every id is a registered server.
func (f *FSM) checkServers(ids []string) error {
	for _, id := range ids {
		if !f.servers.Has(id) {
			return ErrServerNotFound
		}
	}
	return nil
}

// moveCopies takes one copy of oldSize off each old replica and puts one
// of newSize on each new one.
func (f *FSM) moveCopies(old []string, oldSize int64, next []string, newSize int64) {
	for _, id := range old {
		f.servers.RemoveCopy(id, oldSize)
	}
	for _, id := range next {
		f.servers.AddCopy(id, newSize)
	}
}

// stateOf returns server id's state, "" for an unknown server.
func (f *FSM) stateOf(id string) string {
	if s, ok := f.servers.Get(id); ok {
		return s.State
	}
	return ""
}

func registerServer(f *FSM, index uint64, r *fileservers.RegisterRequest) (*fileservers.Result, []Event, error) {
	from := f.stateOf(r.ID)
	res, err := f.servers.Register(index, r)
	if err != nil {
		return nil, nil, err
	}
	f.serverChanged(index, r.ID, from, res.Server.State)
	return res, serverEvent(index, res.Server), nil
}

func checkSetServerState(f *FSM, r *fileservers.SetStateRequest) error {
	return f.servers.CheckSetState(r)
}

func setServerState(f *FSM, index uint64, r *fileservers.SetStateRequest) (*fileservers.Result, []Event, error) {
	from := f.stateOf(r.ID)
	res, err := f.servers.SetState(index, r)
	if err != nil {
		return nil, nil, err
	}
	f.serverChanged(index, r.ID, from, res.Server.State)
	return res, serverEvent(index, res.Server), nil
}

func checkCreateFile(f *FSM, r *files.CreateRequest) error {
	if err := f.files.CheckCreate(r); err != nil {
		return err
	}
	return f.checkServers(r.Replicas)
}

func createFile(f *FSM, index uint64, r *files.CreateRequest) (*files.Result, []Event, error) {
	if err := checkCreateFile(f, r); err != nil {
		return nil, nil, err
	}
	res, err := f.files.Create(index, r)
	if err != nil {
		return nil, nil, err
	}
	f.moveCopies(nil, 0, r.Replicas, r.Size)
	f.requeue(r.ID)
	stored, _ := f.files.Get(r.ID)
	return res, fileEvent(index, FileCreated, stored), nil
}

func checkUpdateFile(f *FSM, r *files.UpdateRequest) error {
	if err := f.files.CheckUpdate(r); err != nil {
		return err
	}
	if err := f.locks.CheckHeld(r.ID, r.TokenHash, r.Fence); err != nil {
		return err
	}
	return f.checkServers(r.Replicas)
}

func updateFile(f *FSM, index uint64, r *files.UpdateRequest) (*files.Result, []Event, error) {
	if err := checkUpdateFile(f, r); err != nil {
		return nil, nil, err
	}
	// Only here, at the stamped time, can the lock's expiry be judged.
	if err := f.locks.Held(r.ID, r.TokenHash, r.Fence, r.Time); err != nil {
		return nil, nil, err
	}
	res, err := f.files.Update(index, r)
	if err != nil {
		return nil, nil, err
	}
	f.moveCopies(res.Old.Replicas, res.Old.Size, r.Replicas, r.Size)
	f.requeue(r.ID)
	stored, _ := f.files.Get(r.ID)
	return res, fileEvent(index, FileUpdated, stored), nil
}

func checkDeleteFile(f *FSM, r *files.DeleteRequest) error { return f.files.CheckDelete(r) }

func deleteFile(f *FSM, index uint64, r *files.DeleteRequest) (*files.Result, []Event, error) {
	stored, _ := f.files.Get(r.ID)
	res, err := f.files.Delete(index, r)
	if err != nil {
		return nil, nil, err
	}
	f.moveCopies(res.File.Replicas, res.File.Size, nil, 0)
	f.requeue(r.ID)
	f.locks.Drop(r.ID)
	f.shares.DropFile(r.ID)
	return res, fileEvent(index, FileDeleted, stored), nil
}

func checkSetReplicas(f *FSM, r *files.SetReplicasRequest) error {
	if err := f.files.CheckSetReplicas(r); err != nil {
		return err
	}
	return f.checkServers(r.Replicas)
}

func setReplicas(f *FSM, index uint64, r *files.SetReplicasRequest) (*files.Result, []Event, error) {
	if err := checkSetReplicas(f, r); err != nil {
		return nil, nil, err
	}
	res, err := f.files.SetReplicas(index, r)
	if err != nil {
		return nil, nil, err
	}
	f.moveCopies(res.Old.Replicas, res.Old.Size, r.Replicas, res.File.Size)
	was, now := f.requeue(r.ID)
	stored, _ := f.files.Get(r.ID)
	evs := fileEvent(index, FileReplicas, stored)
	if was && !now {
		evs = append(evs, fileEvent(index, FileReplicated, stored)...)
	}
	return res, evs, nil
}

func checkLock(f *FSM, r *locks.LockRequest) error {
	if _, ok := f.files.Get(r.File); !ok {
		return ErrFileNotFound
	}
	return nil
}

// lockFile's refusal (the lock is held) is a result, not an error: the
// caller learns who holds it and until when.
func lockFile(f *FSM, index uint64, r *locks.LockRequest) (*locks.Result, []Event, error) {
	if err := checkLock(f, r); err != nil {
		return nil, nil, err
	}
	res, err := f.locks.Lock(index, r)
	return res, nil, err
}

func checkUnlock(f *FSM, r *locks.UnlockRequest) error {
	if _, ok := f.files.Get(r.File); !ok {
		return ErrFileNotFound
	}
	return f.locks.CheckUnlock(r)
}

func unlockFile(f *FSM, index uint64, r *locks.UnlockRequest) (*locks.Result, []Event, error) {
	if err := checkUnlock(f, r); err != nil {
		return nil, nil, err
	}
	res, err := f.locks.Unlock(index, r)
	return res, nil, err
}

func checkShare(f *FSM, r *shares.ShareRequest) error {
	if err := f.files.CheckOwner(r.File, r.By); err != nil {
		return err
	}
	if _, ok := f.acl.Get(r.User); !ok {
		return ErrUserNotFound
	}
	if r.User == r.By { // By is the owner, checked above
		return ErrShareWithOwner
	}
	return nil
}

func shareFile(f *FSM, index uint64, r *shares.ShareRequest) (*shares.Result, []Event, error) {
	if err := checkShare(f, r); err != nil {
		return nil, nil, err
	}
	res, err := f.shares.Share(index, r)
	return res, nil, err
}
