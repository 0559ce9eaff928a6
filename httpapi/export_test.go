package httpapi

// SyncBuffer lets the external tests (package httpapi_test) share the
// concurrent log sink of the internal ones.
type SyncBuffer = syncBuffer
