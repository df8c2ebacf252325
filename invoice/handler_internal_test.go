package invoice

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestCeilSeconds(t *testing.T) {
	tests := []struct {
		name   string
		when   time.Duration
		expect int64
	}{
		{name: "ok, zero is still one second", when: 0, expect: 1},
		{name: "ok, a nanosecond rounds up", when: time.Nanosecond, expect: 1},
		{name: "ok, whole seconds stay", when: 6 * time.Second, expect: 6},
		{name: "ok, a fraction rounds up", when: 4*time.Second + time.Microsecond, expect: 5},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.expect, ceilSeconds(tc.when))
		})
	}
}
