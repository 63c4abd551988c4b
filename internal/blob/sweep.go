package blob

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Uncommitted blocks that a commit did not name are discarded (Azure's
// rule) by the staged-before-committed test, but their records and data
// stay until swept: SweepStaged deletes every staged block whose blob was
// put or committed after it, or that is older than StagedTTL (Azure
// drops uncommitted blocks after a week). A container is swept at most
// every sweepEvery, in the background, after a commit or put there.

// StagedTTL is how long an uncommitted block is kept with no commit.
const StagedTTL = 7 * 24 * time.Hour

const sweepEvery = 10 * time.Minute

// SweepStaged deletes discarded uncommitted blocks of a container and
// returns how many.
func (s *Service) SweepStaged(ctx context.Context, app, container string) (int, error) {
	st, _, _, err := s.container(ctx, app, container)
	if err == nil {
		err = st.writable()
	}
	if err != nil {
		return 0, err
	}
	infos, err := st.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("sweep %s/%s: %w", app, container, err)
	}
	committed := map[string]time.Time{}
	var staged []*jetstream.ObjectInfo
	for _, info := range infos {
		if name, ok := strings.CutPrefix(info.Name, "b/"); ok {
			var b Blob
			if json.Unmarshal([]byte(info.Metadata[recordKey]), &b) == nil {
				committed[name] = b.Committed
			}
		} else if strings.HasPrefix(info.Name, "u/") {
			staged = append(staged, info)
		}
	}
	return s.dropStaged(ctx, st, staged, committed)
}

func (s *Service) dropStaged(ctx context.Context, st store, staged []*jetstream.ObjectInfo, committed map[string]time.Time) (int, error) {
	cutoff := s.clock.Now().Add(-StagedTTL)
	n := 0
	for _, info := range staged {
		blob, _, _ := strings.Cut(strings.TrimPrefix(info.Name, "u/"), "\x00")
		dropped, err := s.dropOneStaged(ctx, st, info.Name, func(sb stagedBlock) bool {
			return sb.Staged.Before(cutoff) || sb.Staged.Before(committed[blob])
		})
		if err != nil {
			return n, err
		}
		if dropped {
			n++
		}
	}
	return n, nil
}

// dropOneStaged deletes a staged block's record if, as stored now, it is
// discarded, with compare-and-set on the record's sequence: a block
// staged again under the same id after the listing (a new upload reusing
// it) is a new record and is kept.
func (s *Service) dropOneStaged(ctx context.Context, st store, object string, discarded func(stagedBlock) bool) (bool, error) {
	var sb stagedBlock
	seq, ok, err := s.readRecord(ctx, st, object, &sb)
	if err != nil {
		return false, fmt.Errorf("sweep %s: %w", object, err)
	}
	if !ok || !discarded(sb) {
		return false, nil // gone, or may still be committed
	}
	if err := s.deleteRecord(ctx, st, object, seq); err != nil {
		if errors.Is(err, ErrPrecondition) {
			return false, nil // staged again meanwhile
		}
		return false, fmt.Errorf("sweep %s: %w", object, err)
	}
	s.dropData(ctx, st, sb.Parts)
	return true, nil
}

// maybeSweep starts a background sweep of the container unless one ran
// in the last sweepEvery.
func (s *Service) maybeSweep(app, container, bucket string) {
	now := s.clock.Now()
	s.mu.Lock()
	if last, ok := s.swept[bucket]; ok && now.Sub(last) < sweepEvery {
		s.mu.Unlock()
		return
	}
	s.swept[bucket] = now
	s.mu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if n, err := s.SweepStaged(ctx, app, container); err != nil {
			s.log.Warn("sweep of uncommitted blocks failed", "bucket", bucket, "err", err)
		} else if n > 0 {
			s.log.Info("uncommitted blocks discarded", "bucket", bucket, "blocks", n)
		}
	}()
}
