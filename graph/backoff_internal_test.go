package graph

import (
	"errors"
	"testing"
	"time"
)

// TestBackoffBounds: exponential from BaseDelay, capped at MaxDelay, with
// jitter in [d/2, d); the pair-rate code 131056 waits 1, 4, 16 s (capped).
func TestBackoffBounds(t *testing.T) {
	c := &Client{retry: RetryPolicy{MaxAttempts: 10, BaseDelay: 100 * time.Millisecond, MaxDelay: 2 * time.Second}}
	plain := errors.New("x")
	pair := &Error{Code: CodePairRateLimit}
	tests := []struct {
		attempt int
		err     error
		full    time.Duration
	}{
		{1, plain, 100 * time.Millisecond},
		{2, plain, 200 * time.Millisecond},
		{3, plain, 400 * time.Millisecond},
		{5, plain, 1600 * time.Millisecond},
		{6, plain, 2 * time.Second},  // capped
		{60, plain, 2 * time.Second}, // shift overflow still capped
		{1, pair, time.Second},
		{2, pair, 2 * time.Second}, // 4 s capped at MaxDelay
	}
	for _, tt := range tests {
		for i := 0; i < 50; i++ {
			d := c.backoff(tt.attempt, tt.err)
			if d < tt.full/2 || d >= tt.full {
				t.Fatalf("attempt %d (%v): delay %v outside [%v, %v)", tt.attempt, tt.err, d, tt.full/2, tt.full)
			}
		}
	}
	c.retry.MaxDelay = time.Minute
	for attempt, want := range map[int]time.Duration{1: time.Second, 2: 4 * time.Second, 3: 16 * time.Second} {
		if d := c.backoff(attempt, pair); d < want/2 || d >= want {
			t.Errorf("131056 attempt %d: %v, want in [%v, %v)", attempt, d, want/2, want)
		}
	}
}

func TestRetryable(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		read, write bool
	}{
		{"throttled", &Error{Code: CodeThroughput, HTTPStatus: 400}, true, true},
		{"5xx", &Error{Code: 131000, HTTPStatus: 500}, true, false},
		{"transient", &Error{Code: 1, HTTPStatus: 400, IsTransient: true}, true, false},
		{"bad parameter", &Error{Code: 100, HTTPStatus: 400}, false, false},
		{"reengagement", &Error{Code: CodeReengagement, HTTPStatus: 400}, false, false},
		{"network, not sent", &NetworkError{NotSent: true, Err: errors.New("refused")}, true, true},
		{"network, maybe sent", &NetworkError{NotSent: false, Err: errors.New("EOF")}, true, false},
		// Only writes produce OutcomeUnknownError; what matters is the write.
		{"outcome unknown", &OutcomeUnknownError{Err: &NetworkError{Err: errors.New("EOF")}}, true, false},
		{"other", errors.New("decode"), false, false},
	}
	for _, tt := range tests {
		if got := retryable(tt.err, true); got != tt.read {
			t.Errorf("%s: retryable(read) = %v, want %v", tt.name, got, tt.read)
		}
		if got := retryable(tt.err, false); got != tt.write {
			t.Errorf("%s: retryable(write) = %v, want %v", tt.name, got, tt.write)
		}
	}
}
