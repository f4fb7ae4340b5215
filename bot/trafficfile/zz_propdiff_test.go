package trafficfile

import (
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"unicode/utf16"
)

func TestZZPropDump(t *testing.T) {
	dir := "/tmp/propdiff"
	r := rand.New(rand.NewSource(1))
	alphabet := []string{"\\", "\\", "\n", "\r", "\r\n", " ", "\t", "\f", "#", "!", "=", ":", "u", "0", "a", "b", "\\u0041", "\\u00", "k"}
	var inputs [][]byte
	for i := 0; i < 30000; i++ {
		var b strings.Builder
		n := r.Intn(14)
		for j := 0; j < n; j++ {
			b.WriteString(alphabet[r.Intn(len(alphabet))])
		}
		inputs = append(inputs, []byte(b.String()))
	}
	for _, f := range []string{"testdata/properties/mule-proxy.in", "testdata/properties/duplicate.in", "testdata/properties/malformed.in", "testdata/properties/no-newline.in"} {
		b, _ := os.ReadFile(f)
		inputs = append(inputs, b, toCRLF(b))
	}
	files, _ := filepath.Glob("/root/.cache/go-build/fuzz/github.com/migratebot/migratebot/bot/trafficfile/FuzzSetProperty/*")
	for _, f := range files {
		// crude: first []byte line
		b, _ := os.ReadFile(f)
		line := strings.Split(string(b), "\n")[1]
		var s string
		if _, err := fmt.Sscanf(strings.TrimSuffix(strings.TrimPrefix(line, "[]byte("), ")"), "%q", &s); err == nil {
			inputs = append(inputs, []byte(s))
		}
	}
	for i, in := range inputs {
		ascii := true
		for _, c := range in {
			if c >= 0x80 {
				ascii = false
			}
		}
		if !ascii {
			continue
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.properties", i)), in, 0o644)
		props, err := readProperties(in, newLineIndex(in))
		var out string
		if err != nil {
			out = "ERROR\n"
		} else {
			m := map[string]string{}
			for _, p := range props {
				m[enc(p.key)] = enc(p.value)
			}
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				out += k + "=" + m[k] + "\n"
			}
		}
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.go.txt", i)), []byte(out), 0o644)
	}
}

func enc(s string) string {
	var b strings.Builder
	for _, u := range utf16.Encode([]rune(s)) {
		fmt.Fprintf(&b, "%04x", u)
	}
	return b.String()
}
