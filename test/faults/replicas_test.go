package faults

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/migratebot/migratebot/internal/serveproc"
)

// holder returns the replica whose worker holds a job read and not
// acknowledged: the queue's consumers are named "<host>-<pid>-<worker>".
func holder(ctx context.Context, rdb *goredis.Client, rs []*serveproc.Replica) (*serveproc.Replica, error) {
	pending, err := rdb.XPendingExt(ctx, &goredis.XPendingExtArgs{Stream: "mb:{queue}:jobs", Group: "workers", Start: "-", End: "+", Count: 100}).Result()
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		for _, r := range rs {
			if strings.Contains(p.Consumer, fmt.Sprintf("-%d-", r.Cmd.Process.Pid)) {
				return r, nil
			}
		}
	}
	return nil, fmt.Errorf("no replica holds a job (pending: %+v)", pending)
}
