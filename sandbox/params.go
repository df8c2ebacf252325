package sandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/url"
	"strconv"
	"strings"
)

// params holds a Bot API call's parameters as text, whatever the encoding:
// strings as themselves, numbers and booleans as their literal, and
// JSON-typed parameters (prices, allowed_updates) as JSON text, which is how
// form encodings carry them anyway.
type params map[string]string

// errBadParams means the request body could not be decoded.
var errBadParams = errors.New("malformed request parameters")

// maxPartSize bounds one multipart value; files are skipped, not read.
const maxPartSize = 1 << 20

// parseParams merges the query string and the body. The body is decoded
// according to its media type: urlencoded, JSON (an object) or multipart;
// any other type is ignored, as an empty body is. Body values win over
// query values of the same name.
func parseParams(query url.Values, contentType string, body []byte) (params, error) {
	p := params{}
	for k, v := range query {
		if len(v) > 0 {
			p[k] = v[0]
		}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return p, nil
	}
	mediaType, mtParams, _ := mime.ParseMediaType(contentType)
	switch mediaType {
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errBadParams, err)
		}
		for k, v := range form {
			p[k] = v[0]
		}
	case "application/json":
		if err := parseJSONObject(p, body); err != nil {
			return nil, err
		}
	case "multipart/form-data":
		if err := parseMultipart(p, mtParams["boundary"], body); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func parseJSONObject(p params, body []byte) error {
	if string(bytes.TrimSpace(body)) == "null" {
		return nil // what some clients send for "no parameters"
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return fmt.Errorf("%w: the body is not a JSON object", errBadParams)
	}
	for k, raw := range obj {
		raw = bytes.TrimSpace(raw)
		switch {
		case string(raw) == "null":
			continue
		case len(raw) > 0 && raw[0] == '"':
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("%w: field %q", errBadParams, k)
			}
			p[k] = s
		default:
			p[k] = string(raw)
		}
	}
	return nil
}

func parseMultipart(p params, boundary string, body []byte) error {
	if boundary == "" {
		return fmt.Errorf("%w: multipart without boundary", errBadParams)
	}
	r := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := r.NextPart()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", errBadParams, err)
		}
		name := part.FormName()
		if name == "" || part.FileName() != "" {
			continue // uploaded files (certificate, photos) are not used by the sandbox
		}
		v, err := io.ReadAll(io.LimitReader(part, maxPartSize+1))
		if err != nil {
			return fmt.Errorf("%w: %v", errBadParams, err)
		}
		if len(v) > maxPartSize {
			return fmt.Errorf("%w: part %q too large", errBadParams, name)
		}
		p[name] = string(v)
	}
}

func (p params) has(name string) bool {
	_, ok := p[name]
	return ok
}

// int reads an integer parameter leniently, as the Bot API does: a missing
// or non-numeric value is 0.
func (p params) int(name string) int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(p[name]), 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// bool reads a boolean parameter as the Bot API does: "true", "yes" and
// "1" (any case) are true, anything else false.
func (p params) bool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(p[name])) {
	case "true", "yes", "1":
		return true
	}
	return false
}

// stringList decodes a JSON array of strings (allowed_updates). ok is false
// when the parameter is absent.
func (p params) stringList(name string) (list []string, ok bool, err error) {
	raw, ok := p[name]
	if !ok {
		return nil, false, nil
	}
	if strings.TrimSpace(raw) == "" {
		return []string{}, true, nil
	}
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, true, err
	}
	if list == nil {
		list = []string{}
	}
	return list, true, nil
}
