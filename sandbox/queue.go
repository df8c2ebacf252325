package sandbox

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/starsgate/starsgate/botapi"
)

// Status is where an update is in its delivery.
type Status string

// Update statuses.
const (
	// StatusPending: queued, not yet delivered or confirmed.
	StatusPending Status = "pending"
	// StatusDelivered: the webhook answered 2xx.
	StatusDelivered Status = "delivered"
	// StatusConfirmed: getUpdates returned it and a later call confirmed it
	// with a higher offset.
	StatusConfirmed Status = "confirmed"
	// StatusDropped: never delivered (expired, dropped with
	// drop_pending_updates, or not in allowed_updates).
	StatusDropped Status = "dropped"
)

// Attempt is one delivery of an update: a webhook request or a getUpdates
// answer that included it.
type Attempt struct {
	// At is the sandbox time of the attempt.
	At time.Time `json:"at"`
	// Via is "webhook" or "getUpdates".
	Via string `json:"via"`
	// Wait is how long delivery waited before this attempt (the backoff or
	// Retry-After); 0 for the first attempt (but for a payment held back
	// by PayOptions.DeliveryDelay) and the immediate retry.
	Wait time.Duration `json:"wait"`
	// StatusCode is the webhook's HTTP status; 0 when there was no answer
	// or for getUpdates.
	StatusCode int `json:"status_code,omitempty"`
	// Error describes a failed attempt.
	Error string `json:"error,omitempty"`
}

// UpdateRecord is the history of one update the sandbox produced.
type UpdateRecord struct {
	Update   botapi.Update `json:"update"`
	Kind     string        `json:"kind"`
	Status   Status        `json:"status"`
	Reason   string        `json:"reason,omitempty"` // why it was dropped
	Created  time.Time     `json:"created"`
	Attempts []Attempt     `json:"attempts"`
}

// entry is a queued or finished update.
type entry struct {
	id      int64
	kind    string
	key     int64 // delivery queue: the user's id
	body    []byte
	created time.Time
	expires time.Time
	// notBefore (wall clock) holds delivery back until then
	// (PayOptions.DeliveryDelay); zero: deliver at once.
	notBefore time.Time
	status    Status
	reason    string
	attempts  []Attempt
}

// defaultDenied are the kinds not delivered unless asked for by name.
var defaultDenied = map[string]bool{"chat_member": true, "message_reaction": true, "message_reaction_count": true}

func (s *Server) allowedLocked(kind string) bool {
	if s.allowed == nil {
		return !defaultDenied[kind]
	}
	return s.allowed[kind]
}

// setAllowedLocked applies an allowed_updates list; an empty list restores
// the default set.
func (s *Server) setAllowedLocked(list []string) {
	if len(list) == 0 {
		s.allowed = nil
		return
	}
	s.allowed = map[string]bool{}
	for _, k := range list {
		s.allowed[k] = true
	}
}

// enqueueLocked records a new update and queues it for delivery (or drops
// it when its kind is not allowed). It returns the update id.
func (s *Server) enqueueLocked(kind string, key int64, u botapi.Update) int64 {
	u.UpdateID = s.nextUpdate
	s.nextUpdate++
	body, err := json.Marshal(u)
	if err != nil { // botapi types always encode; keep the record anyway
		body = []byte(`{"update_id":` + jsonInt(u.UpdateID) + `}`)
	}
	now := s.nowLocked()
	life := updateLifetime
	if kind == botapi.KindPreCheckoutQuery {
		life = preCheckoutLifetime
	}
	e := &entry{id: u.UpdateID, kind: kind, key: key, body: body, created: now, expires: now.Add(life), status: StatusPending}
	s.records = append(s.records, e)
	s.byID[e.id] = e
	s.trimRecordsLocked()
	if !s.allowedLocked(kind) {
		e.status, e.reason = StatusDropped, "not in allowed_updates"
		return e.id
	}
	s.pending = append(s.pending, e)
	s.notifyLocked()
	if s.webhook != nil && !s.closed {
		s.startWorkerLocked(s.webhook, key)
	}
	return e.id
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// trimRecordsLocked forgets the oldest finished records beyond maxRecords.
func (s *Server) trimRecordsLocked() {
	n := 0
	for len(s.records)-n > maxRecords && s.records[n].status != StatusPending {
		delete(s.byID, s.records[n].id)
		n++
	}
	if n > 0 {
		s.records = slices.Delete(s.records, 0, n)
	}
}

// notifyLocked wakes everyone waiting for a change of the queue.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// finishLocked takes e off the queue with its final status.
func (s *Server) finishLocked(e *entry, st Status, reason string) {
	if e.status != StatusPending {
		return
	}
	e.status, e.reason = st, reason
	if i := slices.Index(s.pending, e); i >= 0 {
		s.pending = slices.Delete(s.pending, i, i+1)
	}
	s.notifyLocked()
}

// dropExpiredLocked drops queued updates whose lifetime has ended.
func (s *Server) dropExpiredLocked() {
	now := s.nowLocked()
	for _, e := range slices.Clone(s.pending) {
		if !now.Before(e.expires) {
			s.finishLocked(e, StatusDropped, "expired")
		}
	}
}

// dropPendingLocked implements drop_pending_updates.
func (s *Server) dropPendingLocked() {
	for _, e := range slices.Clone(s.pending) {
		s.finishLocked(e, StatusDropped, "drop_pending_updates")
	}
}

func (e *entry) record() UpdateRecord {
	r := UpdateRecord{
		Kind:     e.kind,
		Status:   e.status,
		Reason:   e.reason,
		Created:  e.created,
		Attempts: slices.Clone(e.attempts),
	}
	if u, err := botapi.DecodeUpdate(e.body); err == nil { // a fresh copy the caller may keep
		r.Update = u
	}
	if r.Attempts == nil {
		r.Attempts = []Attempt{}
	}
	return r
}

// Updates returns the record of every update produced (the most recent
// 10000 finished ones at most), oldest first.
func (s *Server) Updates() []UpdateRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]UpdateRecord, 0, len(s.records))
	for _, e := range s.records {
		out = append(out, e.record())
	}
	return out
}

