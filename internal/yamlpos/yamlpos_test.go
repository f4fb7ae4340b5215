package yamlpos

import (
	"strings"
	"testing"
)

// TestOffsetFindsTheToken: for each kind of line break and for multi-byte
// characters, the offset of a node's position is where its token starts.
func TestOffsetFindsTheToken(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"LF", "a: 1\nweight: 25\n"},
		{"CRLF", "a: 1\r\nweight: 25\r\n"},
		{"CR", "a: 1\rweight: 25\r"},
		{"BOM", "\xef\xbb\xbfa: 1\nweight: 25\n"},
		{"multi-byte before the token", "a: 1\nwéïght: 25\n"},
		{"NEL", "a: 1\xc2\x85weight: 25\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := DecodeOne([]byte(tc.content))
			if err != nil {
				t.Fatal(err)
			}
			top := doc.Content[0]
			value := top.Content[3]
			off, err := NewLines([]byte(tc.content)).Offset(value.Line, value.Column)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(tc.content[off:], "25") {
				t.Errorf("offset %d points at %q", off, tc.content[off:])
			}
		})
	}
}

func TestDecodeOneRefuses(t *testing.T) {
	for name, in := range map[string]string{
		"two documents": "a: 1\n---\nb: 2\n",
		"not UTF-8":     "a: \xff\n",
		"empty":         "",
		"broken":        "a: [1, 2\n",
	} {
		if _, err := DecodeOne([]byte(in)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewLines([]byte("a\n")).Offset(5, 1); err == nil {
		t.Error("a line past the end has an offset")
	}
}
