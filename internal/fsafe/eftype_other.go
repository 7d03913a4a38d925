//go:build unix && !netbsd

package fsafe

func isEFTYPE(error) bool { return false }
