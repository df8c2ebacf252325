package botapi

import (
	"encoding/json"
	"fmt"
	"strings"
)

// DecodeUpdate decodes one update, as a webhook receives it. Unknown fields
// and unknown update kinds are not errors (Raw keeps them); invalid JSON, a
// non-object, a known field of the wrong type or a missing update_id are,
// and wrap ErrMalformedUpdate.
func DecodeUpdate(data []byte) (Update, error) {
	var u Update
	if err := json.Unmarshal(data, &u); err != nil {
		return Update{}, fmt.Errorf("%w: %v", ErrMalformedUpdate, err)
	}
	if u.Raw == nil { // the input was null
		return Update{}, fmt.Errorf("%w: null", ErrMalformedUpdate)
	}
	if u.UpdateID == 0 {
		var id struct {
			UpdateID *int64 `json:"update_id"`
		}
		if json.Unmarshal(u.Raw, &id) != nil || id.UpdateID == nil {
			return Update{}, fmt.Errorf("%w: no update_id", ErrMalformedUpdate)
		}
	}
	return u, nil
}

// WebhookReply builds a Bot API call to send as the body of the webhook's
// HTTP response (with Content-Type: application/json): the JSON object of
// params plus "method". Telegram runs it after a 2xx answer but its result
// and errors are never seen, so use it only where losing the call is
// acceptable. params must encode to a JSON object (or be nil). Methods
// Telegram ignores there (get*, setWebhook, deleteWebhook, close, logOut)
// fail with ErrWebhookReplyMethod.
func WebhookReply(method string, params any) ([]byte, error) {
	if !validMethod(method) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidMethod, method)
	}
	switch m := strings.ToLower(method); {
	case strings.HasPrefix(m, "get"), m == "setwebhook", m == "deletewebhook", m == "close", m == "logout":
		return nil, fmt.Errorf("%w: %s", ErrWebhookReplyMethod, method)
	}
	fields := map[string]json.RawMessage{}
	if params != nil {
		data, err := json.Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("botapi: webhook reply %s: encode params: %w", method, err)
		}
		if string(data) != "null" {
			if err := json.Unmarshal(data, &fields); err != nil {
				return nil, fmt.Errorf("botapi: webhook reply %s: params are not a JSON object", method)
			}
		}
	}
	name, _ := json.Marshal(method)
	fields["method"] = name
	return json.Marshal(fields)
}
