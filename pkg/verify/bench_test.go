package verify_test

import (
	"context"
	"testing"

	"github.com/digestbot/digestbot/pkg/internal/testregistry"
	"github.com/digestbot/digestbot/pkg/internal/testsign"
)

// BenchmarkVerify measures one digest's verification, from the registry
// requests to sigstore-go's verdict, with a fresh Verifier per iteration
// (no memo) against the in-process registry (referrers through the
// fallback tag). Recorded on the shared 2-core development machine,
// go1.26.8, `go test -bench Verify -benchtime 200x ./pkg/verify`:
//
//	key/tag         1.06 ms/op   2 requests/op
//	key/bundle      1.36 ms/op   5 requests/op
//	keyless/tag     1.49 ms/op   2 requests/op
//	keyless/bundle  2.09 ms/op   5 requests/op
//	unsigned        0.79 ms/op   3 requests/op
func BenchmarkVerify(b *testing.B) {
	for _, bc := range []struct {
		name string
		sign func(e *env, dig string)
		rule func(e *env) string
	}{
		{"key/tag", func(e *env, d string) { e.push.PushSigs(b, e.repo, d, testsign.KeySig(b, e.key, e.image(), d)) }, (*env).keyRule},
		{"key/bundle", func(e *env, d string) { e.push.PushBundle(b, e.repo, d, testsign.KeyBundle(b, e.key, e.image(), d)) }, (*env).keyRule},
		{"keyless/tag", func(e *env, d string) {
			e.push.PushSigs(b, e.repo, d, testsign.KeylessSig(b, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, func(e *env) string { return e.keylessRule(testsign.GHIdentity) }},
		{"keyless/bundle", func(e *env, d string) {
			e.push.PushBundle(b, e.repo, d, testsign.KeylessBundle(b, e.vs, testsign.GHIdentity, testsign.GHIssuer, e.image(), d))
		}, func(e *env) string { return e.keylessRule(testsign.GHIdentity) }},
		{"unsigned", func(*env, string) {}, (*env).keyRule},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := setup(b, testregistry.New)
			bc.sign(e, e.dig)
			requests := 0
			for i := 0; i < b.N; i++ {
				// Config, key and trusted-root loading are a run's, not
				// a digest's: outside the timer.
				b.StopTimer()
				v, _ := e.verifier(b, bc.rule(e))
				b.StartTimer()
				r := v.Verify(context.Background(), e.reg.Host(), e.repo, e.dig)
				if r.Err != nil || r.Verified == (bc.name == "unsigned") {
					b.Fatalf("%+v", r)
				}
				requests += e.reg.Counts().Total
			}
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
		})
	}
}
