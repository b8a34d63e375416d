package doccodec

// KeyTable exposes keyTable to the tests.
func KeyTable() []string { return keyTable[:] }
