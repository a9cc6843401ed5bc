package api

import (
	"time"

	"github.com/custodes/custodes/fsm/catalog"
)

// checkView is a check as the API shows and accepts it: durations as
// strings such as "10s".
type checkView struct {
	HTTP                   string `json:"http,omitempty"`
	Interval               string `json:"interval,omitempty"`
	Timeout                string `json:"timeout,omitempty"`
	FailuresBeforeCritical int    `json:"failures_before_critical,omitempty"`
	SuccessesBeforePassing int    `json:"successes_before_passing,omitempty"`
	DeregisterAfter        string `json:"deregister_after,omitempty"`
	TTL                    string `json:"ttl,omitempty"`
}

// instanceView is an instance as the API shows it: never null lists.
type instanceView struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Kind          string            `json:"kind"`
	Version       string            `json:"version"`
	Address       string            `json:"address"`
	Tags          []string          `json:"tags"`
	Meta          map[string]string `json:"meta"`
	ChangeVersion uint64            `json:"change_version"`
	RegisteredAt  time.Time         `json:"registered_at"`
	UpdatedAt     time.Time         `json:"updated_at"`
	CreateIndex   uint64            `json:"create_index"`
	ModifyIndex   uint64            `json:"modify_index"`
	Status        string            `json:"status"`
	StatusSince   time.Time         `json:"status_since"`
	StatusOutput  string            `json:"status_output,omitempty"`
	Check         *checkView        `json:"check,omitempty"`
	Rectify       *catalog.Rectify  `json:"rectify,omitempty"`
}

func durString(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

func checkViewOf(c *catalog.Check) *checkView {
	if c == nil {
		return nil
	}
	return &checkView{
		HTTP: c.HTTP, Interval: durString(c.Interval), Timeout: durString(c.Timeout),
		FailuresBeforeCritical: c.FailuresBeforeCritical, SuccessesBeforePassing: c.SuccessesBeforePassing,
		DeregisterAfter: durString(c.DeregisterAfter), TTL: durString(c.TTL),
	}
}

func viewOf(in catalog.Instance) instanceView {
	v := instanceView{
		ID: in.ID, Name: in.Name, Kind: in.Kind, Version: in.Version, Address: in.Address,
		Tags: in.Tags, Meta: in.Meta, ChangeVersion: in.ChangeVersion,
		RegisteredAt: in.RegisteredAt, UpdatedAt: in.UpdatedAt,
		CreateIndex: in.CreateIndex, ModifyIndex: in.ModifyIndex,
		Status: in.Status, StatusSince: in.StatusSince, StatusOutput: in.StatusOutput,
		Check: checkViewOf(in.Check), Rectify: in.Rectify,
	}
	if v.Tags == nil {
		v.Tags = []string{}
	}
	if v.Meta == nil {
		v.Meta = map[string]string{}
	}
	if v.Status == "" {
		v.Status = catalog.StatusPassing
	}
	return v
}

func viewsOf(list []catalog.Instance) []instanceView {
	out := make([]instanceView, len(list))
	for i, in := range list {
		out[i] = viewOf(in)
	}
	return out
}
