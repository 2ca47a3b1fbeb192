package rest

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/probe-appliance/probe/controlplane/pools"
	"github.com/probe-appliance/probe/internal/badinput"
)

// Pools (ntopng's pools_rest_utils.lua): add, edit, delete and get per
// pool instance, plus the host pool member calls.

// The pool answers of rest_utils.lua.
var (
	RCPoolAdded          = RC{0, "POOL_ADDED_SUCCESSFULLY", "Pool added successfully", 200}
	RCPoolEdited         = RC{0, "POOL_EDITED_SUCCESSFULLY", "Pool edited successfully", 200}
	RCPoolDeleted        = RC{0, "POOL_DELETED_SUCCESSFULLY", "Pool deleted successfully", 200}
	RCPoolMemberBound    = RC{0, "POOL_MEMBER_BOUND_SUCCESSFULLY", "Pool member bound successfully", 200}
	RCAddPoolFailed      = RC{-13, "ADD_POOL_FAILED", "Unable to add a pool with the submitted params", 409}
	RCEditPoolFailed     = RC{-14, "EDIT_POOL_FAILED", "Unable to edit a pool with the submitted params", 409}
	RCDeletePoolFailed   = RC{-15, "DELETE_POOL_FAILED", "Unable to delete a pool with the submitted params", 409}
	RCPoolNotFound       = RC{-16, "POOL_NOT_FOUND", "Pool not found", 409}
	RCBindMemberFailed   = RC{-17, "BIND_POOL_MEMBER_FAILED", "Unable to bind the sumbitted member to the pool", 409}
	RCMemberAlreadyBound = RC{-18, "BIND_POOL_MEMBER_ALREADY_BOUND", "Unable to bind member which is already bound to another pool", 409}
	RCTooManyPools       = RC{-53, "ADD_POOL_FAILED_TOO_MANY_POOLS", "Too many pools created. Consider upgrading ntopng to Enterprise M or above to create additional pools.", 409}
)

func (s *Server) addPoolRoutes(t routeTable) {
	const v1, pro = restPrefix, "/lua/pro/rest/v1/"
	for _, inst := range []string{pools.Interface, pools.Host, pools.Network, pools.ActiveMonitoring} {
		t.write(v1+"add/"+inst+"/pool.lua", roleAdmin, capNone, s.addPool(inst))
		t.write(v1+"delete/"+inst+"/pool.lua", roleAdmin, capNone, s.deletePool(inst))
	}
	for _, inst := range []string{pools.Interface, pools.Host, pools.Network, pools.ActiveMonitoring, pools.Flow, pools.MAC, pools.HostPools, pools.System} {
		t.write(v1+"edit/"+inst+"/pool.lua", roleAdmin, capNone, s.editPool(inst))
	}
	for _, inst := range []string{pools.Interface, pools.Host, pools.Network, pools.Flow, pools.MAC, pools.HostPools, pools.System} {
		t.read(v1+"get/"+inst+"/pools.lua", roleUser, capNone, s.getPools(inst))
	}
	t.read(v1+"get/active_monitoring/pool.lua", roleUser, capNone, s.getPools(pools.ActiveMonitoring))
	t.write(pro+"add/snmp/device/pool.lua", roleAdmin, capNone, s.addPool(pools.SNMPDevice))
	t.write(pro+"edit/snmp/device/pool.lua", roleAdmin, capNone, s.editPool(pools.SNMPDevice))
	t.write(pro+"delete/snmp/device/pool.lua", roleAdmin, capNone, s.deletePool(pools.SNMPDevice))
	t.read(pro+"get/snmp/device/pool.lua", roleUser, capNone, s.getPools(pools.SNMPDevice))
	t.read(v1+"get/pools.lua", roleUser, capNone, s.getAllPools)
	t.write(v1+"delete/pools.lua", roleAdmin, capNone, s.deleteAllPools)
	t.read(v1+"get/host/pool/members.lua", roleUser, capNone, s.getHostPoolMembers)
	t.write(v1+"bind/host/pool/member.lua", roleAdmin, capNone, s.bindHostPoolMember)
	t.read(v1+"get/host/pool_by_member.lua", roleUser, capNone, s.getHostPoolByMember)
}

// pools gives the handler the pools; changes are for administrators only
// (ntopng's pools capability, which only administrators have here).
func (s *Server) pools(r *request, change bool) (*pools.Pools, RC, any) {
	if change && !r.admin {
		return nil, RCNotGranted, nil
	}
	if s.cfg.Pools == nil {
		return nil, RCNotEnabled, map[string]string{"error": "pools are not set up in this process"}
	}
	return s.cfg.Pools, RCOK, nil
}

