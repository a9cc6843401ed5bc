package replication

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Kinds of ReconcileAction.
const (
	// ReconcileKeep: the copy is a listed replica of the current version.
	ReconcileKeep = "keep"
	// ReconcileAdopt: add the server to the file's replicas (a good copy
	// of the current version, the file short of live copies).
	ReconcileAdopt = "adopt"
	// ReconcileDelete: remove the copy from the server.
	ReconcileDelete = "delete"
	// ReconcileDropReplica: remove the server from the file's replicas.
	ReconcileDropReplica = "drop-replica"
)

// InventoryCopy is one copy a file server reports in GET /v1/inventory.
// A zero Modified means its age is unknown.
type InventoryCopy struct {
	File     string
	Version  uint64
	Size     int64
	SHA256   string
	Corrupt  bool
	Modified time.Time
}

// IndexedFile is what the index knows of a file: its current version,
// the servers listed as holding it and how many of those are alive.
type IndexedFile struct {
	ID         string
	Version    uint64
	Size       int64
	SHA256     string
	Replicas   []string
	Want       int
	LiveCopies int
}

// ReconcileAction is one thing to do about a returning server's copy or
// about a file's replica list.
type ReconcileAction struct {
	Kind    string // ReconcileKeep, ReconcileAdopt, ReconcileDelete, ReconcileDropReplica
	File    string
	Version uint64
	Reason  string
}

// Reconcile compares the inventory of a file server that registered
// again (server is its id) with the index (file id → file) and returns
// what to do (docs/REPLICATION.md, "Return"):
//
//   - a good copy (not corrupt, size and SHA-256 of the index) of a
//     file's current version is kept when the server is listed, adopted
//     when it is not and the file has fewer live copies than Want, and
//     deleted otherwise;
//   - a copy of an older version of a known file is deleted; a copy of a
//     newer version (an update in flight, not yet committed) is left
//     alone, as an orphan is, until it is older than orphanGrace;
//   - a copy of a file the index does not know is deleted once it is
//     older than orphanGrace (a write may be in flight), else left alone;
//     a copy of unknown age (zero Modified) is left alone;
//   - a corrupt copy of the current version, or one whose size or SHA-256
//     differs from the index's, is deleted, and the server dropped from
//     the file's replicas if listed;
//   - a file listing the server without a copy of its current version in
//     the inventory drops the server from its replicas.
//
// The actions are sorted by file, version, then kind (keep, adopt,
// drop-replica, delete: a listed copy is unlisted before it is removed).
// Reconcile is pure: it reads its arguments only.
func Reconcile(server string, inv []InventoryCopy, index map[string]IndexedFile, now time.Time, orphanGrace time.Duration) []ReconcileAction {
	out := []ReconcileAction{}
	add := func(kind, file string, version uint64, reason string) {
		out = append(out, ReconcileAction{Kind: kind, File: file, Version: version, Reason: reason})
	}
	// hasCurrent: files of which the inventory holds the current version.
	hasCurrent := map[string]bool{}
	seen := map[[2]any]bool{}
	for _, c := range inv {
		key := [2]any{c.File, c.Version}
		if seen[key] {
			continue // reported twice: one decision
		}
		seen[key] = true
		f, known := index[c.File]
		if !known {
			switch {
			case c.Modified.IsZero():
				// Unknown age: it may be a write in flight.
			case now.Sub(c.Modified) > orphanGrace:
				add(ReconcileDelete, c.File, c.Version, "orphan: the index does not know the file and the copy is older than the orphan grace")
			}
			continue
		}
		if c.Version > f.Version {
			// An update in flight: its copies are stored before the
			// index commits the version. Left alone as an orphan is.
			if !c.Modified.IsZero() && now.Sub(c.Modified) > orphanGrace {
				add(ReconcileDelete, c.File, c.Version, "orphan: a version the index never committed, older than the orphan grace")
			}
			continue
		}
		if c.Version != f.Version {
			add(ReconcileDelete, c.File, c.Version, "stale: not the file's current version")
			continue
		}
		hasCurrent[c.File] = true
		listed := slices.Contains(f.Replicas, server)
		var bad string
		switch {
		case c.Corrupt:
			bad = "corrupt: the server found the copy bad"
		case c.Size != f.Size:
			bad = "mismatch: the copy's size is not the index's"
		case !strings.EqualFold(c.SHA256, f.SHA256):
			bad = "mismatch: the copy's SHA-256 is not the index's"
		}
		switch {
		case bad != "":
			if listed {
				add(ReconcileDropReplica, c.File, c.Version, bad)
			}
			add(ReconcileDelete, c.File, c.Version, bad)
		case listed:
			add(ReconcileKeep, c.File, c.Version, "listed replica of the current version")
		case f.LiveCopies < f.Want:
			add(ReconcileAdopt, c.File, c.Version, "good copy of the current version; the file is short of live copies")
		default:
			add(ReconcileDelete, c.File, c.Version, "surplus: the file has its live copies without this server")
		}
	}
	for id, f := range index {
		if !hasCurrent[id] && slices.Contains(f.Replicas, server) {
			add(ReconcileDropReplica, id, f.Version, "missing: the server has no copy of the current version")
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Version != b.Version {
			return a.Version < b.Version
		}
		return reconcileKindRank[a.Kind] < reconcileKindRank[b.Kind]
	})
	return out
}

var reconcileKindRank = map[string]int{ReconcileKeep: 0, ReconcileAdopt: 1, ReconcileDropReplica: 2, ReconcileDelete: 3}
