package catalog

import (
	"encoding/json"
	"fmt"
)

// Section is the table's part of a snapshot. Its JSON is also, field for
// field, what version 1 snapshots held at their top level, so fsm reads
// old snapshots through the same type.
type Section struct {
	Instances    []*Instance       `json:"instances"`
	ServiceIndex map[string]uint64 `json:"service_index"`
}

// Section returns the table's snapshot section: instances ordered by id,
// so equal tables encode to equal bytes. It shares the immutable
// instances and the service index map: encode it, do not change it.
func (c *Table) Section() Section {
	return Section{Instances: c.All(), ServiceIndex: c.serviceIndex}
}

// EncodeSection returns the JSON of the table's section.
func (c *Table) EncodeSection() ([]byte, error) {
	return json.Marshal(c.Section())
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
// sequence of commands could have produced: a null or anonymous instance,
// or an id or (name, address) that appears twice. Such a snapshot would
// break the table's indexes, so it is better refused than restored.
func FromSection(s Section) (*Table, error) {
	next := New()
	for i, inst := range s.Instances {
		if inst == nil || inst.ID == "" || inst.Name == "" {
			return nil, fmt.Errorf("instance %d is empty or has no id or name", i)
		}
		if _, dup := next.instances[inst.ID]; dup {
			return nil, fmt.Errorf("instance id %q appears twice", inst.ID)
		}
		if _, dup := next.byName[inst.Name][inst.Address]; dup {
			return nil, fmt.Errorf("%s at %s appears twice", inst.Name, inst.Address)
		}
		next.put(inst)
	}
	for name, idx := range s.ServiceIndex {
		next.serviceIndex[name] = idx
	}
	return next, nil
}
