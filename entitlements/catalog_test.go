package entitlements_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/starsgate/starsgate/entitlements"
)

func subscription() entitlements.Product {
	return entitlements.Product{
		ID: "pro_month", Title: "Pro", Description: "Everything, monthly", Price: 250,
		Kind: entitlements.KindSubscription, Features: []string{"premium", "export"},
	}
}

func oneTime() entitlements.Product {
	return entitlements.Product{
		ID: "week_pass", Title: "Week pass", Description: "Premium for a week", Price: 50,
		Kind: entitlements.KindOneTime, Features: []string{"premium"}, Duration: 168 * time.Hour,
	}
}

func consumable() entitlements.Product {
	return entitlements.Product{
		ID: "credits_100", Title: "100 credits", Description: "For generations", Price: 100,
		Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 100, "bonus": 5},
	}
}

func TestNewCatalog(t *testing.T) {
	with := func(p entitlements.Product, edit func(*entitlements.Product)) entitlements.Product {
		edit(&p)
		return p
	}
	tests := []struct {
		name      string
		products  []entitlements.Product
		expectErr string // substring; empty means valid
	}{
		{name: "ok, one of each kind", products: []entitlements.Product{subscription(), oneTime(), consumable()}},
		{name: "ok, subscription at the price cap", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Price = 10000 })}},
		{name: "ok, one-time for life", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Duration = 0 })}},
		{name: "ok, one-time beyond the subscription price cap", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Price = 50000 })}},
		{name: "ok, title of 32 two-byte characters", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Title = strings.Repeat("é", 32) })}},
		{name: "ok, description of 255 characters", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Description = strings.Repeat("ж", 255) })}},
		{name: "ok, id and names at 64 characters", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) {
			p.ID = strings.Repeat("a", 64)
			p.Credits = map[string]int64{strings.Repeat("c", 64): 1}
		})}},
		{name: "ok, names with every allowed character", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) {
			p.ID = "a-z_0-9"
			p.Features = []string{"plan:pro.v2_x-y"}
		})}},
		{name: "ok, https photo", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.PhotoURL = "https://example.com/p.png" })}},

		{name: "nok, no products", expectErr: "entitlements: invalid catalog: no products"},
		{name: "nok, title too long", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Title = strings.Repeat("x", 40) })},
			expectErr: `entitlements: invalid catalog: product "pro_month": title: must be 1-32 characters (got 40)`},
		{name: "nok, title of 33 characters", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Title = strings.Repeat("é", 33) })},
			expectErr: `product "week_pass": title: must be 1-32 characters (got 33)`},
		{name: "nok, empty title", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Title = "" })},
			expectErr: `title: must be 1-32 characters (got 0)`},
		{name: "nok, title not UTF-8", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Title = "a\xffb" })},
			expectErr: `title: must be valid UTF-8`},
		{name: "nok, empty description", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Description = "" })},
			expectErr: `description: must be 1-255 characters (got 0)`},
		{name: "nok, description of 256 characters", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Description = strings.Repeat("ж", 256) })},
			expectErr: `description: must be 1-255 characters (got 256)`},
		{name: "nok, description not UTF-8", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Description = "\xc3" })},
			expectErr: `description: must be valid UTF-8`},
		{name: "nok, empty id", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.ID = "" })},
			expectErr: `products[0]: id: must match [a-z0-9_-]{1,64} (got "")`},
		{name: "nok, id with capitals", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.ID = "Week" })},
			expectErr: `product "Week": id: must match [a-z0-9_-]{1,64} (got "Week")`},
		{name: "nok, id of 65 characters", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.ID = strings.Repeat("a", 65) })},
			expectErr: `id: must match [a-z0-9_-]{1,64}`},
		{name: "nok, id with a dot", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.ID = "a.b" })},
			expectErr: `id: must match`},
		{name: "nok, duplicate id", products: []entitlements.Product{oneTime(), with(subscription(), func(p *entitlements.Product) { p.ID = "week_pass" })},
			expectErr: `product "week_pass": id: duplicate`},
		{name: "nok, zero price", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Price = 0 })},
			expectErr: `product "week_pass": price: must be at least 1 (got 0)`},
		{name: "nok, negative price", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Price = -5 })},
			expectErr: `price: must be at least 1 (got -5)`},
		{name: "nok, empty kind", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Kind = "" })},
			expectErr: `kind: must be subscription, one_time or consumable (got "")`},
		{name: "nok, unknown kind", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Kind = "lifetime" })},
			expectErr: `kind: must be subscription, one_time or consumable (got "lifetime")`},
		{name: "nok, http photo URL without host", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.PhotoURL = "https://" })},
			expectErr: `photo_url: must be an http(s) URL`},
		{name: "nok, photo URL not http", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.PhotoURL = "ftp://example.com/p.png" })},
			expectErr: `photo_url: must be an http(s) URL (got "ftp://example.com/p.png")`},

		{name: "nok, subscription above the price cap", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Price = 10001 })},
			expectErr: `product "pro_month": price: must be at most 10000 for a subscription (got 10001)`},
		{name: "nok, subscription without features", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Features = nil })},
			expectErr: `product "pro_month": features: a subscription product needs at least one`},
		{name: "nok, subscription with credits", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Credits = map[string]int64{"credits": 10} })},
			expectErr: `credits: not allowed on a subscription product`},
		{name: "nok, subscription with a duration", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Duration = time.Hour })},
			expectErr: `duration: not allowed on a subscription product`},
		{name: "nok, one-time without features", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Features = []string{} })},
			expectErr: `features: a one_time product needs at least one`},
		{name: "nok, one-time with credits", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Credits = map[string]int64{"credits": 1} })},
			expectErr: `credits: not allowed on a one_time product`},
		{name: "nok, one-time with a negative duration", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Duration = -time.Hour })},
			expectErr: `duration: must not be negative (got -1h0m0s)`},
		{name: "nok, one-time with a fractional second", products: []entitlements.Product{with(oneTime(), func(p *entitlements.Product) { p.Duration = 1500 * time.Millisecond })},
			expectErr: `duration: must be whole seconds (got 1.5s)`},
		{name: "nok, consumable without credits", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Credits = nil })},
			expectErr: `product "credits_100": credits: a consumable needs at least one`},
		{name: "nok, consumable crediting zero", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Credits = map[string]int64{"credits": 0} })},
			expectErr: `credits[credits]: must be at least 1 (got 0)`},
		{name: "nok, consumable crediting a negative amount", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Credits = map[string]int64{"credits": -3} })},
			expectErr: `credits[credits]: must be at least 1 (got -3)`},
		{name: "nok, consumable with features", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Features = []string{"premium"} })},
			expectErr: `features: not allowed on a consumable`},
		{name: "nok, consumable with a duration", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Duration = time.Hour })},
			expectErr: `duration: not allowed on a consumable product`},
		{name: "nok, empty credit name", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Credits = map[string]int64{"": 5} })},
			expectErr: `credits[]: must match [a-z0-9_.:-]{1,64} (got "")`},
		{name: "nok, credit name with a space", products: []entitlements.Product{with(consumable(), func(p *entitlements.Product) { p.Credits = map[string]int64{"my credits": 5} })},
			expectErr: `credits[my credits]: must match [a-z0-9_.:-]{1,64} (got "my credits")`},
		{name: "nok, empty feature name", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Features = []string{"premium", ""} })},
			expectErr: `features[1]: must match [a-z0-9_.:-]{1,64} (got "")`},
		{name: "nok, feature with capitals", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Features = []string{"Premium"} })},
			expectErr: `features[0]: must match [a-z0-9_.:-]{1,64} (got "Premium")`},
		{name: "nok, feature of 65 characters", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Features = []string{strings.Repeat("f", 65)} })},
			expectErr: `features[0]: must match`},
		{name: "nok, repeated feature", products: []entitlements.Product{with(subscription(), func(p *entitlements.Product) { p.Features = []string{"premium", "export", "premium"} })},
			expectErr: `features[2]: duplicate "premium"`},
		{name: "nok, the second product names itself", products: []entitlements.Product{oneTime(), with(consumable(), func(p *entitlements.Product) { p.Title = "" })},
			expectErr: `product "credits_100": title:`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := entitlements.NewCatalog(tc.products...)
			if tc.expectErr == "" {
				require.NoError(t, err)
				require.Len(t, c.Products(), len(tc.products))
				return
			}
			require.ErrorIs(t, err, entitlements.ErrInvalidCatalog)
			assert.Contains(t, err.Error(), tc.expectErr)
			assert.Nil(t, c)
		})
	}
}

