package fileserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
)

// Verify re-reads one copy to its end, checking every chunk's CRC-32C and
// then the whole SHA-256 against its meta. A bad copy is marked corrupt
// (it is never served again) and an error wrapping ErrCorrupt returned,
// with info.Corrupt set; a copy marked corrupt before is not re-read.
// pace, if not nil, is called with the size of every chunk read (rate
// limiting); its error stops the check.
func (s *Store) Verify(ctx context.Context, file string, version uint64, pace func(ctx context.Context, n int) error) (CopyInfo, error) {
	r, info, err := s.Get(file, version, 0)
	if err != nil {
		if errors.Is(err, ErrCorrupt) {
			info.Corrupt = true
		}
		return info, err
	}
	defer r.Close()
	h := sha256.New()
	buf := make([]byte, ChunkSize)
	for {
		if err := ctx.Err(); err != nil {
			return info, err
		}
		n, rerr := r.Read(buf)
		h.Write(buf[:n])
		if pace != nil && n > 0 {
			if err := pace(ctx, n); err != nil {
				return info, err
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			if errors.Is(rerr, ErrCorrupt) {
				info.Corrupt = true
			}
			return info, rerr
		}
	}
	if sum := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(sum, info.SHA256) {
		s.markCorrupt(file, version, r.fi)
		info.Corrupt = true
		return info, fmt.Errorf("%w: %s version %d: SHA-256 %s, meta says %s", ErrCorrupt, file, version, sum, info.SHA256)
	}
	return info, nil
}

// ScrubResult is what one scrub of the store found.
type ScrubResult struct {
	Started time.Time     `json:"started"`
	Took    time.Duration `json:"took"`
	// Copies is the number of copies re-read (good or found bad), Bytes
	// their bytes read.
	Copies int   `json:"copies"`
	Bytes  int64 `json:"bytes"`
	// Corrupt is the number of copies this scrub found bad (and marked).
	Corrupt int `json:"corrupt"`
	// AlreadyCorrupt is the number of copies marked corrupt before (not
	// re-read).
	AlreadyCorrupt int `json:"already_corrupt"`
	// Errors is the number of copies that could not be read for another
	// reason (an I/O error; not a copy deleted meanwhile).
	Errors int `json:"errors"`
}

// pacer spreads reads over time: at most rate bytes a second on average
// since start (rate ≤ 0: no limit).
type pacer struct {
	rate  int64
	start time.Time
	bytes int64
}

func (p *pacer) wait(ctx context.Context, n int) error {
	p.bytes += int64(n)
	if p.rate <= 0 {
		return nil
	}
	due := p.start.Add(time.Duration(float64(p.bytes) / float64(p.rate) * float64(time.Second)))
	d := time.Until(due)
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Scrub re-reads every copy of the store (Verify), at most rate bytes a
// second (rate ≤ 0: as fast as the disk goes), logging each bad copy. It
// stops early, with the result so far and ctx's error, when ctx ends.
func (s *Store) Scrub(ctx context.Context, rate int64, log *slog.Logger) (ScrubResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	res := ScrubResult{Started: time.Now()}
	copies, err := s.Inventory()
	if err != nil {
		res.Took = time.Since(res.Started)
		return res, err
	}
	p := &pacer{rate: rate, start: time.Now()}
	for _, c := range copies {
		if c.Corrupt {
			res.AlreadyCorrupt++
			continue
		}
		before := p.bytes
		info, err := s.Verify(ctx, c.File, c.Version, p.wait)
		res.Bytes += p.bytes - before
		switch {
		case err == nil:
			res.Copies++
		case ctx.Err() != nil:
			res.Took = time.Since(res.Started)
			return res, ctx.Err()
		case errors.Is(err, ErrNotFound):
			// Deleted since the inventory was read.
		case errors.Is(err, ErrCorrupt):
			res.Copies++
			res.Corrupt++
			log.Error("scrub: copy corrupt; it will not be served", "file", c.File, "version", c.Version, "size", info.Size, "err", err)
		default:
			res.Errors++
			log.Warn("scrub: copy unreadable", "file", c.File, "version", c.Version, "err", err)
		}
	}
	res.Took = time.Since(res.Started)
	return res, nil
}

// ScrubStats counts the scrubs of a running server.
type ScrubStats struct {
	// Runs is the number of scrubs started (finished or stopped early).
	Runs int64 `json:"runs"`
	// Copies, Bytes and Corrupt add up every run's.
	Copies  int64 `json:"copies"`
	Bytes   int64 `json:"bytes"`
	Corrupt int64 `json:"corrupt"`
	// Last is the latest run's result (zero before the first).
	Last ScrubResult `json:"last"`
}

// ScrubNow scrubs the store at once (waiting for a scrub under way to
// end first), at Config.ScrubRate, and adds the run to ScrubStats. It
// stops early when ctx ends or the server stops.
func (s *Server) ScrubNow(ctx context.Context) (ScrubResult, error) {
	s.scrubMu.Lock()
	defer s.scrubMu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	res, err := s.store.Scrub(ctx, s.cfg.ScrubRate, s.log)
	s.statsMu.Lock()
	s.scrubStats.Runs++
	s.scrubStats.Copies += int64(res.Copies)
	s.scrubStats.Bytes += res.Bytes
	s.scrubStats.Corrupt += int64(res.Corrupt)
	s.scrubStats.Last = res
	s.statsMu.Unlock()
	level := slog.LevelInfo
	if res.Corrupt > 0 || res.Errors > 0 {
		level = slog.LevelWarn
	}
	s.log.Log(ctx, level, "scrub done", "copies", res.Copies, "bytes", res.Bytes, "corrupt", res.Corrupt,
		"already_corrupt", res.AlreadyCorrupt, "errors", res.Errors, "took", res.Took, "err", err)
	return res, err
}

// ScrubStats returns the counts of this run's scrubs.
func (s *Server) ScrubStats() ScrubStats {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	return s.scrubStats
}

// scrubLoop scrubs every Config.ScrubInterval until the server stops.
func (s *Server) scrubLoop() {
	t := time.NewTicker(s.cfg.ScrubInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_, _ = s.ScrubNow(context.Background())
		}
	}
}
