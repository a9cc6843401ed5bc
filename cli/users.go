package cli

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// ACL users and the bootstrap. A token the API makes is shown once: the
// commands print it alone on stdout (so `T=$(custodes users create ...)`
// works) and what it is on stderr.

type userView struct {
	Name        string   `json:"name"`
	Roles       []string `json:"roles"`
	Token       string   `json:"token"`
	CreateIndex uint64   `json:"create_index"`
	ModifyIndex uint64   `json:"modify_index"`
}

func runUsers(inv *invocation, args []string) error {
	return inv.subcommand("users", args, map[string]func(*invocation, []string) error{
		"ls": usersLs, "create": usersCreate, "rm": usersRm, "rotate": usersRotate,
	}, [][2]string{
		{"ls", "list the users and their roles"},
		{"create", "create a user; prints its token"},
		{"rm", "delete a user (its token stops working everywhere)"},
		{"rotate", "give a user a new token; the old one stops working"},
	})
}

func usersLs(inv *invocation, args []string) error {
	f := inv.newFlags("users ls", "[flags]", "List the ACL users and their roles (needs a management token).")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var ans struct {
		Users []userView `json:"users"`
	}
	if done, err := f.get(inv, "/acl/users", nil, &ans); done || err != nil {
		return err
	}
	sort.Slice(ans.Users, func(i, j int) bool { return ans.Users[i].Name < ans.Users[j].Name })
	rows := make([][]string, len(ans.Users))
	for i, u := range ans.Users {
		rows[i] = []string{u.Name, orDash(strings.Join(u.Roles, ",")), strconv.FormatUint(u.CreateIndex, 10), strconv.FormatUint(u.ModifyIndex, 10)}
	}
	return writeTable(inv.stdout, []string{"NAME", "ROLES", "CREATED", "MODIFIED"}, rows)
}

func usersCreate(inv *invocation, args []string) error {
	f := inv.newFlags("users create", "[flags] NAME --role ROLE",
		"Create a user with roles (management, services:write, services:read). Prints the user's token on stdout:\n"+
			"it is shown once.")
	var roles listFlag
	f.Var(&roles, "role", "a role: management, services:write or services:read; repeat the flag or separate with commas")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	if len(roles) == 0 {
		return f.usagef("at least one --role is needed")
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	return inv.tokenAnswer(f, c, http.MethodPost, "/acl/users", map[string]any{"name": ops[0], "roles": []string(roles)}, "created user")
}

func usersRotate(inv *invocation, args []string) error {
	f := inv.newFlags("users rotate", "[flags] NAME", "Give the user a new token (printed on stdout); the old one stops working on every agent.")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	return inv.tokenAnswer(f, c, http.MethodPost, "/acl/users/"+ops[0]+"/token", nil, "new token for")
}

// tokenAnswer makes a call that answers a user with a token, and prints it.
func (inv *invocation) tokenAnswer(f *cmdFlags, c *client, method, path string, body any, what string) error {
	var u userView
	raw, err := c.send(inv.ctx, method, path, nil, body, &u)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(inv.stdout, raw)
	}
	fmt.Fprintln(inv.stdout, u.Token)
	fmt.Fprintf(inv.stderr, "%s %s (roles %s); the token above is shown once\n", what, u.Name, strings.Join(u.Roles, ","))
	return nil
}

func usersRm(inv *invocation, args []string) error {
	f := inv.newFlags("users rm", "[flags] NAME", "Delete a user: its token stops working on every agent.")
	ops, err := f.operands(args, 1, 1)
	if err != nil {
		return err
	}
	if done, err := f.send(inv, http.MethodDelete, "/acl/users/"+ops[0], nil, nil, nil); done || err != nil {
		return err
	}
	fmt.Fprintf(inv.stdout, "deleted user %s\n", ops[0])
	return nil
}

func runACL(inv *invocation, args []string) error {
	return inv.subcommand("acl", args, map[string]func(*invocation, []string) error{
		"bootstrap": aclBootstrap, "whoami": aclWhoami,
	}, [][2]string{
		{"bootstrap", "turn ACLs on; prints the first management token"},
		{"whoami", "the user the token belongs to"},
	})
}

func aclBootstrap(inv *invocation, args []string) error {
	f := inv.newFlags("acl bootstrap", "[flags]",
		"Bootstrap ACLs (once per cluster): prints the management token on stdout. It is shown once: keep it.")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	c, err := f.client(inv)
	if err != nil {
		return err
	}
	return inv.tokenAnswer(f, c, http.MethodPost, "/acl/bootstrap", nil, "bootstrapped ACLs: management user")
}

func aclWhoami(inv *invocation, args []string) error {
	f := inv.newFlags("acl whoami", "[flags]", "Show the user the token belongs to, and its roles.")
	if _, err := f.operands(args, 0, 0); err != nil {
		return err
	}
	var u userView
	if done, err := f.get(inv, "/acl/whoami", nil, &u); done || err != nil {
		return err
	}
	return writeTable(inv.stdout, []string{"NAME", "ROLES"}, [][]string{{u.Name, orDash(strings.Join(u.Roles, ","))}})
}
