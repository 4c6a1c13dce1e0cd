package memo

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestGetOncePerKey(t *testing.T) {
	t.Parallel()
	var m Memo[int]
	var calls atomic.Int32
	errOdd := errors.New("odd")
	f := func(n int) func() (int, error) {
		return func() (int, error) {
			calls.Add(1)
			if n%2 == 1 {
				return 0, errOdd
			}
			return n * 10, nil
		}
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 4; n++ {
				v, err := m.Get(string(rune('a'+n)), f(n))
				if n%2 == 1 && !errors.Is(err, errOdd) || n%2 == 0 && (err != nil || v != n*10) {
					t.Errorf("Get(%d) = %d, %v", n, v, err)
				}
			}
		}()
	}
	wg.Wait()
	if got := calls.Load(); got != 4 {
		t.Errorf("f called %d times for 4 keys, want 4 (errors are remembered too)", got)
	}
}
