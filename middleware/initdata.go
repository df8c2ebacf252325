package middleware

import "time"

// InitData is verified Telegram Mini App init data (research doc §4.2).
//
// Auth shares one *InitData between all requests that carry the same raw
// init data (see AuthConfig.CacheSize): treat it as read-only.
type InitData struct {
	// User is the user who opened the Mini App. Auth only accepts init data
	// with a user, so User.ID is never 0 here.
	User User
	// Receiver is the chat partner when opened from the attachment menu in
	// a private chat; zero (ID 0) when absent.
	Receiver User
	// Chat is the chat the app was opened in from the attachment menu; zero
	// (ID 0) when absent.
	Chat Chat
	// ChatType is "sender", "private", "group", "supergroup" or "channel";
	// empty when absent.
	ChatType string
	// ChatInstance identifies the chat the app was opened from; empty when
	// absent. A string, as in the Bot API (it holds a decimal number).
	ChatInstance string
	// StartParam is the startattach/startapp parameter of the link, if any.
	StartParam string
	// QueryID identifies the session for answerWebAppQuery, if any.
	QueryID string
	// AuthDate is when Telegram issued the init data.
	AuthDate time.Time
	// CanSendAfter is how long after AuthDate a message can be sent with
	// answerWebAppQuery; 0 when absent.
	CanSendAfter time.Duration
}

// User is a Telegram user as found in init data (WebAppUser). The JSON
// names are Telegram's. Auth decodes the user JSON straight into it, so its
// fields, names and types stay those of init-data-golang's User (what a
// User accepts and rejects is then the same).
type User struct {
	ID                    int64  `json:"id"`
	IsBot                 bool   `json:"is_bot,omitempty"`
	FirstName             string `json:"first_name"`
	LastName              string `json:"last_name,omitempty"`
	Username              string `json:"username,omitempty"`
	LanguageCode          string `json:"language_code,omitempty"`
	IsPremium             bool   `json:"is_premium,omitempty"`
	AddedToAttachmentMenu bool   `json:"added_to_attachment_menu,omitempty"`
	AllowsWriteToPM       bool   `json:"allows_write_to_pm,omitempty"`
	PhotoURL              string `json:"photo_url,omitempty"`
}

// Chat is a chat as found in init data (WebAppChat). As User, its fields
// are those of init-data-golang's Chat.
type Chat struct {
	ID       int64  `json:"id"`
	Type     string `json:"type"`
	Title    string `json:"title"`
	Username string `json:"username,omitempty"`
	PhotoURL string `json:"photo_url,omitempty"`
}
