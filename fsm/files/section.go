package files

import (
	"encoding/json"
	"fmt"
)

// Section is the table's part of a snapshot.
type Section struct {
	Files []*File `json:"files"`
}

// EncodeSection returns the JSON of the table's section, files ordered by
// id so that equal tables encode to equal bytes.
func (t *Table) EncodeSection() ([]byte, error) {
	all := t.All()
	if all == nil {
		all = []*File{}
	}
	return json.Marshal(Section{Files: all})
}

// DecodeSection builds a table from the JSON of a section.
func DecodeSection(data []byte) (*Table, error) {
	var s Section
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, err
	}
	return FromSection(s)
}

// FromSection builds a table from a decoded section, refusing one no
// sequence of commands could have produced: a file breaking the rules, an
// id or an (owner, name) twice. Such a snapshot would break the indexes.
// The section's files are taken over, not copied: the caller drops it.
func FromSection(s Section) (*Table, error) {
	next := New()
	for i, f := range s.Files {
		if f == nil {
			return nil, fmt.Errorf("file %d is null", i)
		}
		req := CreateRequest{ID: f.ID, Owner: f.Owner, Name: f.Name, Size: f.Size, SHA256: f.SHA256, Replicas: f.Replicas, Want: f.Want}
		if err := req.Validate(); err != nil {
			return nil, fmt.Errorf("file %d: %w", i, err)
		}
		if f.Version == 0 {
			return nil, fmt.Errorf("file %q: version 0", f.ID)
		}
		if err := next.CheckCreate(&req); err != nil {
			return nil, fmt.Errorf("file %q (%s's %q) appears twice", f.ID, f.Owner, f.Name)
		}
		f.Owner, f.Replicas = next.str(f.Owner), next.replicas(f.Replicas)
		next.put(f)
	}
	return next, nil
}
