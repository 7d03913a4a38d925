package diff

import (
	"encoding/json"
	"fmt"
	"io"
)

// RenderJSON writes p as indented JSON: the DESIGN §6 contract, with
// format_version "1". Lists are never null. It is stable: the same plan
// always gives the same bytes.
func RenderJSON(w io.Writer, p *Plan) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding plan: %w", err)
	}
	b = append(b, '\n')
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("writing plan: %w", err)
	}
	return nil
}
