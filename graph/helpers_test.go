package graph_test

// The fake Graph API, its token and request checks are in internal/graphtest.
const (
	// testSecret is distinctive: tests assert it never shows up in error
	// text (nor does graphtest.Token).
	testSecret = "appSECRET-7Hq2Lw-never-print-me"

	pnID   = "106540352242922"
	wabaID = "102290129340398"
)
