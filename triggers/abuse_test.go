package triggers_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/whatsapp-mcp/whatsapp-mcp/internal/cloudapi"
	"github.com/whatsapp-mcp/whatsapp-mcp/store"
	"github.com/whatsapp-mcp/whatsapp-mcp/triggers"
)

// abuseBody is one delivery carrying two statuses and an inbound message of
// one change, and a template change: everything Save deduplicates.
var abuseBody = []byte(`{"object":"whatsapp_business_account","entry":[{"id":"` + whWABA + `","changes":[` +
	`{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"` + whPhone + `"},` +
	`"contacts":[{"profile":{"name":"Replay"},"wa_id":"16505551234"}],` +
	`"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBJBQlVTRVJFUExBWQA=","timestamp":"1750030100","type":"text","text":{"body":"again"}}],` +
	`"statuses":[{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQlVTRTEA","status":"sent","timestamp":"1750030073","recipient_id":"16505551234"},` +
	`{"id":"wamid.HBgLMTY1MDU1NTEyMzQVAgARGBJBQlVTRTEA","status":"delivered","timestamp":"1750030075","recipient_id":"16505551234"}]}},` +
	`{"field":"message_template_status_update","value":{"event":"APPROVED","message_template_id":4242,"message_template_name":"abuse","message_template_language":"en_US","reason":"NONE"}}` +
	`]}]}`)

// abuseCounts reads back how many statuses, inbound messages and changes
// the store holds.
func abuseCounts(t *testing.T, st store.Store) (statuses, inbound, changes int) {
	t.Helper()
	ctx := context.Background()
	evs, _, err := st.Statuses(ctx, store.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	in, _, err := st.Inbound(ctx, store.InboundQuery{PhoneNumberID: whPhone, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	chs, err := st.Changes(ctx, store.ChangeQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return len(evs), len(in), len(chs)
}

// The same signed body replayed 100 times in sequence, then 100 times at
// once, over loopback HTTP, is answered 200 every time and stored once:
// two statuses, one inbound message, one change; and the deliveries say
// so (one accepted with two new statuses and one new message, the rest
// duplicates or, as they carry a change, accepted with nothing new).
func TestAbuseReplayStoredOnce(t *testing.T) {
	fxEngines(t, func(t *testing.T, open func(t *testing.T) store.Store) {
		var (
			mu                  sync.Mutex
			newStatuses, newIn  int
			withNews, delivered int
		)
		env := whNew(t, open(t), func(c *triggers.WebhookConfig) {
			c.OnDelivery = func(d triggers.Delivery) {
				mu.Lock()
				defer mu.Unlock()
				delivered++
				newStatuses += d.NewStatuses
				newIn += d.NewInbound
				if d.NewStatuses+d.NewInbound > 0 {
					withNews++
				}
			}
		})
		srv := httptest.NewServer(env.h)
		defer srv.Close()
		sig := cloudapi.SignWebhook(whSecret, abuseBody)
		post := func() error {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", bytes.NewReader(abuseBody))
			req.Header.Set(cloudapi.SignatureHeader, sig)
			resp, err := srv.Client().Do(req)
			if err != nil {
				return err
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return fmt.Errorf("answered %d", resp.StatusCode)
			}
			return nil
		}
		const replays = 100
		for i := range replays {
			if err := post(); err != nil {
				t.Fatalf("sequential replay %d: %v", i, err)
			}
		}
		if s, in, ch := abuseCounts(t, env.st); s != 2 || in != 1 || ch != 1 {
			t.Fatalf("after %d sequential replays: %d statuses, %d inbound, %d changes stored; want 2, 1, 1", replays, s, in, ch)
		}
		var wg sync.WaitGroup
		var failed atomic.Int64
		start := make(chan struct{})
		for range replays {
			wg.Go(func() {
				<-start
				if err := post(); err != nil {
					failed.Add(1)
					t.Error("concurrent replay:", err)
				}
			})
		}
		close(start)
		wg.Wait()
		s, in, ch := abuseCounts(t, env.st)
		if s != 2 || in != 1 || ch != 1 {
			t.Errorf("after %d more concurrent replays: %d statuses, %d inbound, %d changes stored; want 2, 1, 1", replays, s, in, ch)
		}
		mu.Lock()
		defer mu.Unlock()
		if delivered != 2*replays || newStatuses != 2 || newIn != 1 || withNews != 1 {
			t.Errorf("deliveries: %d told, %d with something new, %d new statuses, %d new inbound; want %d, 1, 2, 1",
				delivered, withNews, newStatuses, newIn, 2*replays)
		}
		t.Logf("%d POSTs answered 200 (%d failed); stored %d statuses, %d inbound, %d changes", 2*replays-int(failed.Load()), failed.Load(), s, in, ch)
	})
}

var abuseSpaces = bytes.Repeat([]byte(" "), 32<<10)

// abuseReader is an endless (up to max) request body that counts what is
// read from it.
type abuseReader struct {
	read atomic.Int64
	max  int64
}

func (r *abuseReader) Read(p []byte) (int, error) {
	left := r.max - r.read.Load()
	if left <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), left)], abuseSpaces)
	r.read.Add(int64(n))
	return n, nil
}

