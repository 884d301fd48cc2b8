package server

// Subscribers is the number of sessions of s with a resource subscription.
func Subscribers(s *Server) int {
	if s.res == nil || s.res.subs == nil {
		return 0
	}
	return s.res.subs.count()
}
