package fsm

// TEMPORARY: the contract the wt-fsm branch implements; deleted at merge.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

var ErrInvalid = errors.New("invalid")

type Stamper interface{ Stamp(now time.Time, newID func() string) }

func (r *RegisterRequest) Stamp(now time.Time, newID func() string) { r.ID, r.Now = newID(), now }
func (r *UpdateInstanceRequest) Stamp(now time.Time, _ func() string) { r.Now = now }
func (r *SetStatusRequest) Stamp(now time.Time, _ func() string)    { r.Now = now }

func DecodeCommand(data []byte) (MessageType, any, error) {
	t, body, err := decode(data)
	if err != nil {
		return 0, nil, err
	}
	if t == BatchRequestType {
		return 0, nil, errors.New("a batch is not a command")
	}
	req := newRequest(t)
	if req == nil {
		return 0, nil, fmt.Errorf("unknown message type %d", uint8(t))
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		return 0, nil, fmt.Errorf("%s: %w", t, err)
	}
	if dec.More() {
		return 0, nil, fmt.Errorf("%s: trailing data", t)
	}
	return t, req, nil
}

func (f *FSM) Validate(t MessageType, req any) error { return nil }

func (f *FSM) Precheck(t MessageType, req any) error {
	var id string
	switch r := req.(type) {
	case *UpdateInstanceRequest:
		id = r.ID
	case *DeregisterRequest:
		id = r.ID
	case *SetStatusRequest:
		id = r.ID
	default:
		return nil
	}
	if _, ok := f.Instance(id); !ok {
		return ErrNotFound
	}
	return nil
}

func DecodeResult(t MessageType, data []byte) (any, error) {
	r := new(Result)
	if err := json.Unmarshal(data, r); err != nil {
		return nil, err
	}
	return r, nil
}

var businessErrs = map[string]error{"not_found": ErrNotFound, "conflict": ErrConflict, "invalid_status": ErrInvalidStatus}

func ErrorName(err error) string {
	for n, e := range businessErrs {
		if errors.Is(err, e) {
			return n
		}
	}
	return ""
}

func ErrorByName(name string) error { return businessErrs[name] }
