package botapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeUpdate: DecodeUpdate never panics, fails only with
// ErrMalformedUpdate, keeps valid JSON in Raw, names a kind consistent with
// the fields set, and what it decodes re-encodes to a fixed point.
func FuzzDecodeUpdate(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "update_*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no update fixtures: %v", err)
	}
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"update_id":1}`))
	f.Add([]byte(`{"update_id":9223372036854775807,"message":{"message_id":-1,"chat":{"id":-1001234567890,"type":"supergroup"},"date":0,"text":"\u0000\ud83d\ude00"}}`))
	f.Add([]byte(`{"UPDATE_ID":2,"Message":{"Successful_Payment":{"total_amount":1}}}`))
	f.Add([]byte(`{"update_id":3,"message":{"entities":[],"from":null,"chat":null}}`))
	f.Add([]byte("{\"update_id\":4,\"pre_checkout_query\":{\"id\":\"\xff\xfe\",\"invoice_payload\":\"\xc3\"}}"))
	f.Add([]byte(`{"update_id":5,"subscription":{"state":"failed","user":{"id":1}},"x":[[[[[]]]]]}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := DecodeUpdate(data)
		if err != nil {
			if !errors.Is(err, ErrMalformedUpdate) {
				t.Fatalf("error %v does not wrap ErrMalformedUpdate", err)
			}
			return
		}
		if !json.Valid(u.Raw) {
			t.Fatalf("Raw is not valid JSON: %q", u.Raw)
		}
		if u.Message != nil && !json.Valid(u.Message.Raw) {
			t.Fatalf("Message.Raw is not valid JSON: %q", u.Message.Raw)
		}
		switch k := u.Kind(); k {
		case KindMessage:
			if u.Message == nil {
				t.Fatalf("kind %q without Message", k)
			}
		case KindPreCheckoutQuery:
			if u.PreCheckoutQuery == nil && u.Message != nil {
				t.Fatalf("kind %q with Message set", k)
			}
		}
		enc, err := json.Marshal(u)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := DecodeUpdate(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded %q: %v", enc, err)
		}
		enc2, err := json.Marshal(back)
		if err != nil {
			t.Fatalf("re-encode 2: %v", err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("not a fixed point:\n%s\n%s", enc, enc2)
		}
	})
}

func BenchmarkDecodeUpdate(b *testing.B) {
	data := fixture(b, "update_successful_payment_subscription_first.json")
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := DecodeUpdate(data); err != nil {
			b.Fatal(err)
		}
	}
}
