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
)

// newDirectory builds the agent's directory and the client it reaches
// file servers with: signed with the cluster key, over TLS when the agent
// has it. Transfers are bounded by their client's request, not by a
// timeout here; dialling and the answer's head are bounded.
func newDirectory(node directory.Cluster, cfg Config) (*directory.Directory, error) {
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
	if dcfg.Logger == nil {
		dcfg.Logger = cfg.Cluster.Logger
	}
	return directory.New(node, copies{client}, dcfg)
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
