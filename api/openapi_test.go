package api

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Every route the router serves (but the agents' own protocol and the
// profiler) is in the document, and every documented route is served.
func TestOpenAPICoversEveryRoute(t *testing.T) {
	s := New(fakeCluster{}, nil, nil, nil, Config{EnableDebug: true})
	served := registeredRoutes(s.e)()
	documented := map[string]bool{}
	for _, key := range documentedRoutes() {
		if documented[key] {
			t.Errorf("%s is documented twice", key)
		}
		documented[key] = true
		if !served[key] {
			t.Errorf("the document lists %s, which is not a route", key)
		}
	}
	for key := range served {
		_, path, _ := strings.Cut(key, " ")
		if undocumented(path) {
			continue
		}
		if !documented[key] {
			t.Errorf("%s is not in the OpenAPI document (api/openapi.go routeDocs)", key)
		}
	}
}

// namedCluster is a fakeCluster with an id, for requests through the
// middleware.
type namedCluster struct{ fakeCluster }

func (namedCluster) ID() string { return "a1" }

func TestOpenAPIDocument(t *testing.T) {
	s := New(namedCluster{}, nil, nil, nil, Config{ACL: ACLConfig{Default: ACLDeny}})
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d under deny without a token: %s", rec.Code, rec.Body)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Info    map[string]any `json:"info"`
		Paths   map[string]map[string]struct {
			Summary     string                    `json:"summary"`
			Permission  string                    `json:"x-custodes-permission"`
			Responses   map[string]map[string]any `json:"responses"`
			RequestBody *struct {
				Content map[string]any `json:"content"`
			} `json:"requestBody"`
			Parameters []struct {
				Name, In string
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc.OpenAPI != "3.0.3" || doc.Info["title"] == nil {
		t.Fatalf("openapi %q, info %v", doc.OpenAPI, doc.Info)
	}
	ops := 0
	for p, methods := range doc.Paths {
		if strings.Contains(p, ":") {
			t.Errorf("path %s keeps echo's :param", p)
		}
		for m, op := range methods {
			ops++
			if op.Summary == "" || op.Permission == "" || len(op.Responses) == 0 {
				t.Errorf("%s %s: summary %q, permission %q, %d responses", m, p, op.Summary, op.Permission, len(op.Responses))
			}
			for _, prm := range op.Parameters {
				if prm.In == "path" && !strings.Contains(p, "{"+prm.Name+"}") {
					t.Errorf("%s %s: path parameter %s not in the path", m, p, prm.Name)
				}
			}
		}
	}
	if ops != len(routeDocs) {
		t.Errorf("%d operations, want %d", ops, len(routeDocs))
	}
	for p, ct := range map[string]string{"/write": ctOctets, "/update": ctOctets, "/register": ctJSON} {
		rb := doc.Paths[p]["post"].RequestBody
		if rb == nil || rb.Content[ct] == nil {
			t.Errorf("POST %s: request body %+v, want %s", p, rb, ct)
		}
	}
	if got := doc.Paths["/instance/{id}"]["put"].Permission; got != "write" {
		t.Errorf("PUT /instance/{id} permission %q", got)
	}
}
