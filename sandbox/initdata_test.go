package sandbox

import (
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	initdata "github.com/telegram-mini-apps/init-data-golang"

	"github.com/starsgate/starsgate/botapi"
)

func TestSignInitDataIsAcceptedByInitDataGolang(t *testing.T) {
	s := newSandbox(t, func(c *Config) { c.Token = "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8" })
	user := botapi.User{ID: 279058397, FirstName: "Vladislav", LastName: "Kibenko", Username: "vdkfrost",
		LanguageCode: "ru", IsPremium: true}
	authDate := time.Now().Add(-time.Minute).Truncate(time.Second)
	raw := s.SignInitData(user, authDate)

	require.NoError(t, initdata.Validate(raw, s.Token(), time.Hour))
	data, err := initdata.Parse(raw)
	require.NoError(t, err)
	assert.Equal(t, user.ID, data.User.ID)
	assert.Equal(t, "Vladislav", data.User.FirstName)
	assert.Equal(t, "vdkfrost", data.User.Username)
	assert.True(t, data.User.IsPremium)
	assert.True(t, data.User.AllowsWriteToPm)
	assert.True(t, authDate.Equal(data.AuthDate()))
	assert.NotEmpty(t, data.QueryID)
	assert.Equal(t, initdata.ChatType("sender"), data.ChatType)

	tests := []struct {
		name    string
		raw     string
		token   string
		expIn   time.Duration
		wantErr error
	}{
		{"nok, other token", raw, "5768337691:other", time.Hour, initdata.ErrSignInvalid},
		{"nok, tampered user", tamper(t, raw, "user", `{"id":1,"first_name":"Eve"}`), s.Token(), time.Hour, initdata.ErrSignInvalid},
		{"nok, tampered auth_date", tamper(t, raw, "auth_date", "1"), s.Token(), 0, initdata.ErrSignInvalid},
		{"nok, expired", s.SignInitData(user, time.Now().Add(-2*time.Hour)), s.Token(), time.Hour, initdata.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, initdata.Validate(tt.raw, tt.token, tt.expIn), tt.wantErr)
		})
	}
}

func TestInitDataHashKnownVector(t *testing.T) {
	// The vector from Telegram-Mini-Apps' docs (init-data-golang's tests).
	fields := map[string]string{
		"query_id":  "AAHdF6IQAAAAAN0XohDhrOrc",
		"user":      `{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true}`,
		"auth_date": "1662771648",
	}
	assert.Equal(t, "c501b71e775f74ce10e377dea85a7ea24ecd640b223ea86dfe453e0eaed2e2b2",
		initDataHash(fields, "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"))
}

func TestSignInitDataUsesSandboxClock(t *testing.T) {
	s := newSandbox(t, fixedClock)
	s.Advance(time.Hour)
	v, err := url.ParseQuery(s.SignInitData(alice, time.Time{}))
	require.NoError(t, err)
	assert.Equal(t, "1772370000", v.Get("auth_date")) // epoch + 1h
	// The user becomes reachable by sendMessage.
	status, a := callJSON(t, s, "sendMessage", map[string]any{"chat_id": alice.ID, "text": "hi"})
	require.Equal(t, 200, status, a.Description)
}

func tamper(t *testing.T, raw, key, value string) string {
	t.Helper()
	v, err := url.ParseQuery(raw)
	require.NoError(t, err)
	v.Set(key, value)
	return v.Encode()
}