func TestNewCatalogReportsEveryProblem(t *testing.T) {
	bad := consumable()
	bad.Title = ""
	bad.Features = []string{"premium"}
	_, err := entitlements.NewCatalog(oneTime(), bad, entitlements.Product{Kind: entitlements.KindOneTime})
	require.ErrorIs(t, err, entitlements.ErrInvalidCatalog)
	assert.Equal(t, `entitlements: invalid catalog: `+
		`product "credits_100": features: not allowed on a consumable; `+
		`product "credits_100": title: must be 1-32 characters (got 0); `+
		`products[2]: description: must be 1-255 characters (got 0); `+
		`products[2]: features: a one_time product needs at least one; `+
		`products[2]: id: must match [a-z0-9_-]{1,64} (got ""); `+
		`products[2]: price: must be at least 1 (got 0); `+
		`products[2]: title: must be 1-32 characters (got 0)`, err.Error())
}

func TestCatalogLookups(t *testing.T) {
	second := subscription()
	second.ID, second.Features = "pro_year", []string{"export"}
	more := consumable()
	more.ID, more.Credits = "credits_big", map[string]int64{"credits": 1000}
	input := []entitlements.Product{subscription(), oneTime(), consumable(), second, more}
	c, err := entitlements.NewCatalog(input...)
	require.NoError(t, err)

	t.Run("ok, products in catalog order", func(t *testing.T) {
		got := c.Products()
		require.Len(t, got, 5)
		for i := range input {
			assert.Equal(t, input[i], got[i])
		}
	})
	t.Run("ok, product by id", func(t *testing.T) {
		p, ok := c.Product("week_pass")
		require.True(t, ok)
		assert.Equal(t, oneTime(), p)
	})
	t.Run("nok, unknown product", func(t *testing.T) {
		p, ok := c.Product("nope")
		assert.False(t, ok)
		assert.Zero(t, p)
	})
	t.Run("ok, products granting a feature", func(t *testing.T) {
		assert.Equal(t, []string{"pro_month", "week_pass"}, c.ProductsGranting("premium"))
		assert.Equal(t, []string{"pro_month", "pro_year"}, c.ProductsGranting("export"))
		assert.Nil(t, c.ProductsGranting("nope"))
	})
	t.Run("ok, products crediting a balance", func(t *testing.T) {
		assert.Equal(t, []string{"credits_100", "credits_big"}, c.ProductsCrediting("credits"))
		assert.Equal(t, []string{"credits_100"}, c.ProductsCrediting("bonus"))
		assert.Nil(t, c.ProductsCrediting("premium"))
	})
	t.Run("ok, lookups of ids do not allocate", func(t *testing.T) {
		allocs := testing.AllocsPerRun(100, func() {
			_ = c.ProductsGranting("premium")
			_ = c.ProductsCrediting("credits")
		})
		assert.Zero(t, allocs)
	})
	t.Run("ok, appending to a returned id list leaves the catalog alone", func(t *testing.T) {
		ids := c.ProductsGranting("premium")
		_ = append(ids, "intruder")
		more := append(c.ProductsGranting("export"), "x")
		more[0] = "changed"
		assert.Equal(t, []string{"pro_month", "week_pass"}, c.ProductsGranting("premium"))
		assert.Equal(t, []string{"pro_month", "pro_year"}, c.ProductsGranting("export"))
	})
	t.Run("ok, results are copies", func(t *testing.T) {
		p, _ := c.Product("pro_month")
		p.Features[0] = "changed"
		all := c.Products()
		all[2].Credits["credits"] = 1
		all[0].Title = "changed"
		again, _ := c.Product("pro_month")
		assert.Equal(t, subscription(), again)
		assert.Equal(t, consumable(), c.Products()[2])
	})
	t.Run("ok, the catalog copies its input", func(t *testing.T) {
		input[0].Features[0] = "changed"
		input[2].Credits["credits"] = 7
		assert.Equal(t, subscription(), c.Products()[0])
		assert.Equal(t, consumable(), c.Products()[2])
	})
}

