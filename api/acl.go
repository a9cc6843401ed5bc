package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/custodes/custodes/fsm"
	"github.com/custodes/custodes/fsm/acl"
	"github.com/labstack/echo/v4"
)

// ACL modes: what a request without a token may do.
const (
	// ACLAllow lets requests without a token do what they did before
	// ACLs (the default, so existing clients keep working); management
	// routes need a management token once ACLs are bootstrapped.
	ACLAllow = "allow"
	// ACLDeny refuses every request without a token (401) but the probes
	// and the bootstrap, and a token without the route's role (403).
	ACLDeny = "deny"
)

// MinInitialTokenLen is the shortest initial management token accepted.
const MinInitialTokenLen = 16

// ACLConfig is the API's ACL configuration.
type ACLConfig struct {
	// Default is ACLAllow or ACLDeny ("" is ACLAllow).
	Default string
	// InitialManagementToken, if set, is proposed (as its hash) as the
	// bootstrap token by the first leader that finds ACLs not
	// bootstrapped. Never logged: String masks it.
	InitialManagementToken string
}

// Validate checks the mode and the initial token.
func (c *ACLConfig) Validate() error {
	switch c.Default {
	case "":
		c.Default = ACLAllow
	case ACLAllow, ACLDeny:
	default:
		return fmt.Errorf("acl-default %q: use allow or deny", c.Default)
	}
	if c.InitialManagementToken != "" {
		if err := ValidateInitialToken(c.InitialManagementToken); err != nil {
			return err
		}
	}
	return nil
}

