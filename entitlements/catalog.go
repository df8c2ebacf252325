package entitlements

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// Catalog is the immutable list of products for sale. Build it with
// NewCatalog or LoadCatalog; it is safe for concurrent use.
type Catalog struct {
	products  []Product
	byID      map[string]int
	byFeature map[string][]string
	byCredit  map[string][]string
}

// NewCatalog validates the products and returns a catalog of them, in the
// given order. Every problem found is reported in one error wrapping
// ErrInvalidCatalog, each naming the product and the field, e.g.
//
//	entitlements: invalid catalog: product "pro_month": title: must be 1-32 characters (got 40)
//
// A catalog without products is invalid: it would sell nothing.
func NewCatalog(products ...Product) (*Catalog, error) {
	c := &Catalog{
		products:  make([]Product, 0, len(products)),
		byID:      make(map[string]int, len(products)),
		byFeature: map[string][]string{},
		byCredit:  map[string][]string{},
	}
	var problems []string
	if len(products) == 0 {
		problems = append(problems, "no products")
	}
	for i, p := range products {
		name := productName(i, p.ID)
		for _, msg := range p.problems() {
			problems = append(problems, name+": "+msg)
		}
		if _, dup := c.byID[p.ID]; dup && p.ID != "" {
			problems = append(problems, name+": id: duplicate")
		}
		c.byID[p.ID] = i
		c.products = append(c.products, cloneProduct(p))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidCatalog, strings.Join(problems, "; "))
	}
	for _, p := range c.products {
		for _, f := range p.Features {
			c.byFeature[f] = append(c.byFeature[f], p.ID)
		}
		for _, name := range slices.Sorted(maps.Keys(p.Credits)) {
			c.byCredit[name] = append(c.byCredit[name], p.ID)
		}
	}
	// Clipped, so that a caller appending to a returned slice cannot
	// write into the catalog's spare capacity.
	for k, ids := range c.byFeature {
		c.byFeature[k] = slices.Clip(ids)
	}
	for k, ids := range c.byCredit {
		c.byCredit[k] = slices.Clip(ids)
	}
	return c, nil
}

// catalogJSON is the catalog file format.
type catalogJSON struct {
	Products []json.RawMessage `json:"products"`
}

// LoadCatalog reads a JSON catalog, {"products":[…]}, with the product
// fields of Product's JSON form, and validates it as NewCatalog does.
// Unknown fields, trailing data and malformed JSON are errors wrapping
// ErrInvalidCatalog; a failing reader's error is wrapped, not
// ErrInvalidCatalog.
func LoadCatalog(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("entitlements: read catalog: %w", err)
	}
	if err := exactKeys(data, []string{"products"}); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCatalog, err)
	}
	var file catalogJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&file); errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, fmt.Errorf("%w: the JSON ends before the catalog object does", ErrInvalidCatalog)
	} else if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidCatalog, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: data after the catalog object", ErrInvalidCatalog)
	}
	products := make([]Product, len(file.Products))
	for i, raw := range file.Products {
		if err := json.Unmarshal(raw, &products[i]); err != nil {
			var probe struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal(raw, &probe) // best effort, for the message only
			return nil, fmt.Errorf("%w: %s: %w", ErrInvalidCatalog, productName(i, probe.ID), err)
		}
	}
	return NewCatalog(products...)
}

// LoadCatalogFile is LoadCatalog of the named file.
func LoadCatalogFile(path string) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("entitlements: open catalog: %w", err)
	}
	defer f.Close()
	c, err := LoadCatalog(f)
	if err != nil {
		return nil, fmt.Errorf("%w (file %s)", err, path)
	}
	return c, nil
}

// MarshalJSON encodes the catalog in the format LoadCatalog reads.
func (c *Catalog) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Products []Product `json:"products"`
	}{c.products})
}

// Product returns a copy of the product with that ID.
func (c *Catalog) Product(id string) (Product, bool) {
	i, ok := c.byID[id]
	if !ok {
		return Product{}, false
	}
	return cloneProduct(c.products[i]), true
}

// Products returns copies of all products, in catalog order.
func (c *Catalog) Products() []Product {
	out := make([]Product, len(c.products))
	for i, p := range c.products {
		out[i] = cloneProduct(p)
	}
	return out
}

// ProductsGranting returns the IDs of the products that grant feature, in
// catalog order, or nil. The slice is shared and must not be modified; it
// is computed once, so the call does not allocate (guards call it on every
// refusal).
func (c *Catalog) ProductsGranting(feature string) []string { return c.byFeature[feature] }

// ProductsCrediting returns the IDs of the products that add to credit, in
// catalog order, or nil. The slice is shared and must not be modified.
func (c *Catalog) ProductsCrediting(credit string) []string { return c.byCredit[credit] }

func productName(i int, id string) string {
	if id == "" {
		return fmt.Sprintf("products[%d]", i)
	}
	return fmt.Sprintf("product %q", id)
}

func cloneProduct(p Product) Product {
	p.Features = slices.Clone(p.Features)
	p.Credits = maps.Clone(p.Credits)
	return p
}

// Names of features and credits.
const keyPattern = `^[a-z0-9_.:-]{1,64}$`