const goodCatalog = `{
  "products": [
    {"id": "pro_month", "title": "Pro", "description": "Everything, monthly", "price": 250,
     "kind": "subscription", "features": ["premium", "export"]},
    {"id": "week_pass", "title": "Week pass", "description": "Premium for a week", "price": 50,
     "kind": "one_time", "features": ["premium"], "duration": "168h",
     "photo_url": "https://example.com/week.png"},
    {"id": "forever", "title": "Forever", "description": "Premium for life", "price": 2000,
     "kind": "one_time", "features": ["premium"], "duration": ""},
    {"id": "credits_100", "title": "100 credits", "description": "For generations", "price": 100,
     "kind": "consumable", "credits": {"credits": 100, "bonus": 5}}
  ]
}`

func TestLoadCatalog(t *testing.T) {
	week := oneTime()
	week.PhotoURL = "https://example.com/week.png"
	forever := oneTime()
	forever.ID, forever.Title, forever.Description, forever.Price, forever.Duration = "forever", "Forever", "Premium for life", 2000, 0
	want := []entitlements.Product{subscription(), week, forever, consumable()}

	t.Run("ok, every field", func(t *testing.T) {
		c, err := entitlements.LoadCatalog(strings.NewReader(goodCatalog))
		require.NoError(t, err)
		assert.Equal(t, want, c.Products())
	})

	tests := []struct {
		name      string
		givenJSON string
		expectErr string
	}{
		{name: "nok, empty input", givenJSON: ``, expectErr: "entitlements: invalid catalog: EOF"},
		{name: "nok, malformed JSON", givenJSON: `{"products":[`, expectErr: "entitlements: invalid catalog: the JSON ends before the catalog object does"},
		{name: "nok, not an object", givenJSON: `[]`, expectErr: "entitlements: invalid catalog: json: cannot unmarshal array"},
		{name: "nok, empty object", givenJSON: `{}`, expectErr: "entitlements: invalid catalog: no products"},
		{name: "nok, null products", givenJSON: `{"products":null}`, expectErr: "entitlements: invalid catalog: no products"},
		{name: "nok, empty products", givenJSON: `{"products":[]}`, expectErr: "entitlements: invalid catalog: no products"},
		{name: "nok, products not a list", givenJSON: `{"products":{}}`, expectErr: "json: cannot unmarshal object"},
		{name: "nok, unknown top-level field", givenJSON: `{"products":[],"version":2}`, expectErr: `entitlements: invalid catalog: json: unknown field "version"`},
		{name: "nok, data after the object", givenJSON: goodCatalog + ` {}`, expectErr: "entitlements: invalid catalog: data after the catalog object"},
		{name: "nok, misspelt product field", givenJSON: `{"products":[{"id":"pro","titel":"Pro"}]}`, expectErr: `entitlements: invalid catalog: product "pro": json: unknown field "titel"`},
		{name: "nok, misspelt field of a product without id", givenJSON: `{"products":[{"ID_":"pro"}]}`, expectErr: `entitlements: invalid catalog: products[0]: json: unknown field "ID_"`},
		{name: "nok, product field in capitals", givenJSON: `{"products":[{"id":"p","Title":"P"}]}`, expectErr: `product "p": json: unknown field "Title"`},
		{name: "nok, top-level field in capitals", givenJSON: `{"Products":[]}`, expectErr: `entitlements: invalid catalog: json: unknown field "Products"`},
		{name: "nok, null product", givenJSON: `{"products":[null]}`, expectErr: `products[0]: id: must match`},
		{name: "nok, duration as a number", givenJSON: `{"products":[{"id":"p","duration":168}]}`, expectErr: `product "p": json: cannot unmarshal number into Go struct field productJSON.duration of type string`},
		{name: "nok, duration in days", givenJSON: `{"products":[{"id":"p","duration":"7d"}]}`, expectErr: `product "p": duration: time: unknown unit "d" in duration "7d"`},
		{name: "nok, price as a string", givenJSON: `{"products":[{"id":"p","price":"5"}]}`, expectErr: `product "p": json: cannot unmarshal string`},
		{name: "nok, fractional price", givenJSON: `{"products":[{"id":"p","price":1.5}]}`, expectErr: `product "p": json: cannot unmarshal number 1.5`},
		{name: "nok, product that fails validation", givenJSON: strings.Replace(goodCatalog, `"price": 250`, `"price": 20000`, 1),
			expectErr: `entitlements: invalid catalog: product "pro_month": price: must be at most 10000 for a subscription (got 20000)`},
		{name: "nok, negative duration", givenJSON: strings.Replace(goodCatalog, `"168h"`, `"-1h"`, 1),
			expectErr: `product "week_pass": duration: must not be negative (got -1h0m0s)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := entitlements.LoadCatalog(strings.NewReader(tc.givenJSON))
			require.ErrorIs(t, err, entitlements.ErrInvalidCatalog)
			assert.Contains(t, err.Error(), tc.expectErr)
			assert.Nil(t, c)
		})
	}

	t.Run("nok, the reader fails", func(t *testing.T) {
		boom := errors.New("disk on fire")
		_, err := entitlements.LoadCatalog(iotest.ErrReader(boom))
		require.ErrorIs(t, err, boom)
		assert.NotErrorIs(t, err, entitlements.ErrInvalidCatalog)
	})
}

func TestLoadCatalogFile(t *testing.T) {
	dir := t.TempDir()
	t.Run("ok, a file", func(t *testing.T) {
		path := filepath.Join(dir, "catalog.json")
		require.NoError(t, os.WriteFile(path, []byte(goodCatalog), 0o600))
		c, err := entitlements.LoadCatalogFile(path)
		require.NoError(t, err)
		assert.Len(t, c.Products(), 4)
	})
	t.Run("nok, missing file", func(t *testing.T) {
		_, err := entitlements.LoadCatalogFile(filepath.Join(dir, "missing.json"))
		require.ErrorIs(t, err, fs.ErrNotExist)
		assert.NotErrorIs(t, err, entitlements.ErrInvalidCatalog)
	})
	t.Run("nok, invalid file names the file", func(t *testing.T) {
		path := filepath.Join(dir, "bad.json")
		require.NoError(t, os.WriteFile(path, []byte(`{"products":[]}`), 0o600))
		_, err := entitlements.LoadCatalogFile(path)
		require.ErrorIs(t, err, entitlements.ErrInvalidCatalog)
		assert.Contains(t, err.Error(), path)
	})
}

func TestProductJSON(t *testing.T) {
	tests := []struct {
		name         string
		givenProduct entitlements.Product
		expectJSON   string
	}{
		{name: "ok, one-time with a duration", givenProduct: oneTime(),
			expectJSON: `{"id":"week_pass","title":"Week pass","description":"Premium for a week","price":50,"kind":"one_time","features":["premium"],"duration":"168h0m0s"}`},
		{name: "ok, duration of minutes and seconds", givenProduct: func() entitlements.Product { p := oneTime(); p.Duration = 90*time.Minute + time.Second; return p }(),
			expectJSON: `{"id":"week_pass","title":"Week pass","description":"Premium for a week","price":50,"kind":"one_time","features":["premium"],"duration":"1h30m1s"}`},
		{name: "ok, lifetime omits the duration", givenProduct: func() entitlements.Product { p := oneTime(); p.Duration = 0; return p }(),
			expectJSON: `{"id":"week_pass","title":"Week pass","description":"Premium for a week","price":50,"kind":"one_time","features":["premium"]}`},
		{name: "ok, consumable with a photo", givenProduct: func() entitlements.Product { p := consumable(); p.PhotoURL = "https://x.test/a.png"; return p }(),
			expectJSON: `{"id":"credits_100","title":"100 credits","description":"For generations","price":100,"kind":"consumable","credits":{"bonus":5,"credits":100},"photo_url":"https://x.test/a.png"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := json.Marshal(tc.givenProduct)
			require.NoError(t, err)
			assert.JSONEq(t, tc.expectJSON, string(data))
			// Through a pointer too: the value receiver serves both.
			ptrData, err := json.Marshal(&tc.givenProduct)
			require.NoError(t, err)
			assert.Equal(t, data, ptrData)

			var back entitlements.Product
			require.NoError(t, json.Unmarshal(data, &back))
			assert.Equal(t, tc.givenProduct, back)
		})
	}
	t.Run("ok, unmarshal replaces every field", func(t *testing.T) {
		p := oneTime()
		require.NoError(t, json.Unmarshal([]byte(`{"id":"x"}`), &p))
		assert.Equal(t, entitlements.Product{ID: "x"}, p)
	})
	t.Run("ok, the catalog round trip", func(t *testing.T) {
		c, err := entitlements.LoadCatalog(strings.NewReader(goodCatalog))
		require.NoError(t, err)
		data, err := json.Marshal(c)
		require.NoError(t, err)
		back, err := entitlements.LoadCatalog(bytes.NewReader(data))
		require.NoError(t, err)
		assert.Equal(t, c.Products(), back.Products())
	})
}

