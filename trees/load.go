package trees

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
)

// Load reads a model in either supported format, chosen by its first
// non-blank byte: '{' for XGBoost JSON, otherwise the "tree" header line of a
// LightGBM text model. XGBoost's binary UBJSON format is refused with advice
// to re-save as JSON. Errors carry the code hangar.EINVALID.
func Load(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, invalid("empty model file")
		}
		if err != nil {
			return nil, fmt.Errorf("read model: %w", err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		if err := br.UnreadByte(); err != nil {
			return nil, fmt.Errorf("read model: %w", err)
		}
		if c == '{' {
			return LoadXGBoostJSON(br)
		}
		head, _ := br.Peek(5)
		if bytes.Equal(head, []byte("tree\n")) || bytes.Equal(head, []byte("tree\r")) {
			return LoadLightGBM(br)
		}
		return nil, invalid("unknown model format: neither XGBoost JSON ('{') nor LightGBM text (\"tree\" header)")
	}
}

// LoadFile opens path and calls Load.
func LoadFile(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open model: %w", err)
	}
	defer f.Close()
	m, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", path, err)
	}
	return m, nil
}
