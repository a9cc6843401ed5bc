package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/custodes/custodes/api"
)

// aclFlags binds the ACL flags of `custodes agent` and `custodes dev`.
type aclFlags struct {
	tokenFile string
}

func (f *aclFlags) bind(fs *flag.FlagSet, cfg *api.ACLConfig) {
	fs.StringVar(&cfg.Default, "acl-default", api.ACLAllow,
		"what a request without a token may do: allow (as before ACLs) or deny (401 but on /alive, /ready, /acl/bootstrap)")
	fs.StringVar(&f.tokenFile, "initial-management-token-file", "",
		"file holding the management token the first leader bootstraps ACLs with (at least 16 characters; read at start, used only if ACLs are not bootstrapped)")
}

// load reads the initial management token's file into cfg. Errors name
// the file and the problem, never the token.
func (f *aclFlags) load(cfg *api.ACLConfig) error {
	if f.tokenFile == "" {
		return nil
	}
	b, err := os.ReadFile(f.tokenFile)
	if err != nil {
		return fmt.Errorf("initial management token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if err := api.ValidateInitialToken(tok); err != nil {
		return fmt.Errorf("%s: %w", f.tokenFile, err)
	}
	cfg.InitialManagementToken = tok
	return nil
}

// devACL makes a dev cluster's ACLs ready to try: the management token
// (bootstrapped through the API, or the initial one once a leader has
// bootstrapped with it) and a demo user with services:write.
func devACL(client *http.Client, base, initial string) (management, demo string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	management = initial
	if management == "" {
		var out struct {
			Token string `json:"token"`
		}
		if err := devCall(ctx, client, base, http.MethodPost, "/acl/bootstrap", "", nil, &out); err != nil {
			return "", "", fmt.Errorf("bootstrap: %w", err)
		}
		management = out.Token
	}
	var user struct {
		Token string `json:"token"`
	}
	body := []byte(`{"name":"demo","roles":["services:write"]}`)
	// With an initial token the leader bootstraps on its own: retry until
	// it has.
	for {
		err = devCall(ctx, client, base, http.MethodPost, "/acl/users", management, body, &user)
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return "", "", fmt.Errorf("demo user: %w", err)
	}
	return management, user.Token, nil
}

// devCall makes one JSON call to the dev cluster.
func devCall(ctx context.Context, client *http.Client, base, method, path, token string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	return json.Unmarshal(raw, out)
}

// caClient is an HTTP client that trusts the CA in file ca (custodes dev
// --tls).
func caClient(ca string) (*http.Client, error) {
	pem, err := os.ReadFile(ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no certificate", ca)
	}
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}, nil
}
