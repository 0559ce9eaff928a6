package hangar

import (
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Text rule. Every piece of text Hangar accepts — names, descriptions, tag
// keys and values, secret values, filters, path and query parameters — is
// valid UTF-8 without NUL (U+0000). Such text reads back from SQLite and
// PostgreSQL exactly as it was written (PostgreSQL cannot store NUL at all,
// and invalid UTF-8 would otherwise be replaced with U+FFFD on the way in).
// In JSON the rule applies after unescaping: a \u escape must not encode NUL
// and surrogate escapes must come in valid pairs, as UTF-16 requires.
// ValidateText checks one value; CheckJSONText checks a whole JSON body.

// CheckJSONText checks the text of a JSON document before it is decoded:
// the document is valid UTF-8, and no string in it (keys included) holds a
// NUL, raw or escaped, or a lone surrogate escape ("\ud800" without its low
// half, or a low half alone) — text that encoding/json would silently
// replace with U+FFFD. It does not check the JSON syntax itself; the decoder
// does. Errors: EINVALID naming the byte offset, never quoting the input.
func CheckJSONText(data []byte) error {
	if !utf8.Valid(data) {
		off := 0
		for off < len(data) {
			r, n := utf8.DecodeRune(data[off:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			off += n
		}
		return Errorf(EINVALID, "request body is not valid UTF-8 (at byte offset %d): text must be UTF-8", off)
	}
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if !inString {
			if c == '"' {
				inString = true
			}
			continue
		}
		switch c {
		case '"':
			inString = false
		case 0:
			return Errorf(EINVALID, "a JSON string holds a NUL character (at byte offset %d): text must not contain NUL", i)
		case '\\':
			if i+1 >= len(data) {
				return nil // the decoder reports the truncation
			}
			i++
			if data[i] != 'u' {
				continue
			}
			u, ok := hex4(data, i+1)
			if !ok {
				continue // a malformed escape: the decoder reports it
			}
			at := i - 1
			i += 4
			switch {
			case u == 0:
				return Errorf(EINVALID, "a JSON string holds the escape \\u0000, a NUL character (at byte offset %d): text must not contain NUL", at)
			case utf16.IsSurrogate(rune(u)) && u >= 0xDC00:
				return Errorf(EINVALID, "a JSON string holds a lone low surrogate escape (at byte offset %d): surrogate escapes must come in high-low pairs", at)
			case utf16.IsSurrogate(rune(u)):
				if i+2 < len(data) && data[i+1] == '\\' && data[i+2] == 'u' {
					if lo, ok := hex4(data, i+3); ok && lo >= 0xDC00 && lo <= 0xDFFF {
						i += 6
						continue
					}
				}
				return Errorf(EINVALID, "a JSON string holds a lone high surrogate escape (at byte offset %d): surrogate escapes must come in high-low pairs", at)
			}
		}
	}
	return nil
}

// hex4 parses the four hex digits at data[i:i+4].
func hex4(data []byte, i int) (uint16, bool) {
	if i+4 > len(data) {
		return 0, false
	}
	var v uint16
	for _, c := range data[i : i+4] {
		v <<= 4
		switch {
		case c >= '0' && c <= '9':
			v |= uint16(c - '0')
		case c >= 'a' && c <= 'f':
			v |= uint16(c-'a') + 10
		case c >= 'A' && c <= 'F':
			v |= uint16(c-'A') + 10
		default:
			return 0, false
		}
	}
	return v, true
}

// Bounds of the times Hangar stores: every stored time must read back and
// encode as RFC 3339, whose years have four digits, in UTC.
var (
	MinTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC)
)

// ValidateTime checks that a time a client supplies lies between MinTime and
// MaxTime once in UTC: "9999-12-31T23:59:59-23:59" is year 10000 in UTC,
// which no response could carry back. field names it in the message.
func ValidateTime(field string, t time.Time) error {
	if t.Before(MinTime) || t.After(MaxTime) {
		return Errorf(EINVALID, "%s %s is out of range: times must lie between %s and %s in UTC",
			field, t.Format(time.RFC3339), MinTime.Format(time.RFC3339), MaxTime.Format(time.RFC3339))
	}
	return nil
}
