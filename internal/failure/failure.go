// Package failure declares the kinds of failure a tool call can end in, so
// every package that classifies an error (graph, tools, and the transports
// that map a kind to a status code) names the same values without importing
// one another. It imports nothing of the project.
package failure

// Kind classifies a failure.
type Kind string

// Failure kinds.
const (
	InvalidInput   Kind = "invalid_input"   // nothing was sent
	API            Kind = "api_error"       // the Graph API answered an error
	OutcomeUnknown Kind = "outcome_unknown" // a write may have been processed
	Unavailable    Kind = "unavailable"     // the API or the store could not be reached
	Failed         Kind = "failed"          // anything else (configuration, internal)
)
