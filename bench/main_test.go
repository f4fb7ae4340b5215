package bench

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/internal/redistest"
)

// The package's redis-server starts on first use, so that a `go test` that
// runs nothing needing it starts none.
var (
	redisOnce sync.Once
	redisSrv  *redistest.Server
	redisErr  error
	prefixes  atomic.Int64
)

func TestMain(m *testing.M) {
	code := m.Run()
	if redisSrv != nil {
		redisSrv.Stop()
	}
	os.Exit(code)
}

// testRedis returns a client of the package's redis-server, closed when the
// test or benchmark ends, and a key prefix of its own.
func testRedis(tb testing.TB) (*goredis.Client, string) {
	tb.Helper()
	redisOnce.Do(func() { redisSrv, redisErr = redistest.Start() })
	if redisErr != nil {
		tb.Fatal(redisErr)
	}
	c := goredis.NewClient(&goredis.Options{Addr: redisSrv.Addr})
	tb.Cleanup(func() { c.Close() })
	return c, fmt.Sprintf("b%d", prefixes.Add(1))
}
