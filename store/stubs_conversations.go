package store

import (
	"context"
	"errors"
	"time"
)

// Placeholders until the conversation store lands; the store helper replaces this file.
var errTODO = errors.New("store: not implemented yet")

func (s *sqlStore) Inbound(ctx context.Context, q InboundQuery) ([]Message, int64, error) {
	return nil, q.After, errTODO
}
func (s *sqlStore) Conversations(ctx context.Context, q ConversationQuery) ([]Conversation, error) {
	return nil, errTODO
}
func (s *sqlStore) Conversation(ctx context.Context, phoneNumberID, customer string) (Conversation, bool, error) {
	return Conversation{}, false, errTODO
}
func (s *sqlStore) Messages(ctx context.Context, q HistoryQuery) ([]Message, error) { return nil, errTODO }
func (s *sqlStore) Search(ctx context.Context, q SearchQuery) ([]Message, error)     { return nil, errTODO }
func (s *sqlStore) MarkRead(ctx context.Context, phoneNumberID, messageID string) (Conversation, bool, error) {
	return Conversation{}, false, errTODO
}
func (s *sqlStore) Changes(ctx context.Context, q ChangeQuery) ([]Change, error) { return nil, errTODO }
func (s *sqlStore) LatestChange(ctx context.Context, field, subject string) (Change, bool, error) {
	return Change{}, false, errTODO
}
func (s *sqlStore) Listen(fn func(Notice)) func() { return func() {} }
func (s *sqlStore) Prune(ctx context.Context, cutoff time.Time) (Pruned, error) {
	return Pruned{}, errTODO
}
