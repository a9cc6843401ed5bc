// Package api is custodes' HTTP interface: echo handlers that decode and
// validate a request, call the cluster (writes) or read the local fsm
// replica after the right consistency step (reads), and encode the answer.
//
// A write is decoded and validated on whichever agent receives it and
// handed to cluster.Propose as a typed command; on a follower the cluster
// layer sends it to the leader, which checks it again and stamps ids and
// times. The client never sees a redirect, and an answer the leader gave
// names it in X-Custodes-Served-By. Every error leaves through one handler
// that maps sentinel errors (errors.Is) to a status and a {"error": "..."}
// body. The agents' own protocol is cluster's, mounted under /internal/.
//
// Every route passes authorize (authz.go) after routing: the request's
// token is hashed and resolved against the local replica's users, and one
// table names each route's permission; acl.go serves /acl/ (bootstrap,
// users, whoami, token rotation). Tokens are drawn here and only their
// SHA-256 is proposed.
package api