// poolFailed is rc for errors the request caused and INTERNAL_ERROR for
// the store's.
func poolFailed(rc RC, err error) (RC, any) {
	if !badinput.Is(err) {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return rc, map[string]string{"error": err.Error()}
}

// poolID reads the pool parameter; ok is false when it is absent or out of
// range (the lint lets any run of digits through).
func poolID(p Params) (int, bool) {
	v, ok := p["pool"]
	if !ok {
		return 0, false
	}
	id, err := strconv.Atoi(v)
	return id, err == nil
}

// memberList splits pool_members ("" is no members).
func memberList(v string) []string {
	var out []string
	for m := range strings.SplitSeq(v, ",") {
		if m = strings.TrimSpace(m); m != "" {
			out = append(out, m)
		}
	}
	return out
}

// checkInterfaceMembers: interface pools group this probe's interfaces.
func (s *Server) checkInterfaceMembers(inst string, members []string) error {
	if inst != pools.Interface {
		return nil
	}
	for _, m := range members {
		id, err := pools.NormalizeMember(inst, m)
		if err != nil {
			return err
		}
		if _, ok := s.iface(Params{"ifid": id}); !ok {
			return badinput.Errorf("member %s: no such interface", m)
		}
	}
	return nil
}

func (s *Server) addPool(inst string) handler {
	return func(r *request) (RC, any) {
		p, rc, rsp := s.pools(r, true)
		if p == nil {
			return rc, rsp
		}
		name, hasName := r.params["pool_name"]
		members, hasMembers := r.params["pool_members"]
		if !hasName || !hasMembers {
			return RCInvalidArguments, map[string]string{"error": "pool_name and pool_members are required"}
		}
		ms := memberList(members)
		if err := s.checkInterfaceMembers(inst, ms); err != nil {
			return poolFailed(RCAddPoolFailed, err)
		}
		id, err := p.Add(inst, name, ms)
		if errors.Is(err, pools.ErrTooManyPools) {
			return RCTooManyPools, map[string]string{"error": err.Error()}
		}
		if err != nil {
			return poolFailed(RCAddPoolFailed, err)
		}
		return RCPoolAdded, map[string]int{"pool_id": id}
	}
}

func (s *Server) editPool(inst string) handler {
	return func(r *request) (RC, any) {
		p, rc, rsp := s.pools(r, true)
		if p == nil {
			return rc, rsp
		}
		id, okID := poolID(r.params)
		name, hasName := r.params["pool_name"]
		members, hasMembers := r.params["pool_members"]
		if !okID || !hasName || !hasMembers {
			return RCInvalidArguments, map[string]string{"error": "pool, pool_name and pool_members are required"}
		}
		ms := memberList(members)
		if err := s.checkInterfaceMembers(inst, ms); err != nil {
			return poolFailed(RCEditPoolFailed, err)
		}
		if err := p.Edit(inst, id, name, ms); err != nil {
			return poolFailed(RCEditPoolFailed, err)
		}
		return RCPoolEdited, nil
	}
}

func (s *Server) deletePool(inst string) handler {
	return func(r *request) (RC, any) {
		p, rc, rsp := s.pools(r, true)
		if p == nil {
			return rc, rsp
		}
		id, ok := poolID(r.params)
		if !ok {
			return RCInvalidArguments, map[string]string{"error": "pool is required"}
		}
		err := p.Delete(inst, id)
		if errors.Is(err, pools.ErrNotFound) {
			return RCPoolNotFound, map[string]string{"error": err.Error()}
		}
		if err != nil {
			return poolFailed(RCDeletePoolFailed, err)
		}
		return RCPoolDeleted, nil
	}
}

// poolJSON is ntopng's pool object.
func (s *Server) poolJSON(vis visibility, inst string, p pools.Pool) map[string]any {
	members := make([]string, 0, len(p.Members))
	for _, m := range p.Members {
		if s.seesPoolMember(vis, inst, m) {
			members = append(members, m)
		}
	}
	details := obj{}
	for _, m := range members {
		d := pools.Details(inst, m)
		if inst == pools.Interface {
			if i, ok := s.iface(Params{"ifid": m}); ok {
				d.Name = i.Name
			}
		}
		details[m] = d
	}
	return map[string]any{"pool_id": p.ID, "name": p.Name, "members": members, "member_details": details, "policy": ""}
}

// luaKeyedByID is how dkjson prints the Lua table {[id] = v}: a positive
// integer key up to 10 makes it an array padded with nulls (dkjson allows
// that many holes), anything else an object with the key as a string.
func luaKeyedByID(id int, v any) any {
	if id < 1 || id > 10 {
		return map[string]any{strconv.Itoa(id): v}
	}
	arr := make([]any, id)
	arr[id-1] = v
	return arr
}

func (s *Server) getPools(inst string) handler {
	return func(r *request) (RC, any) {
		p, rc, rsp := s.pools(r, false)
		if p == nil {
			return rc, rsp
		}
		if r.params.Has("pool") {
			id, ok := poolID(r.params)
			if !ok {
				return RCPoolNotFound, nil
			}
			x, err := p.Get(inst, id)
			if err != nil {
				return poolFailed(RCPoolNotFound, err)
			}
			return RCOK, luaKeyedByID(id, s.poolJSON(r.vis, inst, x))
		}
		list, err := p.List(inst)
		if err != nil {
			return poolFailed(RCInvalidArguments, err)
		}
		out := make([]map[string]any, 0, len(list))
		for _, x := range list {
			out = append(out, s.poolJSON(r.vis, inst, x))
		}
		return RCOK, out
	}
}

// getAllPools is get/pools.lua: every instance's pools, each with its
// instance as "key".
func (s *Server) getAllPools(r *request) (RC, any) {
	p, rc, rsp := s.pools(r, false)
	if p == nil {
		return rc, rsp
	}
	out := []map[string]any{}
	for _, inst := range pools.Instances {
		list, err := p.List(inst)
		if err != nil {
			return poolFailed(RCInternalError, err)
		}
		for _, x := range list {
			o := s.poolJSON(r.vis, inst, x)
			o["key"] = inst
			out = append(out, o)
		}
	}
	return RCOK, out
}

func (s *Server) deleteAllPools(r *request) (RC, any) {
	p, rc, rsp := s.pools(r, true)
	if p == nil {
		return rc, rsp
	}
	if err := p.DeleteAll(); err != nil {
		return RCInternalError, map[string]string{"error": err.Error()}
	}
	return RCOK, nil
}

func (s *Server) getHostPoolMembers(r *request) (RC, any) {
	p, rc, rsp := s.pools(r, false)
	if p == nil {
		return rc, rsp
	}
	id, ok := poolID(r.params)
	if !ok {
		return RCPoolNotFound, map[string]string{"error": "pool is required"}
	}
	x, err := p.Get(pools.Host, id)
	if err != nil {
		return poolFailed(RCPoolNotFound, err)
	}
	out := make([]pools.MemberDetails, 0, len(x.Members))
	for _, m := range x.Members {
		if !s.seesPoolMember(r.vis, pools.Host, m) {
			continue
		}
		out = append(out, pools.Details(pools.Host, m))
	}
	return RCOK, out
}

// bindHostPoolMember puts member into pool; pool 0 takes it out of its
// pool; action=edit with old_member replaces old_member by member.
func (s *Server) bindHostPoolMember(r *request) (RC, any) {
	p, rc, rsp := s.pools(r, true)
	if p == nil {
		return rc, rsp
	}
	id, okID := poolID(r.params)
	member := r.params["member"]
	old := ""
	if r.params["action"] == "edit" {
		old = r.params["old_member"]
		if old == "" {
			return RCInvalidArguments, map[string]string{"error": "action=edit needs old_member"}
		}
	}
	if !okID || member == "" {
		return RCInvalidArguments, map[string]string{"error": "pool and member are required"}
	}
	err := p.Bind(member, id, old)
	if be := (*pools.BoundError)(nil); errors.As(err, &be) {
		x, gerr := p.Get(pools.Host, be.PoolID)
		if gerr != nil {
			return poolFailed(RCMemberAlreadyBound, gerr)
		}
		return RCMemberAlreadyBound, s.poolJSON(r.vis, pools.Host, x)
	}
	if err != nil {
		return poolFailed(RCBindMemberFailed, err)
	}
	return RCPoolMemberBound, nil
}

func (s *Server) getHostPoolByMember(r *request) (RC, any) {
	p, rc, rsp := s.pools(r, false)
	if p == nil {
		return rc, rsp
	}
	member, ok := r.params["member"]
	if !ok || member == "" {
		return RCInvalidArguments, map[string]string{"error": "member is required"}
	}
	if !s.seesPoolMember(r.vis, pools.Host, member) {
		return RCNotGranted, nil
	}
	x, found, err := p.ByMember(pools.Host, member)
	if err != nil {
		return poolFailed(RCInvalidArguments, err)
	}
	if !found {
		return RCOK, nil
	}
	if v := r.params["pool_name_only"]; v == "true" || v == "1" {
		return RCOK, map[string]any{"pool_id": x.ID, "name": x.Name}
	}
	return RCOK, s.poolJSON(r.vis, pools.Host, x)
}

// poolsModule is the pools' part of the configuration export ("pool"):
// {"<instance>": [pool objects]}.
func (s *Server) poolsModule(p *pools.Pools) ConfigModule {
	return ConfigModule{
		Export: func() (any, error) {
			out := map[string][]map[string]any{}
			for inst, list := range p.Export() {
				objs := make([]map[string]any, 0, len(list))
				for _, x := range list {
					objs = append(objs, s.poolJSON(everything, inst, x))
				}
				out[inst] = objs
			}
			return out, nil
		},
		Import: func(raw json.RawMessage) (bool, error) {
			partial, err := p.Import(raw)
			if err != nil {
				return partial, fmt.Errorf("pool: %w", err)
			}
			return partial, nil
		},
		Reset: p.DeleteAll,
	}
}
