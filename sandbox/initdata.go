package sandbox

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	mrand "math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/starsgate/starsgate/botapi"
)

// webAppUser is the user object of Mini App initData (WebAppUser).
type webAppUser struct {
	ID              int64  `json:"id"`
	IsBot           bool   `json:"is_bot,omitempty"`
	FirstName       string `json:"first_name"`
	LastName        string `json:"last_name,omitempty"`
	Username        string `json:"username,omitempty"`
	LanguageCode    string `json:"language_code,omitempty"`
	IsPremium       bool   `json:"is_premium,omitempty"`
	AllowsWriteToPM bool   `json:"allows_write_to_pm"`
}

// SignInitData returns raw Mini App initData for user, signed with the
// sandbox's bot token as Telegram signs it (hash = HMAC-SHA256 of the
// sorted key=value lines, keyed with HMAC-SHA256("WebAppData", token)). It
// carries query_id, user, chat_instance, chat_type, auth_date and hash, and
// no Ed25519 "signature" (only Telegram can make one). A zero authDate
// means the sandbox's Now. The user can then receive messages from the bot
// (sendMessage).
func (s *Server) SignInitData(user botapi.User, authDate time.Time) string {
	s.mu.Lock()
	if authDate.IsZero() {
		authDate = s.nowLocked()
	}
	if user.ID > 0 && !user.IsBot {
		if u, err := checkUser(user); err == nil {
			s.users[u.ID] = u
		}
	}
	s.mu.Unlock()

	userJSON, _ := json.Marshal(webAppUser{
		ID: user.ID, IsBot: user.IsBot, FirstName: user.FirstName, LastName: user.LastName,
		Username: user.Username, LanguageCode: user.LanguageCode, IsPremium: user.IsPremium,
		AllowsWriteToPM: true,
	})
	qid := make([]byte, 12)
	_, _ = rand.Read(qid)
	fields := map[string]string{
		"query_id":      "AA" + base64.RawURLEncoding.EncodeToString(qid),
		"user":          string(userJSON),
		"chat_instance": strconv.FormatInt(mrand.Int64(), 10),
		"chat_type":     "sender",
		"auth_date":     strconv.FormatInt(authDate.Unix(), 10),
	}
	fields["hash"] = initDataHash(fields, s.token)
	v := url.Values{}
	for k, val := range fields {
		v.Set(k, val)
	}
	return v.Encode()
}

// initDataHash is the hex HMAC of the data-check-string: every field but
// hash, sorted by key, as key=value lines.
func initDataHash(fields map[string]string, token string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
	}
	secret := hmac.New(sha256.New, []byte("WebAppData"))
	secret.Write([]byte(token))
	mac := hmac.New(sha256.New, secret.Sum(nil))
	mac.Write([]byte(strings.Join(lines, "\n")))
	return hex.EncodeToString(mac.Sum(nil))
}
