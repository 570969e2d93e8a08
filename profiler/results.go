package profiler

import (
	"fmt"
	"time"
)

// Results are kept for waiters that come after their container ended (a
// learning run asks right after its runtime exits): the newest
// MaxResults, each for ResultTTL.
const (
	MaxResults = 1024
	ResultTTL  = 10 * time.Minute
)

// keepResult stores a finished container's result and prunes old ones;
// s.mu is held.
func (s *Server) keepResult(id string, res *Result) {
	s.results[id] = res
	s.order = append(s.order, kept{id, res, time.Now()})
	for len(s.order) > 0 {
		oldest := s.order[0]
		if len(s.order) <= MaxResults && time.Since(oldest.finished) < ResultTTL {
			break
		}
		if s.results[oldest.id] == oldest.res { // not replaced by a newer run of that id
			delete(s.results, oldest.id)
		}
		s.order = s.order[1:]
	}
}

// kept is one result in the pruning order.
type kept struct {
	id       string
	res      *Result
	finished time.Time
}

func (s *Server) status(id string) (*Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.byID[id]; ok {
		st := c.stat
		return &st, nil
	}
	if r, ok := s.results[id]; ok {
		return &Status{Syscalls: r.Syscalls, Capabilities: r.Capabilities, Done: true}, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownContainer, id)
}

func (s *Server) wait(id string, gone <-chan struct{}) (*Result, error) {
	s.mu.Lock()
	c, ok := s.byID[id]
	if !ok {
		r, done := s.results[id]
		s.mu.Unlock()
		if done {
			return r, nil
		}
		return nil, fmt.Errorf("%w: %q", ErrUnknownContainer, id)
	}
	s.mu.Unlock()
	select {
	case <-c.done:
	case <-gone:
		return nil, fmt.Errorf("%w: the waiter hung up", ErrBadRequest)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if res := s.results[id]; res != nil {
		return res, nil
	}
	return nil, fmt.Errorf("%w: %q was registered again before its result was read", ErrUnknownContainer, id)
}
