//go:build !amd64

package cpu

// vecKernelList lists the paths this CPU runs: only the portable one.
func vecKernelList() []*vecKernels { return []*vecKernels{vecGo} }
