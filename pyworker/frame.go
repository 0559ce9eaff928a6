package pyworker

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hangar-ml/hangar"
)

// Frame kinds of the protocol between the pool and a worker (bootstrap.py
// documents the same table).
const (
	kindRequest = 'Q' // pool → worker: the request body
	kindReady   = 'R' // worker → pool: init() returned; JSON {"python", "pid"}
	kindResult  = 'O' // worker → pool: run()'s return value, JSON-encoded
	kindError   = 'E' // worker → pool: JSON workerError
)

// headerSize is the frame header: a 4-byte big-endian payload length and a
// kind byte.
const headerSize = 5

// writeFrame writes one frame in a single Write, so a frame is never
// interleaved with another writer's bytes.
func writeFrame(w io.Writer, kind byte, payload []byte) error {
	buf := make([]byte, headerSize+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	buf[4] = kind
	copy(buf[headerSize:], payload)
	_, err := w.Write(buf)
	return err
}

// errFrameTooLarge reports a frame over the reader's limit; its payload has
// been read and dropped, so the stream is still in step.
var errFrameTooLarge = errors.New("frame over the size limit")

// readFrame reads one frame of at most limit payload bytes. A larger frame is
// read and discarded and errFrameTooLarge returned, so the next frame can be
// read. An unknown kind is an EINVALID error (the stream is then out of step
// and the worker must be replaced).
func readFrame(r io.Reader, limit int) (kind byte, payload []byte, err error) {
	var h [headerSize]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := binary.BigEndian.Uint32(h[:4])
	kind = h[4]
	switch kind {
	case kindRequest, kindReady, kindResult, kindError:
	default:
		return 0, nil, hangar.Errorf(hangar.EINVALID, "frame kind %q is unknown", kind)
	}
	if uint64(n) > uint64(limit) {
		if _, err := io.CopyN(io.Discard, r, int64(n)); err != nil {
			return 0, nil, fmt.Errorf("drop a %d-byte frame: %w", n, err)
		}
		return kind, nil, errFrameTooLarge
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, nil, err
	}
	return kind, payload, nil
}

// workerError is the payload of an error frame.
type workerError struct {
	Code      string   `json:"code"`
	Message   string   `json:"message"`
	Traceback string   `json:"traceback"`
	Missing   []string `json:"missing"`
}

// parseWorkerError decodes an error frame's payload into an *Error. A payload
// that is not the expected JSON is itself reported as a worker fault.
func parseWorkerError(payload []byte) *Error {
	var we workerError
	if err := json.Unmarshal(payload, &we); err != nil || we.Message == "" {
		return &Error{Code: CodeCrashed, Message: "the worker sent a malformed error frame"}
	}
	switch we.Code {
	case CodeScript, CodeBadRequest, CodeInitFailed, CodeMissingPackages:
	default:
		we.Code = CodeScript
	}
	return &Error{Code: we.Code, Message: we.Message, Traceback: we.Traceback, Missing: we.Missing}
}
