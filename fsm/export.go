package fsm

import (
	"fmt"
	"io"
)

// Export is a point-in-time copy of the whole state taken for an operator
// (`custodes snapshot save`), outside Raft's own snapshots: taking it
// compacts no log and costs what Snapshot costs (cheap copies of the
// tables); writing it streams the same bytes Persist writes.
type Export struct{ s *snapshot }

// Export takes the copy.
func (f *FSM) Export() Export {
	snap, _ := f.Snapshot() // never fails
	return Export{s: snap.(*snapshot)}
}

// Index is the Raft index of the last command the copy includes.
func (e Export) Index() uint64 { return e.s.applied }

// Write writes the snapshot (the format Persist writes and Restore
// reads).
func (e Export) Write(w io.Writer) error { return e.s.write(w) }

// CheckSnapshot reads a snapshot that came from outside the cluster and
// checks it exactly as Restore would, changing nothing and writing
// nothing. It returns the index the snapshot claims.
func CheckSnapshot(r io.Reader) (uint64, error) {
	applied, _, err := readSnapshot(r)
	if err != nil {
		return 0, fmt.Errorf("%w: not a snapshot of this state: %v", ErrInvalid, err)
	}
	return applied, nil
}

// Rewrite reads a snapshot that came from outside the cluster (an
// operator's file), checks it exactly as Restore would (every section
// decoded, every table's consistency checks), and writes it again as this
// version writes snapshots, claiming applied as the index of its last
// command. Nothing in any state changes. It returns the index the snapshot
// claimed.
//
// Why rewrite rather than pass the file on: hashicorp/raft restores an
// operator's snapshot at a fresh index beyond its log and panics if the
// state machine then refuses it, so the bytes handed to Raft must be
// known good; and the state's applied index must be that fresh index, not
// the one the file was saved at, or watchers and blocking queries would
// see the index go backwards.
func Rewrite(r io.Reader, w io.Writer, applied uint64) (uint64, error) {
	was, t, err := readSnapshot(r)
	if err != nil {
		return 0, fmt.Errorf("%w: not a snapshot of this state: %v", ErrInvalid, err)
	}
	if err := (&snapshot{applied: applied, tables: t}).write(w); err != nil {
		return was, fmt.Errorf("writing the snapshot: %w", err)
	}
	return was, nil
}
