package tools

import (
	"context"
	"encoding/json"
)

// CheckInput runs the input half of t.Call (decode, Prepare, validate)
// without the handler, for the benchmarks of tools_test.
func CheckInput(ctx context.Context, t Tool, args json.RawMessage) error { return t.check(ctx, args) }

// CheckUncached is PhonePolicy.Check without its memory of verdicts.
func (p PhonePolicy) CheckUncached(s string) PhoneCheck { return p.check(s) }

// RememberedPhones is how many verdicts Check holds.
func RememberedPhones() int {
	phoneVerdicts.mu.Lock()
	defer phoneVerdicts.mu.Unlock()
	return len(phoneVerdicts.young) + len(phoneVerdicts.old)
}
