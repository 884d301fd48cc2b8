package tools_test

import (
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/catalog"
	"github.com/whatsapp-mcp/whatsapp-mcp/tools"
)

// BenchmarkCheckInput: what a tool call spends on its input before the
// handler runs (strict decode, the declaration's Prepare with the default
// phone policy, the validator tags and Check), per tool of the catalog, on
// its documented example.
//
//	go test -run '^$' -bench CheckInput -benchmem ./tools/
func BenchmarkCheckInput(b *testing.B) {
	for _, tl := range catalog.Declarations() {
		if len(tl.Example) == 0 {
			continue
		}
		b.Run(tl.Name, func(b *testing.B) {
			if err := tools.CheckInput(b.Context(), tl, tl.Example); err != nil {
				b.Fatalf("the example is refused: %v", err)
			}
			b.ReportAllocs()
			for b.Loop() {
				_ = tools.CheckInput(b.Context(), tl, tl.Example)
			}
		})
	}
}
