package githubemu

import "fmt"

// Moment is when, while a call is served, a hook set with OnNextCall runs.
type Moment int

const (
	// BeforeServing is after the call passed authentication, rate limits
	// and FailNext, and before it changed anything.
	BeforeServing Moment = iota
	// AfterServing is after the call took effect (a ref moved, a PR
	// opened), before its answer is sent.
	AfterServing
)

// OnNextCall runs f during the next call to route (as in Call.Route, e.g.
// "POST /repos/{owner}/{repo}/pulls"), at moment: fault tests use it to
// kill a bot process at an exact point of a step, or to lose an answer.
//
// f returns the status to answer instead of the call's own, 0 to keep it.
// Before serving, a status also keeps the call from taking effect, as
// FailNext does. After serving, the call has taken effect and its answer is
// replaced, as when GitHub acts and the proxy in front of it gives up (a
// 502): the client cannot tell that it did.
//
// f runs with the emulator's state locked, so nothing else is served
// meanwhile and the state is exactly that of the moment; f must not call
// the Server's methods. Several hooks on one route run one per call, the
// one set last first. An unknown route panics, as with FailNext.
func (s *Server) OnNextCall(route string, at Moment, f func() (status int)) {
	rt := s.router.byName(route)
	if rt == nil {
		panic(fmt.Sprintf("githubemu: OnNextCall: no route %q", route))
	}
	// A route's handler is only read and called with s.mu held
	// (handleLocked), so it may be wrapped under it.
	s.mu.Lock()
	defer s.mu.Unlock()
	inner := rt.handle
	fired := false
	rt.handle = func(c *call) (int, any, error) {
		if fired {
			return inner(c)
		}
		fired = true
		if at == BeforeServing {
			if status := f(); status != 0 {
				return 0, nil, injectedError(status, nil)
			}
			return inner(c)
		}
		code, out, err := inner(c)
		if status := f(); status != 0 {
			return 0, nil, injectedError(status, nil)
		}
		return code, out, err
	}
}
