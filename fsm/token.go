package fsm

import (
	"crypto/sha256"
	"encoding/hex"
)

// HashToken is what the state keeps of a token, an ACL user's or a lock
// holder's: its hex SHA-256. The plaintext never enters the log.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
