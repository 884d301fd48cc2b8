package sandbox

import (
	"net/http"
	"time"

	"golang.org/x/time/rate"
)

// Meta limits how fast a business number sends (docs/cloud-api.md#throughput-and-pair-rate):
//   - throughput: messages per second per business number (80 by default, up to 1,000);
//     past it a send is refused with 130429 "Rate limit hit";
//   - pair rate: messages from one business number to one customer, about one every 6
//     seconds, with bursts (up to 45) borrowed from the quota that follows; past it a send
//     is refused with 131056.
//
// Meta does not say how it measures either. The sandbox reads both as token buckets, the
// shape a client paces with (golang.org/x/time/rate): throughput refills MessagesPerSecond
// tokens a second and holds as many; the pair rate refills one token every PairRate and
// holds PairBurst (Meta's 45 when 0). A client that sends at most MessagesPerSecond a second
// in bursts of at most as many, and at most PairBurst to one customer then one every
// PairRate, is never refused. A refused send is not sent and takes no token.

// DefaultPairBurst is Meta's burst of messages to one customer (Config.PairBurst 0).
const DefaultPairBurst = 45

// sendLimits are the buckets of Config's limits, made on first use. Guarded by s.mu.
type sendLimits struct {
	numbers map[string]*rate.Limiter    // by phone number id
	pairs   map[[2]string]*rate.Limiter // by phone number id and wa_id
}

// admitSend is validateSend, then Meta's send limits: an invalid send gets its error first,
// and a valid one past a limit is refused without being sent. Caller holds s.mu.
func (s *Sandbox) admitSend(phone *phoneNumber, body map[string]any, now time.Time) (*sendInfo, *apiError) {
	info, e := s.validateSend(phone, body, now)
	if e != nil {
		return nil, e
	}
	return info, s.limitSendLocked(phone.id, info.waID, now)
}

// limitSendLocked takes a token of the sender's throughput and of the pair, or neither
// when one of them has none left. Caller holds s.mu.
func (s *Sandbox) limitSendLocked(phoneID, waID string, now time.Time) *apiError {
	l := &s.limits
	var number, pair *rate.Limiter
	if n := s.cfg.MessagesPerSecond; n > 0 {
		if l.numbers == nil {
			l.numbers = map[string]*rate.Limiter{}
		}
		if number = l.numbers[phoneID]; number == nil {
			number = rate.NewLimiter(rate.Limit(n), n)
			l.numbers[phoneID] = number
		}
		if number.TokensAt(now) < 1 {
			return errThroughput()
		}
	}
	if every := s.cfg.PairRate; every > 0 {
		if l.pairs == nil {
			l.pairs = map[[2]string]*rate.Limiter{}
		}
		key := [2]string{phoneID, waID}
		if pair = l.pairs[key]; pair == nil {
			burst := s.cfg.PairBurst
			if burst <= 0 {
				burst = DefaultPairBurst
			}
			pair = rate.NewLimiter(rate.Every(every), burst)
			l.pairs[key] = pair
		}
		if pair.TokensAt(now) < 1 {
			return errMsg(http.StatusBadRequest, 131056, "(Business Account, Consumer Account) pair rate limit hit",
				"Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.")
		}
	}
	if number != nil {
		number.AllowN(now, 1)
	}
	if pair != nil {
		pair.AllowN(now, 1)
	}
	return nil
}

// errThroughput is Meta's answer to a request past the number's throughput (also what
// Faults.ThrottleRate answers).
func errThroughput() *apiError {
	e := errMsg(http.StatusBadRequest, 130429, "Rate limit hit", "Cloud API message throughput has been reached.")
	e.subcode = 2494055
	return e
}

// SentCount returns how many outbound messages the sandbox accepted.
func (s *Sandbox) SentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.st.sent)
}

// SentTo returns how many outbound messages the sandbox accepted for the customer number
// (any format: its digits are compared with each send's wa_id).
func (s *Sandbox) SentTo(number string) int {
	d := digitsOnly(number)
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for i := range s.st.sent {
		if s.st.sent[i].WaID == d {
			n++
		}
	}
	return n
}

// SentPerRecipient returns, by wa_id, how many outbound messages the sandbox accepted for
// each customer: the check that no one got a message twice, in one pass.
func (s *Sandbox) SentPerRecipient() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for i := range s.st.sent {
		out[s.st.sent[i].WaID]++
	}
	return out
}