var (
	productIDRe = regexp.MustCompile(productIDPatternPattern)
	keyRe       = regexp.MustCompile(keyPattern)
)

// productRules is Product with the rules validator can check. It has the
// same fields as Product, so Product converts to it (tags do not count in
// conversions); the compiler complains when the two drift apart. The rules
// are kept off Product itself because its custom tags would break users who
// run their own validator over structs holding a Product.
type productRules struct {
	ID          string           `json:"id" validate:"productid"`
	Title       string           `json:"title" validate:"min=1,max=32"`
	Description string           `json:"description" validate:"min=1,max=255"`
	Price       int64            `json:"price" validate:"min=1"`
	Kind        Kind             `json:"kind" validate:"oneof=subscription one_time consumable"`
	Features    []string         `json:"features" validate:"dive,key"`
	Credits     map[string]int64 `json:"credits" validate:"dive,keys,key,endkeys,min=1"`
	Duration    time.Duration    `json:"duration"`
	PhotoURL    string           `json:"photo_url" validate:"omitempty,http_url"`
}

// lengths are the character limits of productRules' string fields, for
// messages.
var lengths = map[string][2]int{"title": {1, MaxTitleLen}, "description": {1, MaxDescriptionLen}}

var productValidator = sync.OnceValue(func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		return name
	})
	// Registration fails only for an empty tag or a nil function.
	_ = v.RegisterValidation("productid", func(fl validator.FieldLevel) bool {
		return productIDRe.MatchString(fl.Field().String())
	})
	_ = v.RegisterValidation("key", func(fl validator.FieldLevel) bool {
		return keyRe.MatchString(fl.Field().String())
	})
	return v
})

// problems lists what is wrong with p, one "field: message" per problem.
func (p Product) problems() []string {
	var out []string
	err := productValidator().Struct(productRules(p))
	var fieldErrs validator.ValidationErrors
	if errors.As(err, &fieldErrs) {
		for _, fe := range fieldErrs {
			out = append(out, fe.Field()+": "+fieldMessage(fe))
		}
	} else if err != nil {
		out = append(out, err.Error())
	}
	for i, f := range p.Features {
		if slices.Contains(p.Features[:i], f) {
			out = append(out, fmt.Sprintf("features[%d]: duplicate %q", i, f))
		}
	}
	if !utf8.ValidString(p.Title) {
		out = append(out, "title: must be valid UTF-8")
	}
	if !utf8.ValidString(p.Description) {
		out = append(out, "description: must be valid UTF-8")
	}
	switch p.Kind {
	case KindSubscription:
		if p.Price > MaxSubscriptionPrice {
			out = append(out, fmt.Sprintf("price: must be at most %d for a subscription (got %d)", MaxSubscriptionPrice, p.Price))
		}
		out = append(out, needFeatures(p)...)
		out = append(out, noCredits(p)...)
		out = append(out, noDuration(p)...)
	case KindOneTime:
		out = append(out, needFeatures(p)...)
		out = append(out, noCredits(p)...)
		switch {
		case p.Duration < 0:
			out = append(out, fmt.Sprintf("duration: must not be negative (got %s)", p.Duration))
		case p.Duration%time.Second != 0:
			// Stores keep seconds and clients see duration_seconds.
			out = append(out, fmt.Sprintf("duration: must be whole seconds (got %s)", p.Duration))
		}
	case KindConsumable:
		if len(p.Credits) == 0 {
			out = append(out, "credits: a consumable needs at least one")
		}
		if len(p.Features) > 0 {
			out = append(out, "features: not allowed on a consumable")
		}
		out = append(out, noDuration(p)...)
	}
	slices.Sort(out) // by field; map iteration made the order random
	return out
}

func needFeatures(p Product) []string {
	if len(p.Features) == 0 {
		return []string{fmt.Sprintf("features: a %s product needs at least one", p.Kind)}
	}
	return nil
}

func noCredits(p Product) []string {
	if len(p.Credits) > 0 {
		return []string{fmt.Sprintf("credits: not allowed on a %s product", p.Kind)}
	}
	return nil
}

func noDuration(p Product) []string {
	if p.Duration != 0 {
		return []string{fmt.Sprintf("duration: not allowed on a %s product", p.Kind)}
	}
	return nil
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "productid":
		return fmt.Sprintf("must match [a-z0-9_-]{1,64} (got %q)", fe.Value())
	case "key":
		return fmt.Sprintf("must match [a-z0-9_.:-]{1,64} (got %q)", fe.Value())
	case "min", "max":
		if s, ok := fe.Value().(string); ok {
			lim := lengths[fe.Field()]
			return fmt.Sprintf("must be %d-%d characters (got %d)", lim[0], lim[1], utf8.RuneCountInString(s))
		}
		return fmt.Sprintf("must be at least %s (got %v)", fe.Param(), fe.Value())
	case "oneof":
		return fmt.Sprintf("must be subscription, one_time or consumable (got %q)", fe.Value())
	case "http_url":
		return fmt.Sprintf("must be an http(s) URL (got %q)", fe.Value())
	}
	return fmt.Sprintf("fails %q", fe.Tag())
}
