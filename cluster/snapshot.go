package cluster

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/custodes/custodes/fsm"
	"github.com/hashicorp/raft"
)

// Operators' snapshots (`custodes snapshot save|restore`, GET and PUT
// /admin/snapshot): the whole replicated state in one file, as `consul
// snapshot` keeps it.
//
// The archive is gzip (its CRC-32 and length catch a damaged or cut file)
// around one JSON header line and the state's snapshot in the format Raft's
// own snapshots use. Saving is a linearizable read (every write
// acknowledged before the call is in it) of this agent's replica, which
// needs the leader only to confirm the read index: the state is the same
// on every agent at that index, and the leader's disk and Raft log are
// left alone (no forced Raft snapshot, no log compaction). Restoring goes
// through the leader, which alone may replace the state (raft.Restore).

// ArchiveFormat names the file format in every archive's header.
const ArchiveFormat = "custodes-snapshot"

// archiveVersion is bumped when the archive's layout changes.
const archiveVersion = 1

// ArchiveHeader is an archive's first line.
type ArchiveHeader struct {
	Format  string    `json:"format"`
	Version int       `json:"version"`
	Index   uint64    `json:"index"`
	Node    string    `json:"node"`
	Taken   time.Time `json:"taken"`
}

// DefaultMaxSnapshotBytes is the largest archive a restore takes unless
// configured otherwise: a gzipped state of tens of millions of files.
const DefaultMaxSnapshotBytes = 16 << 30

// maxHeaderBytes bounds an archive's header line.
const maxHeaderBytes = 4 << 10

// Snapshot is an operator's snapshot, taken and ready to be written.
type Snapshot struct {
	Header ArchiveHeader
	export fsm.Export
}

// TakeSnapshot makes a linearizable read and copies the state at it.
func (n *Node) TakeSnapshot(ctx context.Context) (*Snapshot, error) {
	if _, err := n.ConsistentRead(ctx); err != nil {
		return nil, err
	}
	exp := n.fsm.Export()
	return &Snapshot{
		Header: ArchiveHeader{Format: ArchiveFormat, Version: archiveVersion, Index: exp.Index(),
			Node: n.cfg.NodeID, Taken: time.Now().UTC().Truncate(time.Second)},
		export: exp,
	}, nil
}

// Write writes the archive to w.
func (s *Snapshot) Write(w io.Writer) error {
	zw := gzip.NewWriter(w)
	hdr, err := json.Marshal(s.Header)
	if err != nil {
		return err
	}
	if _, err := zw.Write(append(hdr, '\n')); err != nil {
		return err
	}
	if err := s.export.Write(zw); err != nil {
		return err
	}
	return zw.Close()
}

// openArchive checks an archive's header and returns it and a reader of
// the state's snapshot inside. Reading that to its end also checks the
// gzip trailer (a damaged or truncated file fails there). The state may
// be at most limit bytes once decompressed, as the archive is on the wire:
// a few kilobytes of gzip can stand for terabytes of JSON, which the
// tables decoded whole would hold in memory.
func openArchive(r io.Reader, limit int64) (ArchiveHeader, *archiveBody, error) {
	var h ArchiveHeader
	zr, err := gzip.NewReader(r)
	if err != nil {
		return h, nil, fmt.Errorf("%w: not a custodes snapshot archive (gzip: %v)", fsm.ErrInvalid, err)
	}
	capped := &cappedReader{r: zr, left: limit, limit: limit}
	br := bufio.NewReaderSize(capped, 64<<10)
	line, err := br.ReadSlice('\n')
	if err != nil {
		return h, nil, fmt.Errorf("%w: not a custodes snapshot archive (no header line: %v)", fsm.ErrInvalid, err)
	}
	if len(line) > maxHeaderBytes {
		return h, nil, fmt.Errorf("%w: archive header over %d bytes", fsm.ErrInvalid, maxHeaderBytes)
	}
	if err := json.Unmarshal(line, &h); err != nil || h.Format != ArchiveFormat {
		return h, nil, fmt.Errorf("%w: not a custodes snapshot archive (header %.80q)", fsm.ErrInvalid, line)
	}
	if h.Version != archiveVersion {
		return h, nil, fmt.Errorf("%w: archive version %d, this agent reads %d", fsm.ErrInvalid, h.Version, archiveVersion)
	}
	return h, &archiveBody{Reader: br, capped: capped}, nil
}

// archiveBody is the state inside an archive.
type archiveBody struct {
	*bufio.Reader
	capped *cappedReader
}

