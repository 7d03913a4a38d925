package scimtest

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/scimsync/scimsync/scim"
)

// scimError is an RFC 7644 §3.12 error. Handlers return it and the server
// writes it as the response body.
type scimError struct {
	status   int
	scimType string
	detail   string
}

func (e *scimError) Error() string {
	if e.scimType != "" {
		return fmt.Sprintf("%d %s: %s", e.status, e.scimType, e.detail)
	}
	return fmt.Sprintf("%d: %s", e.status, e.detail)
}

// errorBody is the JSON form of an error response. Status is a string, as
// RFC 7644 §3.12 says.
type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	SCIMType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

func (e *scimError) body() errorBody {
	return errorBody{
		Schemas:  []string{scim.SchemaError},
		Status:   strconv.Itoa(e.status),
		SCIMType: e.scimType,
		Detail:   e.detail,
	}
}

func errorf(status int, scimType, format string, args ...any) *scimError {
	return &scimError{status: status, scimType: scimType, detail: fmt.Sprintf(format, args...)}
}

func badRequest(scimType, format string, args ...any) *scimError {
	return errorf(http.StatusBadRequest, scimType, format, args...)
}

func notFound(format string, args ...any) *scimError {
	return errorf(http.StatusNotFound, "", format, args...)
}

// scimType values of RFC 7644 §3.12.
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
)