// A body over the limit is refused with 413 before it is read whole: with
// a Content-Length over the limit, before a byte of it is read; without
// one (chunked), once the limit is passed, reading at most the limit and
// 64 KiB more of a body that would not end for 64 MiB. Signed or not, with
// the default limit and a small one; nothing is stored.
func TestAbuseOversizedBodiesNotReadWhole(t *testing.T) {
	const (
		margin  = 64 << 10
		endless = 64 << 20
	)
	st := whOpenStore(t) // one for every case: none may store anything
	for _, limit := range []int64{64 << 10, triggers.DefaultMaxBody} {
		for _, signed := range []bool{true, false} {
			for _, declared := range []bool{true, false} {
				name := fmt.Sprintf("limit=%d/signed=%v/content-length=%v", limit, signed, declared)
				t.Run(name, func(t *testing.T) {
					env := whNew(t, st, func(c *triggers.WebhookConfig) {
						if limit != triggers.DefaultMaxBody {
							c.MaxBody = limit
						}
					})
					body := &abuseReader{max: endless}
					req := httptest.NewRequest(http.MethodPost, "/webhook", body)
					req.ContentLength = -1 // chunked: the length is unknown
					if declared {
						req.ContentLength = 4 * limit
					}
					if signed {
						// A well-formed signature (of something else): the body
						// must be read to find it wrong, and must not be.
						req.Header.Set(cloudapi.SignatureHeader, cloudapi.SignWebhook(whSecret, abuseBody))
					}
					rec := httptest.NewRecorder()
					env.h.ServeHTTP(rec, req)
					read := body.read.Load()
					switch {
					case declared && rec.Code != http.StatusRequestEntityTooLarge:
						t.Errorf("answered %d, want 413", rec.Code)
					case !declared && signed && rec.Code != http.StatusRequestEntityTooLarge:
						t.Errorf("answered %d, want 413", rec.Code)
					case !declared && !signed && rec.Code != http.StatusUnauthorized:
						t.Errorf("answered %d, want 401 (no signature, refused before reading)", rec.Code)
					}
					if declared || !signed {
						if read != 0 {
							t.Errorf("read %d bytes of the body before refusing it, want 0", read)
						}
					} else if read > limit+margin {
						t.Errorf("read %d bytes of a body over the limit of %d, want at most %d", read, limit, limit+margin)
					}
					env.wantEmpty(t)
					t.Logf("answered %d after reading %d bytes of the body", rec.Code, read)
				})
			}
		}
	}
	t.Run("over loopback HTTP, chunked", func(t *testing.T) {
		// The whole stack: the server stops reading the chunked body at the
		// limit, answers 413 and closes; the client sends far less than
		// the 64 MiB it offered.
		const limit = 64 << 10
		env := whNew(t, st, func(c *triggers.WebhookConfig) { c.MaxBody = limit })
		var handlerRead atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cr := &abuseCounting{r: r.Body}
			r.Body = cr
			env.h.ServeHTTP(w, r)
			handlerRead.Store(cr.n)
		}))
		defer srv.Close()
		body := &abuseReader{max: endless}
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhook", body)
		req.ContentLength = -1
		req.Header.Set(cloudapi.SignatureHeader, cloudapi.SignWebhook(whSecret, abuseBody))
		resp, err := srv.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("answered %d, want 413", resp.StatusCode)
			}
		} else {
			t.Logf("the client saw %v (the server closed the connection under it)", err)
		}
		if n := handlerRead.Load(); n > limit+margin {
			t.Errorf("the handler read %d bytes, want at most %d", n, limit+margin)
		}
		if sent := body.read.Load(); sent >= endless {
			t.Errorf("the client sent the whole %d bytes", sent)
		}
		env.wantEmpty(t)
		t.Logf("handler read %d bytes; the client sent %d of %d", handlerRead.Load(), body.read.Load(), endless)
	})
}

// abuseCounting counts what a handler reads of a request body.
type abuseCounting struct {
	r io.ReadCloser
	n int64
}

func (c *abuseCounting) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *abuseCounting) Close() error { return c.r.Close() }
