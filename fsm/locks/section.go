package locks

import (
	"encoding/json"
	"fmt"
)

// Section is the table's part of a snapshot. Fences are a map: JSON
// writes its keys sorted, so equal tables encode to equal bytes.
type Section struct {
	Locks  []*Lock           `json:"locks"`
	Fences map[string]uint64 `json:"fences"`
}

// EncodeSection returns the JSON of the table's section, locks ordered by
// file.
func (t *Table) EncodeSection() ([]byte, error) {
	all := t.All()
	if all == nil {
		all = []*Lock{}
	}
	return json.Marshal(Section{Locks: all, Fences: t.fences})
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
// sequence of commands could have produced: a lock breaking the rules or
// twice, a lock whose fence is not its file's last one.
func FromSection(s Section) (*Table, error) {
	next := New()
	for file, fence := range s.Fences {
		if err := validateFile(file); err != nil {
			return nil, fmt.Errorf("fences: %w", err)
		}
		if fence == 0 {
			return nil, fmt.Errorf("fences: %q has fence 0", file)
		}
		next.fences[file] = fence
	}
	for i, l := range s.Locks {
		if l == nil {
			return nil, fmt.Errorf("lock %d is null", i)
		}
		if err := (&UnlockRequest{File: l.File, TokenHash: l.TokenHash}).Validate(); err != nil {
			return nil, fmt.Errorf("lock %d: %w", i, err)
		}
		if l.Holder == "" {
			return nil, fmt.Errorf("lock %d: no holder", i)
		}
		if _, dup := next.locks[l.File]; dup {
			return nil, fmt.Errorf("lock of %q appears twice", l.File)
		}
		if next.fences[l.File] != l.Fence {
			return nil, fmt.Errorf("lock of %q: fence %d is not the file's last, %d", l.File, l.Fence, next.fences[l.File])
		}
		cp := *l
		next.locks[l.File] = &cp
	}
	return next, nil
}
