package storage

import (
	"fmt"

	"github.com/google/uuid"
)

// NewID returns a new record ID: a UUIDv7 in its canonical text form. IDs sort
// by creation time, are safe to show to users and are made by the library,
// never by the database.
func NewID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// NewV7 fails only when the system's random source fails, which
		// leaves nothing sensible to do.
		panic(fmt.Sprintf("storage: uuid.NewV7: %v", err))
	}
	return id.String()
}

// ValidID reports whether s is a UUID in canonical text form, as made by
// NewID: 36 characters, lower-case hex.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return false
		}
	}
	_, err := uuid.Parse(s)
	return err == nil
}
