// Package api is custodes' HTTP interface: echo handlers that decode and
// validate a request, call the cluster (writes) or read the local fsm
// replica after the right consistency step (reads), and encode the answer.
//
// Writes that reach a follower are forwarded to the leader as raw HTTP
// (the leader's HTTP address comes from gossip), so the leader validates,
// stamps ids and times, proposes and answers; the client never sees a
// redirect. Every error leaves through one handler that maps sentinel
// errors (errors.Is) to a status and a {"error": "..."} body.
package api
