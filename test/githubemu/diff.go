package githubemu

import (
	"fmt"
	"strings"
)

// maxDiffCells bounds the LCS table; larger files are diffed as a whole
// replacement, which still gives correct content and plausible counts.
const maxDiffCells = 4_000_000

// unifiedPatch returns a one-hunk unified diff of old -> new, in the form
// GitHub puts in a pull request file's "patch", with the numbers of added
// and deleted lines.
func unifiedPatch(old, new string) (patch string, additions, deletions int) {
	a, b := splitLines(old), splitLines(new)
	ops := lineDiff(a, b)
	var body strings.Builder
	for _, op := range ops {
		body.WriteByte(op.kind)
		body.WriteString(op.line)
		body.WriteByte('\n')
		switch op.kind {
		case '+':
			additions++
		case '-':
			deletions++
		}
	}
	if additions == 0 && deletions == 0 {
		return "", 0, 0
	}
	header := fmt.Sprintf("@@ %s %s @@\n", hunkRange('-', len(a)), hunkRange('+', len(b)))
	return strings.TrimSuffix(header+body.String(), "\n"), additions, deletions
}

func hunkRange(sign byte, n int) string {
	if n == 0 {
		return string(sign) + "0,0"
	}
	return fmt.Sprintf("%c1,%d", sign, n)
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

type diffOp struct {
	kind byte // ' ', '-', '+'
	line string
}

// lineDiff is a longest-common-subsequence line diff.
func lineDiff(a, b []string) []diffOp {
	if len(a)*len(b) > maxDiffCells {
		ops := make([]diffOp, 0, len(a)+len(b))
		for _, l := range a {
			ops = append(ops, diffOp{'-', l})
		}
		for _, l := range b {
			ops = append(ops, diffOp{'+', l})
		}
		return ops
	}
	// lcs[i][j] is the LCS length of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var ops []diffOp
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			ops = append(ops, diffOp{' ', a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			ops = append(ops, diffOp{'-', a[i]})
			i++
		default:
			ops = append(ops, diffOp{'+', b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		ops = append(ops, diffOp{'-', a[i]})
	}
	for ; j < len(b); j++ {
		ops = append(ops, diffOp{'+', b[j]})
	}
	return ops
}