// Update returns the record of one update.
func (s *Server) Update(updateID int64) (UpdateRecord, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[updateID]
	if !ok {
		return UpdateRecord{}, false
	}
	return e.record(), true
}

// Pending is the number of queued updates.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// WaitIdle waits until no update is queued: every update was delivered to
// the webhook, confirmed through getUpdates, or dropped.
func (s *Server) WaitIdle(ctx context.Context) error {
	for {
		s.mu.Lock()
		if len(s.pending) == 0 {
			s.mu.Unlock()
			return nil
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ctx.Done():
			return ErrClosed
		}
	}
}

// getUpdates implements the long-polling method.
func (s *Server) getUpdates(ctx context.Context, p params) (any, *apiError) {
	allowed, hasAllowed, err := p.stringList("allowed_updates")
	if err != nil {
		return nil, badRequest("can't parse allowed updates JSON object")
	}
	offset := p.int("offset")
	limit := clamp(p.int("limit"), 1, 100, 100)
	timeout := clamp(p.int("timeout"), 0, longPollMax, 0)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook != nil {
		return nil, &apiError{409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
	}
	if hasAllowed {
		s.setAllowedLocked(allowed)
	}
	s.confirmLocked(offset)
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked() // a poll already waiting ends with a conflict
	deadline := time.NewTimer(time.Duration(timeout) * time.Second)
	defer deadline.Stop()
	var ready []*entry
	for {
		s.dropExpiredLocked()
		var due time.Time
		ready, due = s.readyLocked()
		if len(ready) > 0 || timeout == 0 {
			break
		}
		ch := s.changed
		s.mu.Unlock()
		held := time.NewTimer(time.Hour) // until a held update is due
		if !due.IsZero() {
			held.Reset(time.Until(due))
		}
		select {
		case <-ch:
		case <-held.C:
		case <-deadline.C:
			timeout = 0
		case <-ctx.Done():
			timeout = 0
		case <-s.ctx.Done():
			timeout = 0
		}
		held.Stop()
		s.mu.Lock()
		if s.pollGen != gen {
			return nil, &apiError{409, "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		}
		if s.webhook != nil {
			return nil, &apiError{409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
		}
	}
	n := min(len(ready), int(limit))
	out := make([]json.RawMessage, 0, n)
	now := s.nowLocked()
	for _, e := range ready[:n] {
		e.attempts = append(e.attempts, Attempt{At: now, Via: "getUpdates"})
		out = append(out, e.body)
	}
	return out, nil
}

// readyLocked returns the queued updates getUpdates may hand out: all of
// them up to the first one held back (PayOptions.DeliveryDelay), since
// updates go out in order and an offset confirms everything below it; and
// when that held one is due (zero when none is held).
func (s *Server) readyLocked() (ready []*entry, due time.Time) {
	now := time.Now()
	for i, e := range s.pending {
		if e.notBefore.After(now) {
			return s.pending[:i], e.notBefore
		}
	}
	return s.pending, time.Time{}
}

// confirmLocked applies a getUpdates offset: a positive one confirms every
// update below it; a negative one keeps only the last -offset updates.
func (s *Server) confirmLocked(offset int64) {
	switch {
	case offset > 0:
		for _, e := range slices.Clone(s.pending) {
			if e.id < offset {
				s.finishLocked(e, StatusConfirmed, "")
			}
		}
	case offset < 0:
		keep := int(min(-offset, int64(len(s.pending))))
		for _, e := range slices.Clone(s.pending[:len(s.pending)-keep]) {
			s.finishLocked(e, StatusConfirmed, "forgotten by a negative offset")
		}
	}
}

// clamp bounds v to [lo, hi]; def replaces a 0 (absent) value.
func clamp(v, lo, hi, def int64) int64 {
	if v == 0 {
		v = def
	}
	return min(max(v, lo), hi)
}
