package resolve

import (
	"context"
	"errors"
	"strings"
	"syscall"
	"time"

	"github.com/regclient/regclient/types/errs"
)

// Call runs one registry request f with its own deadline (timeout),
// making up to attempts tries while the answer says "try again" (429,
// 5xx, 408, a reset connection), waiting delay, then twice that, between
// tries. It returns f's last error; ctx ending stops the retries. Shared by
// the diagnoser and the signature verifier, whose extra requests follow
// the same rules.
func Call(ctx context.Context, timeout time.Duration, attempts int, delay time.Duration, f func(ctx context.Context) error) error {
	for attempt := 1; ; attempt++ {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		err := f(rctx)
		cancel()
		if err == nil || attempt >= attempts || !Retryable(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(delay << (attempt - 1))
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// Retryable reports whether a regclient error says "try again".
func Retryable(err error) bool {
	if errors.Is(err, errs.ErrHTTPRateLimit) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	if errors.Is(err, errs.ErrHTTPStatus) {
		s := err.Error()
		return strings.Contains(s, "[http 5") || strings.Contains(s, "[http 408]")
	}
	return false
}

// NotFound reports whether a regclient error means the object is absent.
func NotFound(err error) bool { return err != nil && errors.Is(err, errs.ErrNotFound) }
