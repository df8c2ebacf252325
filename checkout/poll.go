package checkout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/starsgate/starsgate/botapi"
)

// Defaults of PollConfig.
const (
	DefaultPollTimeout  = 30 * time.Second
	DefaultPollRetryMin = time.Second
	DefaultPollRetryMax = time.Minute
	maxPollTimeout      = 50 * time.Second // Telegram's cap
)

// PollConfig configures Poll.
type PollConfig struct {
	// Timeout is the long-poll wait of one getUpdates call, in whole
	// seconds, at most 50 (Telegram's cap).
	// Optional. Default value 30s.
	Timeout time.Duration
	// Limit is the number of updates fetched per call, 1-100.
	// Optional. Default value 100.
	Limit int
	// RetryMin and RetryMax bound the wait after a failure (getUpdates
	// failed, or an update failed transiently); it doubles from RetryMin.
	// Optional. Default values 1s and 1m.
	RetryMin, RetryMax time.Duration
	// ExtraAllowedUpdates are update kinds OnUpdate wants beyond
	// AllowedUpdates.
	// Optional. Default value none.
	ExtraAllowedUpdates []string
}

func (c *PollConfig) defaults() error {
	if c.Timeout < 0 || c.Timeout > maxPollTimeout || c.Limit < 0 || c.Limit > 100 ||
		c.RetryMin < 0 || c.RetryMax < 0 || (c.RetryMax > 0 && c.RetryMin > c.RetryMax) {
		return fmt.Errorf("%w: PollConfig out of range", ErrInvalidConfig)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultPollTimeout
	}
	if c.Limit == 0 {
		c.Limit = 100
	}
	if c.RetryMin == 0 {
		c.RetryMin = DefaultPollRetryMin
	}
	if c.RetryMax == 0 {
		c.RetryMax = max(DefaultPollRetryMax, c.RetryMin)
	}
	return nil
}

// Poll fetches updates with getUpdates (long polling) and processes them in
// order until ctx ends, then confirms what it processed and returns nil. It
// is for development without a public URL; it fails with a 409 from
// Telegram while a webhook is set, and only one poller may run per bot.
//
// An update is confirmed (the offset moves past it) once processed; an
// update that fails transiently is retried, with backoff, before any later
// one, so none is lost or reordered.
func (p *Processor) Poll(ctx context.Context, cfg PollConfig) error {
	if err := cfg.defaults(); err != nil {
		return err
	}
	params := botapi.GetUpdatesParams{
		Limit: cfg.Limit, Timeout: int(cfg.Timeout / time.Second), AllowedUpdates: allowed(cfg.ExtraAllowedUpdates),
	}
	defer p.confirm(ctx, &params)
	wait := time.Duration(0)
	for {
		if wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		updates, err := p.cfg.Bot.GetUpdates(ctx, params)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if retry, ok := botapi.RetryAfter(err); ok {
				wait = retry
			} else {
				wait = backoff(wait, cfg)
			}
			p.log.WarnContext(ctx, "checkout: getUpdates failed", slog.String("error", err.Error()),
				slog.Duration("retry_in", wait))
			continue
		}
		wait = 0
		for _, u := range updates {
			if ctx.Err() != nil {
				return nil // the rest of the batch comes again next time
			}
			if err := p.ProcessUpdate(ctx, u); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				wait = backoff(wait, cfg)
				p.log.WarnContext(ctx, "checkout: update failed; retrying it", slog.Int64("update_id", u.UpdateID),
					slog.String("error", err.Error()), slog.Duration("retry_in", wait))
				break
			}
			params.Offset = u.UpdateID + 1
		}
	}
}

// confirm tells Telegram which updates were processed, so that the next
// run does not get them again.
func (p *Processor) confirm(ctx context.Context, params *botapi.GetUpdatesParams) {
	if params.Offset == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	_, err := p.cfg.Bot.GetUpdates(ctx, botapi.GetUpdatesParams{Offset: params.Offset, Limit: 1, AllowedUpdates: params.AllowedUpdates})
	if err != nil && !errors.Is(err, context.Canceled) {
		p.log.WarnContext(ctx, "checkout: could not confirm the last updates; they will be processed again (idempotently)",
			slog.String("error", err.Error()))
	}
}

// backoff doubles the previous wait within [RetryMin, RetryMax].
func backoff(prev time.Duration, cfg PollConfig) time.Duration {
	return min(max(2*prev, cfg.RetryMin), cfg.RetryMax)
}
