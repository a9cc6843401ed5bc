package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/custodes/custodes/directory"
	"github.com/custodes/custodes/fileserver"
	"github.com/custodes/custodes/keyring"
	"github.com/custodes/custodes/replication"
)

// newDirectory builds the agent's directory and the client it reaches
// file servers with: signed with the cluster key, over TLS when the agent
// has it. Transfers are bounded by their client's request, not by a
// timeout here; dialling and the answer's head are bounded.
func newDirectory(node directory.Cluster, cfg Config) (*directory.Directory, *fileserver.Client, error) {
	tr := &http.Transport{
		DialContext:           (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		// Bodies are streamed in both directions: no buffering of a
		// whole file, and no compression of bytes that are hashed.
		DisableCompression: true,
		WriteBufferSize:    256 << 10,
		ReadBufferSize:     256 << 10,
	}
	scheme := "http"
	if t := cfg.Cluster.TLS; t != nil {
		tr.TLSClientConfig = t.Client()
		scheme = "https"
	}
	client := &fileserver.Client{HTTP: &http.Client{Transport: tr}, Signer: keyring.NewSigner(cfg.Cluster.Keys), Scheme: scheme, SkipReadHash: true}
	dcfg := cfg.Directory
	if g := cfg.Replication.OrphanGrace / 2; g > 0 && g < dcfg.CommitWithin {
		dcfg.CommitWithin = g
	}
	if dcfg.Logger == nil {
		dcfg.Logger = cfg.Cluster.Logger
	}
	d, err := directory.New(node, copies{client}, dcfg)
	return d, client, err
}

// newSweeper builds the leader's replication sweep over the same client.
func newSweeper(node replication.Cluster, client *fileserver.Client, cfg Config) (*replication.Sweeper, error) {
	rcfg := cfg.Replication
	if rcfg.Logger == nil {
		rcfg.Logger = cfg.Cluster.Logger
	}
	return replication.New(node, servers{client}, rcfg)
}

// servers adapts fileserver's client to what the sweep declares.
type servers struct{ c *fileserver.Client }

func (s servers) Alive(ctx context.Context, addr string) error {
	_, err := s.c.Alive(ctx, addr)
	return err
}

func (s servers) CopyTo(ctx context.Context, source, file string, version uint64, target string) (replication.CopyInfo, error) {
	info, err := s.c.CopyTo(ctx, source, file, version, target)
	return replication.CopyInfo{Size: info.Size, SHA256: info.SHA256}, err
}

func (s servers) Inventory(ctx context.Context, addr string) ([]replication.InventoryCopy, error) {
	inv, err := s.c.Inventory(ctx, addr)
	if err != nil {
		return nil, err
	}
	out := make([]replication.InventoryCopy, 0, len(inv.Copies))
	for _, c := range inv.Copies {
		out = append(out, replication.InventoryCopy{File: c.File, Version: c.Version, Size: c.Size, SHA256: c.SHA256, Corrupt: c.Corrupt, Modified: c.Modified})
	}
	return out, nil
}

func (s servers) Delete(ctx context.Context, addr, file string, version uint64) error {
	return s.c.Delete(ctx, addr, file, version)
}

// copies adapts fileserver's client to what the directory declares.
type copies struct{ c *fileserver.Client }

func (c copies) Put(ctx context.Context, addr, file string, version, fence uint64, body io.Reader) (directory.CopyInfo, error) {
	info, err := c.c.Put(ctx, addr, file, version, fence, body)
	if errors.Is(err, fileserver.ErrStaleFence) {
		err = fmt.Errorf("%w: %v", directory.ErrFenced, err)
	}
	return directory.CopyInfo{Size: info.Size, SHA256: info.SHA256}, err
}

func (c copies) Get(ctx context.Context, addr, file string, version uint64, offset int64) (io.ReadCloser, directory.CopyInfo, error) {
	rc, info, err := c.c.Get(ctx, addr, file, version, offset)
	return rc, directory.CopyInfo{Size: info.Size, SHA256: info.SHA256}, err
}

func (c copies) Delete(ctx context.Context, addr, file string, version uint64) error {
	return c.c.Delete(ctx, addr, file, version)
}

func (c copies) DeleteAll(ctx context.Context, addr, file string) error {
	return c.c.DeleteAll(ctx, addr, file)
}