// explain returns the limit's error when the state passed it (the
// decoder reading the state words it as a malformed snapshot), else err.
func (b *archiveBody) explain(err error) error {
	if err != nil && b.capped.over != nil {
		return b.capped.over
	}
	return err
}

// cappedReader fails with ErrTooLarge once more than limit bytes were
// read (io.LimitReader would end them quietly, as a truncated archive).
type cappedReader struct {
	r           io.Reader
	left, limit int64
	over        error
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		// One byte more tells a state of exactly limit bytes from a
		// larger one.
		var one [1]byte
		n, err := c.r.Read(one[:])
		if n > 0 {
			c.over = fmt.Errorf("%w: the archive's state is over %d bytes decompressed", ErrTooLarge, c.limit)
			return 0, c.over
		}
		return 0, err
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// Restored is what a restore answers.
type Restored struct {
	// Index is the state's index after the restore (beyond the log's end
	// before it: indexes never go backwards).
	Index uint64 `json:"index"`
	// SnapshotIndex is the index the archive was saved at.
	SnapshotIndex uint64 `json:"snapshot_index"`
	// Leader names the agent that restored it.
	Leader string `json:"leader"`
}

// restoreGap is how far past the log's last index a restored state
// claims to be: raft.Restore burns one index beyond both the log and the
// meta's index, and entries appended between reading the last index and
// the restore taking effect (it aborts those in flight) must not pass it.
//
// It is large, a million, so that an agent left holding a restore the
// cluster did not commit is far ahead of any leader and tells so
// (diverge.go): a healthy follower is never that far ahead.
const restoreGap = 1 << 20

// RestoreSnapshot replaces the whole replicated state with an archive's.
// The archive is spooled to the data directory (at most
// MaxSnapshotBytes), checked whole, then restored by the leader: here if
// this agent leads, otherwise sent on over the agents' protocol, which
// checks it again. A bad archive changes nothing and is fsm.ErrInvalid.
func (n *Node) RestoreSnapshot(ctx context.Context, r io.Reader) (Restored, error) {
	spool, err := n.spool(r)
	if err != nil {
		return Restored{}, err
	}
	defer removeFile(spool)
	if n.IsLeader() {
		// restoreLocal checks the whole archive as it rewrites it, before
		// anything changes: a check of its own first would decode the
		// state once more (15 s of a 1M-file restore).
		return n.restoreLocal(spool)
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		return Restored{}, err
	}
	// Checked here so that a bad archive is refused by the agent asked,
	// without a trip to the leader (which checks it again).
	if err := checkArchive(spool, n.cfg.MaxSnapshotBytes); err != nil {
		return Restored{}, err
	}
	return n.restoreRemote(ctx, spool)
}

// spool copies r into a temporary file in the data directory.
func (n *Node) spool(r io.Reader) (*os.File, error) {
	f, err := os.CreateTemp(n.cfg.DataDir, "restore-*.tmp")
	if err != nil {
		return nil, err
	}
	limit := n.cfg.MaxSnapshotBytes
	m, err := io.Copy(f, io.LimitReader(r, limit+1))
	if err != nil {
		removeFile(f)
		return nil, fmt.Errorf("%w: reading the archive: %v", fsm.ErrInvalid, err)
	}
	if m > limit {
		removeFile(f)
		return nil, fmt.Errorf("%w: archive over %d bytes", ErrTooLarge, limit)
	}
	return f, nil
}

func removeFile(f *os.File) {
	_ = f.Close()
	_ = os.Remove(f.Name())
}

// checkArchive reads a whole archive, checking its header, every table
// and the gzip trailer.
func checkArchive(r io.Reader, limit int64) error {
	_, body, err := openArchive(r, limit)
	if err != nil {
		return err
	}
	_, err = fsm.CheckSnapshot(body)
	return body.explain(err)
}

// restoreLocal is the leader's restore: the archive's state is rewritten
// (checked again) at an index past the log's end into a second temporary
// file, which raft.Restore installs here and sends to every follower.
func (n *Node) restoreLocal(archive *os.File) (Restored, error) {
	n.restoreMu.Lock()
	defer n.restoreMu.Unlock()
	if !n.IsLeader() {
		return Restored{}, ErrNotLeader
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return Restored{}, err
	}
	hdr, body, err := openArchive(archive, n.cfg.MaxSnapshotBytes)
	if err != nil {
		return Restored{}, err
	}
	state, err := os.CreateTemp(n.cfg.DataDir, "restore-state-*.tmp")
	if err != nil {
		return Restored{}, err
	}
	defer removeFile(state)
	at := n.raft.LastIndex() + restoreGap
	bw := bufio.NewWriterSize(state, 256<<10)
	if _, err := fsm.Rewrite(body, bw, at); err != nil {
		return Restored{}, body.explain(err)
	}
	if err := bw.Flush(); err != nil {
		return Restored{}, err
	}
	size, err := state.Seek(0, io.SeekCurrent)
	if err != nil {
		return Restored{}, err
	}
	if _, err := state.Seek(0, io.SeekStart); err != nil {
		return Restored{}, err
	}
	meta := &raft.SnapshotMeta{Version: raft.SnapshotVersionMax, Index: at - 1, Size: size}
	// raft.Restore's one timer bounds both handing the restore to Raft
	// and, after the state machine restored it (15 s for a million
	// files), handing Raft the no-op it then waits for: a timer shorter
	// than the restore fails a restore that happened. It is not a bound
	// on the restore, which cannot be cancelled once Raft has it.
	const timeout = time.Hour
	n.cfg.Logger.Warn("restoring the whole state from an operator's snapshot", "saved_at", hdr.Index, "saved_by", hdr.Node, "bytes", size)
	if err := n.raft.Restore(meta, state, timeout); err != nil {
		return Restored{}, raftError(err)
	}
	return Restored{Index: n.fsm.AppliedIndex(), SnapshotIndex: hdr.Index, Leader: n.cfg.NodeID}, nil
}

// restoreRemote sends a checked archive to the leader. The agents'
// protocol carries it only with a cluster key: without one anybody who
// reaches the port could replace the state, so the operator must then ask
// the leader itself.
func (n *Node) restoreRemote(ctx context.Context, archive *os.File) (Restored, error) {
	leader, ok := n.Leader()
	if !ok || leader.ID == n.cfg.NodeID {
		return Restored{}, ErrNoLeader
	}
	if n.signer == nil {
		return Restored{}, fmt.Errorf("%w: without a cluster key (--encrypt) a restore is not forwarded; send it to the leader, %s at %s", ErrNotLeader, leader.ID, leader.HTTP)
	}
	if _, err := archive.Seek(0, io.SeekStart); err != nil {
		return Restored{}, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, n.scheme()+leader.HTTP+rpcSnapshot, archive)
	if err != nil {
		return Restored{}, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	n.signer.SignStreamed(req)
	resp, err := n.streamClient().Do(req)
	if err != nil {
		return Restored{}, fmt.Errorf("%w: leader %s: %v; the restore may or may not have happened", ErrForward, leader.ID, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerBytes))
	if err != nil {
		return Restored{}, fmt.Errorf("%w: leader %s: %v", ErrForward, leader.ID, err)
	}
	if resp.StatusCode != http.StatusOK {
		return Restored{}, callError(resp.StatusCode, body)
	}
	var out Restored
	if err := json.Unmarshal(body, &out); err != nil {
		return Restored{}, fmt.Errorf("%w: leader %s: %v", ErrForward, leader.ID, err)
	}
	return out, nil
}

// streamClient is the agents' client without the overall timeout of the
// small calls: a large archive takes as long as it takes; the request's
// context bounds it.
func (n *Node) streamClient() *http.Client {
	return &http.Client{Transport: n.client.Transport}
}

// serveSnapshot is the leader's half of a forwarded restore.
func (n *Node) serveSnapshot(w http.ResponseWriter, r *http.Request) {
	if n.verify == nil {
		writeError(w, fmt.Errorf("%w: a restore is refused over the agents' protocol without a cluster key (--encrypt)", ErrUnauthenticated))
		return
	}
	if !n.IsLeader() {
		writeError(w, ErrNotLeader)
		return
	}
	// The server's read timeout would cut a large archive off: the
	// deadline moves as bytes arrive, so only a stalled sender is cut.
	rc := http.NewResponseController(w)
	spool, err := n.spool(&deadlineReader{r: r.Body, rc: rc, idle: 30 * time.Second})
	if err != nil {
		writeError(w, err)
		return
	}
	defer removeFile(spool)
	_ = rc.SetWriteDeadline(time.Time{}) // the restore takes as long as the state is large
	// restoreLocal checks every byte before anything changes.
	out, err := n.restoreLocal(spool)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

// deadlineReader moves the connection's read deadline before each read.
type deadlineReader struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration
}

func (d *deadlineReader) Read(p []byte) (int, error) {
	_ = d.rc.SetReadDeadline(time.Now().Add(d.idle))
	n, err := d.r.Read(p)
	if err == io.EOF {
		// The whole body is in: the restore that follows may outlast the
		// deadline, and net/http's read that watches for the client
		// going away would then time out and cancel the request.
		_ = d.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}
