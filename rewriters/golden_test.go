package rewriters

import "flag"

// update rewrites golden files (testdata/*/*.txtar want/pinned sections).
// Shared by all golden tests in this package; define no other -update flag.
var update = flag.Bool("update", false, "rewrite golden files")
