// Package memo runs a function once per key and remembers its answer,
// errors included, for as long as the Memo lives (one digestbot run). The
// diagnoser and the signature verifier ask the registry the same questions
// for many refs; a Memo makes each question one request however many
// goroutines ask it at once.
package memo

import "sync"

// Memo maps a key to the answer of the first Get for it. The zero value
// is ready to use; a Memo must not be copied after first use.
type Memo[T any] struct {
	mu sync.Mutex
	m  map[string]*entry[T]
}

type entry[T any] struct {
	once sync.Once
	v    T
	err  error
}

// Get returns f's answer for key, calling f only on the first Get of key;
// concurrent Gets of the same key wait for that call.
func (m *Memo[T]) Get(key string, f func() (T, error)) (T, error) {
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]*entry[T]{}
	}
	e, ok := m.m[key]
	if !ok {
		e = &entry[T]{}
		m.m[key] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.v, e.err = f() })
	return e.v, e.err
}
