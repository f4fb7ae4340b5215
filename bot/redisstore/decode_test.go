package redisstore

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"

	"github.com/migratebot/migratebot/bot"
)

// FuzzMigrationDecode: stored migrations are decoded with segmentio's
// encoding/json for speed; whatever the bytes, it must answer as the
// standard library would: the same error or not, and the same migration.
// Its seeds are migrations as the sandbox stores them.
func FuzzMigrationDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var want, got bot.Migration
		wantErr := json.Unmarshal(data, &want)
		err := unmarshal(data, &got)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("decode error %v, the standard library's %v", err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(got, want) {
			t.Fatalf("decoded %+v,\nthe standard library %+v", got, want)
		}
	})
}

// BenchmarkMigrationDecode: one stored migration (the walkthrough's seed),
// decoded by the standard library and by the store.
func BenchmarkMigrationDecode(b *testing.B) {
	raw, err := os.ReadFile("testdata/fuzz/FuzzMigrationDecode/walkthrough")
	if err != nil {
		b.Fatal(err)
	}
	var data []byte
	if err := seedBytes(raw, &data); err != nil {
		b.Fatal(err)
	}
	for _, dec := range []struct {
		name string
		f    func([]byte, *bot.Migration) error
	}{
		{"encoding/json", func(d []byte, m *bot.Migration) error { return json.Unmarshal(d, m) }},
		{"store", unmarshal},
	} {
		b.Run(dec.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				var m bot.Migration
				if err := dec.f(data, &m); err != nil || m.ID == "" {
					b.Fatal(err)
				}
			}
		})
	}
}

// seedBytes reads a fuzz seed file holding one []byte("...") value; its
// quoting is a JSON string's.
func seedBytes(raw []byte, out *[]byte) error {
	const head = "go test fuzz v1\n[]byte("
	s := string(raw)
	if len(s) < len(head)+2 || s[:len(head)] != head {
		return os.ErrInvalid
	}
	s = s[len(head):]
	end := len(s) - 1
	for end > 0 && s[end] != ')' {
		end--
	}
	var str string
	if err := json.Unmarshal([]byte(s[:end]), &str); err != nil {
		return err
	}
	*out = []byte(str)
	return nil
}
