package sandbox

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf16"

	"github.com/starsgate/starsgate/botapi"
)

const maxMessageLen = 4096 // UTF-16 code units, as Telegram counts

func (s *Server) getMe(context.Context, params) (any, *apiError) {
	return s.botUser(), nil
}

func (s *Server) botUser() botapi.User {
	return botapi.User{
		ID: s.botID, IsBot: true, FirstName: "Starsgate Sandbox", Username: s.cfg.BotUsername,
		CanJoinGroups: true,
	}
}

func (s *Server) sendMessage(_ context.Context, p params) (any, *apiError) {
	text := p["text"]
	if strings.TrimSpace(text) == "" {
		return nil, badRequest("message text is empty")
	}
	if len(utf16.Encode([]rune(text))) > maxMessageLen {
		return nil, badRequest("message is too long")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	chat, apiErr := s.chatLocked(p)
	if apiErr != nil {
		return nil, apiErr
	}
	m := s.botMessageLocked(chat)
	m.Text = text
	s.sent = append(s.sent, m)
	return m, nil
}

// chatLocked resolves chat_id to the private chat of a user the sandbox
// has seen (who paid, wrote, or opened the Mini App).
func (s *Server) chatLocked(p params) (botapi.Chat, *apiError) {
	raw := strings.TrimSpace(p["chat_id"])
	if raw == "" {
		return botapi.Chat{}, badRequest("chat_id is empty")
	}
	if name, ok := strings.CutPrefix(raw, "@"); ok {
		for _, u := range s.users {
			if u.Username != "" && strings.EqualFold(u.Username, name) {
				return privateChat(u), nil
			}
		}
		return botapi.Chat{}, badRequest("chat not found")
	}
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return botapi.Chat{}, badRequest("chat not found")
	}
	u, ok := s.users[id]
	if !ok {
		return botapi.Chat{}, badRequest("chat not found")
	}
	return privateChat(u), nil
}

func privateChat(u botapi.User) botapi.Chat {
	return botapi.Chat{ID: u.ID, Type: botapi.ChatPrivate, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName}
}

// botMessageLocked starts a message the bot sends to chat.
func (s *Server) botMessageLocked(chat botapi.Chat) botapi.Message {
	bot := s.botUser()
	bot.CanJoinGroups = false // getMe-only fields
	m := botapi.Message{MessageID: s.nextMessage, From: &bot, Chat: chat, Date: s.nowLocked().Unix()}
	s.nextMessage++
	return m
}

// userMessageLocked starts a message user sends to the bot.
func (s *Server) userMessageLocked(u botapi.User) botapi.Message {
	from := u
	m := botapi.Message{MessageID: s.nextMessage, From: &from, Chat: privateChat(u), Date: s.nowLocked().Unix()}
	s.nextMessage++
	return m
}

func (s *Server) answerPreCheckoutQuery(_ context.Context, p params) (any, *apiError) {
	id := strings.TrimSpace(p["pre_checkout_query_id"])
	ok := p.bool("ok")
	msg := p["error_message"]
	if !ok && strings.TrimSpace(msg) == "" {
		return nil, badRequest("ERROR_MESSAGE_EMPTY")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q, found := s.queries[id]
	if !found {
		return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
	}
	delete(s.queries, id)
	q.answered, q.ok, q.errorMessage = true, ok, msg
	close(q.done)
	return true, nil
}

// chargeParams reads the user_id and telegram_payment_charge_id that
// refundStarPayment and editUserStarSubscription share.
func chargeParams(p params) (userID int64, chargeID string, _ *apiError) {
	userID = p.int("user_id")
	chargeID = strings.TrimSpace(p["telegram_payment_charge_id"])
	if userID <= 0 {
		return 0, "", badRequest("invalid user_id specified")
	}
	if chargeID == "" {
		return 0, "", badRequest("CHARGE_ID_EMPTY")
	}
	return userID, chargeID, nil
}

func (s *Server) refundStarPayment(_ context.Context, p params) (any, *apiError) {
	userID, chargeID, aerr := chargeParams(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.charges[chargeID]
	if !ok || c.user.ID != userID {
		return nil, badRequest("CHARGE_NOT_FOUND")
	}
	if c.refunded {
		return nil, badRequest("CHARGE_ALREADY_REFUNDED")
	}
	c.refunded = true
	now := s.nowLocked()
	user := c.user
	s.txns = append(s.txns, botapi.StarTransaction{
		ID: c.id, Amount: c.amount, Date: now.Unix(),
		Receiver: &botapi.TransactionPartner{
			Type: botapi.PartnerUser, TransactionType: botapi.TransactionInvoicePayment,
			User: &user, InvoicePayload: c.payload, SubscriptionPeriod: c.subscriptionPeriod,
		},
	})
	m := s.userMessageLocked(c.user)
	m.RefundedPayment = &botapi.RefundedPayment{
		Currency: c.currency, TotalAmount: c.amount, InvoicePayload: c.payload, TelegramPaymentChargeID: c.id,
	}
	s.enqueueLocked(botapi.KindMessage, c.user.ID, botapi.Update{Message: &m})
	return true, nil
}

func (s *Server) editUserStarSubscription(_ context.Context, p params) (any, *apiError) {
	userID, chargeID, aerr := chargeParams(p)
	if aerr != nil {
		return nil, aerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub, ok := s.subs[chargeID] // only the first payment's charge id names a subscription
	if !ok || sub.user.ID != userID {
		return nil, badRequest("CHARGE_NOT_FOUND")
	}
	sub.botCanceled = p.bool("is_canceled") // no update: the bot knows what it did
	return true, nil
}

func (s *Server) getStarTransactions(_ context.Context, p params) (any, *apiError) {
	offset := max(p.int("offset"), 0)
	limit := clamp(p.int("limit"), 1, 100, 100)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := botapi.StarTransactions{Transactions: []botapi.StarTransaction{}}
	if offset < int64(len(s.txns)) {
		end := min(offset+limit, int64(len(s.txns)))
		out.Transactions = append(out.Transactions, s.txns[offset:end]...)
	}
	return out, nil
}

func (s *Server) getMyStarBalance(context.Context, params) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var bal int64
	for _, t := range s.txns {
		if t.Source != nil {
			bal += t.Amount
		} else {
			bal -= t.Amount
		}
	}
	return botapi.StarAmount{Amount: bal}, nil
}
