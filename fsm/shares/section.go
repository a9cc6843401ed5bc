package shares

import (
	"encoding/json"
	"fmt"
)

// Section is the table's part of a snapshot.
type Section struct {
	Shares []Share `json:"shares"`
}

// EncodeSection returns the JSON of the table's section, ordered by file
// then user so that equal tables encode to equal bytes.
func (t *Table) EncodeSection() ([]byte, error) {
	all := t.All()
	if all == nil {
		all = []Share{}
	}
	return json.Marshal(Section{Shares: all})
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
// sequence of commands could have produced: a share breaking the rules,
// of mode none, or twice.
func FromSection(s Section) (*Table, error) {
	next := New()
	for i, sh := range s.Shares {
		if err := (&ShareRequest{File: sh.File, User: sh.User, Mode: sh.Mode, By: "-"}).Validate(); err != nil {
			return nil, fmt.Errorf("share %d: %w", i, err)
		}
		if sh.Mode == ModeNone {
			return nil, fmt.Errorf("share %d: mode none is never stored", i)
		}
		if next.Mode(sh.File, sh.User) != "" {
			return nil, fmt.Errorf("share of %q with %q appears twice", sh.File, sh.User)
		}
		next.Share(0, &ShareRequest{File: sh.File, User: sh.User, Mode: sh.Mode})
	}
	return next, nil
}
