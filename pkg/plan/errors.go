package plan

import (
	"errors"
	"fmt"
)

// Errors of Run and Scan. The returned errors match them with errors.Is;
// their text is the message alone (what went wrong and what to do).
var (
	// ErrUsage: a bad option value (a flag out of range).
	ErrUsage = errors.New("bad usage")
	// ErrConfig: the config file cannot be read or is invalid.
	ErrConfig = errors.New("bad config")
	// ErrTimeout: the registry work did not finish within the run's
	// deadline.
	ErrTimeout = errors.New("timed out")
	// ErrNotFolder: pr and comment need a folder (the checkout).
	ErrNotFolder = errors.New("not a folder")
	// ErrChanged: a file was edited while digestbot ran (Write).
	ErrChanged = errors.New("changed while digestbot ran; not written, run fix again")
)

// runError is one of the errors above with its message.
type runError struct {
	kind error
	msg  string
}

func (e *runError) Error() string { return e.msg }
func (e *runError) Unwrap() error { return e.kind }

func errorf(kind error, format string, args ...any) error {
	return &runError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