func TestProductApply(t *testing.T) {
	paid := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
	base := entitlements.Payment{
		ChargeID: "ch_1", UserID: 7, ProductID: "x", Amount: 50, Currency: entitlements.CurrencyStars, PaidAt: paid,
		// Stale effect fields that Apply must overwrite.
		Kind: entitlements.KindConsumable, Features: []string{"old"}, Credits: map[string]int64{"old": 1}, ExpiresAt: paid.Add(time.Hour),
	}
	tests := []struct {
		name         string
		givenProduct entitlements.Product
		expectEffect entitlements.Payment
	}{
		{name: "ok, subscription", givenProduct: subscription(),
			expectEffect: entitlements.Payment{Kind: entitlements.KindSubscription, Features: []string{"premium", "export"}}},
		{name: "ok, one-time with a duration", givenProduct: oneTime(),
			expectEffect: entitlements.Payment{Kind: entitlements.KindOneTime, Features: []string{"premium"}, ExpiresAt: paid.Add(168 * time.Hour)}},
		{name: "ok, one-time for life", givenProduct: func() entitlements.Product { p := oneTime(); p.Duration = 0; return p }(),
			expectEffect: entitlements.Payment{Kind: entitlements.KindOneTime, Features: []string{"premium"}}},
		{name: "ok, consumable", givenProduct: consumable(),
			expectEffect: entitlements.Payment{Kind: entitlements.KindConsumable, Credits: map[string]int64{"credits": 100, "bonus": 5}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.givenProduct.Apply(base)
			want := base
			want.Kind, want.Features, want.Credits, want.ExpiresAt = tc.expectEffect.Kind, tc.expectEffect.Features, tc.expectEffect.Credits, tc.expectEffect.ExpiresAt
			assert.Equal(t, want, got)

			// The payment owns its copies.
			if len(tc.givenProduct.Features) > 0 {
				tc.givenProduct.Features[0] = "changed"
				assert.NotEqual(t, "changed", got.Features[0])
			}
			for k := range tc.givenProduct.Credits {
				tc.givenProduct.Credits[k] = -1
				assert.Positive(t, got.Credits[k])
			}
		})
	}
}