// ValidateInitialToken checks an initial management token as read from
// its file (after trimming). The message never repeats the token.
func ValidateInitialToken(tok string) error {
	switch {
	case tok == "":
		return errors.New("initial management token: the file is empty")
	case len(tok) < MinInitialTokenLen:
		return fmt.Errorf("initial management token: %d characters, use at least %d", len(tok), MinInitialTokenLen)
	case strings.ContainsFunc(tok, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return errors.New("initial management token: it contains spaces or control characters")
	}
	return nil
}

// String masks the token, so a config printed by mistake leaks nothing.
func (c ACLConfig) String() string {
	set := "unset"
	if c.InitialManagementToken != "" {
		set = "set"
	}
	return fmt.Sprintf("{Default:%s InitialManagementToken:<%s>}", c.Default, set)
}

// GoString masks the token for %#v too.
func (c ACLConfig) GoString() string { return c.String() }

// NewToken draws a token: 32 bytes from crypto/rand, base64url without
// padding (43 characters, 256 bits).
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("drawing a token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// aclRoutes mounts the ACL API.
func (s *Server) aclRoutes(e *echo.Echo) {
	e.POST("/acl/bootstrap", s.aclBootstrap)
	e.GET("/acl/whoami", s.aclWhoami)
	e.GET("/acl/users", s.aclUsers)
	e.POST("/acl/users", s.aclCreateUser)
	e.DELETE("/acl/users/:name", s.aclDeleteUser)
	e.POST("/acl/users/:name/token", s.aclRotateToken)
}

// userView is a user as the API shows it: never the token's hash.
type userView struct {
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	Token       string   `json:"token,omitempty"`
	CreateIndex uint64   `json:"create_index,omitempty"`
	ModifyIndex uint64   `json:"modify_index,omitempty"`
}

// aclBootstrap handles POST /acl/bootstrap: the first management token,
// once per cluster.
func (s *Server) aclBootstrap(c echo.Context) error {
	tok, err := NewToken()
	if err != nil {
		return err
	}
	res, err := s.aclWrite(c, fsm.ACLBootstrapRequestType, &acl.BootstrapRequest{TokenHash: HashToken(tok)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userView{Name: res.User.Name, Roles: res.User.Roles, Token: tok})
}

// aclWhoami handles GET /acl/whoami.
func (s *Server) aclWhoami(c echo.Context) error {
	u, ok := requestUser(c)
	if !ok {
		return aclHTTPError(fmt.Errorf("%w: this route needs a token", ErrUnauthorized))
	}
	return c.JSON(http.StatusOK, userView{Name: u.Name, Roles: u.Roles, CreateIndex: u.CreateIndex, ModifyIndex: u.ModifyIndex})
}

// aclUsers handles GET /acl/users (a linearizable read unless ?stale).
func (s *Server) aclUsers(c echo.Context) error {
	if err := s.consistentRead(c); err != nil {
		return err
	}
	users := s.cluster.FSM().Users()
	out := make([]userView, len(users))
	for i, u := range users {
		out[i] = userView{Name: u.Name, Roles: u.Roles, CreateIndex: u.CreateIndex, ModifyIndex: u.ModifyIndex}
	}
	return c.JSON(http.StatusOK, map[string]any{"users": out})
}

// createUserBody is POST /acl/users's body.
type createUserBody struct {
	Name  string   `json:"name"`
	Roles []string `json:"roles"`
}

// aclCreateUser handles POST /acl/users.
func (s *Server) aclCreateUser(c echo.Context) error {
	body, err := requestBody(c)
	if err != nil {
		return err
	}
	var b createUserBody
	if err := decodeJSON(body, &b); err != nil {
		return err
	}
	tok, err := NewToken()
	if err != nil {
		return err
	}
	res, err := s.aclWrite(c, fsm.ACLCreateUserRequestType, &acl.CreateUserRequest{Name: b.Name, Roles: b.Roles, TokenHash: HashToken(tok)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, userView{Name: res.User.Name, Roles: res.User.Roles, Token: tok, CreateIndex: res.Index, ModifyIndex: res.Index})
}

// aclDeleteUser handles DELETE /acl/users/{name}: answered once every
// live agent has applied it, so the token is refused everywhere.
func (s *Server) aclDeleteUser(c echo.Context) error {
	res, err := s.aclWrite(c, fsm.ACLDeleteUserRequestType, &acl.DeleteUserRequest{Name: c.Param("name")})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"name": res.User.Name, "change": "removed"})
}

// aclRotateToken handles POST /acl/users/{name}/token: a new token; the
// old one is refused everywhere once this answers.
func (s *Server) aclRotateToken(c echo.Context) error {
	tok, err := NewToken()
	if err != nil {
		return err
	}
	res, err := s.aclWrite(c, fsm.ACLSetTokenRequestType, &acl.SetTokenRequest{Name: c.Param("name"), TokenHash: HashToken(tok)})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, userView{Name: res.User.Name, Roles: res.User.Roles, Token: tok, ModifyIndex: res.Index})
}

// aclWrite validates and proposes an ACL command, then waits until every
// live agent has applied it: a token created, rotated away or deleted
// must hold on whichever agent the client asks next. Past the bound the
// answer goes out anyway, with a warning in the log.
func (s *Server) aclWrite(c echo.Context, t fsm.MessageType, req any) (*acl.Result, error) {
	if len(s.cfg.Keys) == 0 {
		// Without a cluster key the agents' own protocol is open to anyone
		// who reaches the port: tokens could be bypassed there, so users
		// and tokens are not made at all.
		return nil, fmt.Errorf("%w: ACLs need a cluster key: start the agents with --encrypt (custodes keygen makes one)", ErrForbidden)
	}
	ctx := c.Request().Context()
	a, err := s.cluster.Propose(ctx, t, req)
	ledBy(c, a.By)
	if err != nil {
		return nil, aclHTTPError(err)
	}
	res := a.Resp.(*acl.Result)
	c.Response().Header().Set(HeaderIndex, strconv.FormatUint(res.Index, 10))
	if err := s.cluster.WaitAllApplied(ctx, res.Index); err != nil {
		s.log.Warn("acl change acknowledged before every agent applied it", "type", t.String(), "index", res.Index, "error", err)
	}
	return res, nil
}

// aclHTTPError words the ACL layer's business outcomes for clients; their
// status codes come from the one table (statusOf), and errors.Is still
// matches the sentinel.
func aclHTTPError(err error) error {
	switch {
	case errors.Is(err, fsm.ErrAlreadyBootstrapped):
		return fmt.Errorf("%w: ACLs were bootstrapped already: ask a management user for a token", fsm.ErrAlreadyBootstrapped)
	case errors.Is(err, fsm.ErrUserExists):
		return fmt.Errorf("%w: a user with that name exists", fsm.ErrUserExists)
	}
	return err
}