func FuzzLoadCatalog(f *testing.F) {
	f.Add([]byte(goodCatalog))
	f.Add([]byte(`{"products":[{"id":"a","title":"A","description":"d","price":1,"kind":"one_time","features":["f"],"duration":"1h30m"}]}`))
	f.Add([]byte(`{"products":[{"id":"a","title":"A","description":"d","price":1,"kind":"consumable","credits":{"c":1}}]}`))
	f.Add([]byte(`{"products":[{"id":"a","duration":"-1.5h"}]}`))
	f.Add([]byte(`{"products":[null,{}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := entitlements.LoadCatalog(bytes.NewReader(data))
		if err != nil {
			if !errors.Is(err, entitlements.ErrInvalidCatalog) {
				t.Fatalf("error does not wrap ErrInvalidCatalog: %v", err)
			}
			return
		}
		out, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("marshal an accepted catalog: %v", err)
		}
		back, err := entitlements.LoadCatalog(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("an accepted catalog does not load after a round trip: %v\n%s", err, out)
		}
		a, b := c.Products(), back.Products()
		if len(a) != len(b) {
			t.Fatalf("round trip changed the product count: %d → %d", len(a), len(b))
		}
		for i := range a {
			if !sameProduct(a[i], b[i]) {
				t.Fatalf("round trip changed product %d:\n%+v\n%+v", i, a[i], b[i])
			}
		}
	})
}

// sameProduct compares products with nil and empty collections equal.
func sameProduct(a, b entitlements.Product) bool {
	if len(a.Features) == 0 && len(b.Features) == 0 {
		a.Features, b.Features = nil, nil
	}
	if len(a.Credits) == 0 && len(b.Credits) == 0 {
		a.Credits, b.Credits = nil, nil
	}
	return reflect.DeepEqual(a, b)
}

func ExampleLoadCatalog() {
	c, err := entitlements.LoadCatalog(strings.NewReader(`{"products":[
		{"id":"pro_month","title":"Pro","description":"Everything, monthly","price":250,
		 "kind":"subscription","features":["premium"]},
		{"id":"week_pass","title":"Week pass","description":"Premium for a week","price":50,
		 "kind":"one_time","features":["premium"],"duration":"168h"}
	]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	p, _ := c.Product("week_pass")
	fmt.Println(p.Duration, c.ProductsGranting("premium"))

	_, err = entitlements.LoadCatalog(strings.NewReader(`{"products":[
		{"id":"pro_month","title":"Pro","description":"Everything, monthly","price":250,"kind":"subscription"}
	]}`))
	fmt.Println(err)
	// Output:
	// 168h0m0s [pro_month week_pass]
	// entitlements: invalid catalog: product "pro_month": features: a subscription product needs at least one
}

func ExampleProduct_Apply() {
	week := entitlements.Product{
		ID: "week_pass", Title: "Week pass", Description: "Premium for a week", Price: 50,
		Kind: entitlements.KindOneTime, Features: []string{"premium"}, Duration: 168 * time.Hour,
	}
	// What the checkout builds from a successful_payment update.
	pay := week.Apply(entitlements.Payment{
		ChargeID: "ch_1", UserID: 42, ProductID: week.ID, Amount: 50, Currency: "XTR",
		PaidAt: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC),
	})
	fmt.Println(pay.Kind, pay.Features, pay.ExpiresAt.Format(time.RFC3339))
	// Output: one_time [premium] 2025-03-08T10:00:00Z
}
