package alert

// Entity is what an alert is about (alert_entities.lua).
type Entity int

const (
	EntityInterface  Entity = 0
	EntityHost       Entity = 1
	EntityNetwork    Entity = 2
	EntitySNMPDevice Entity = 3
	EntityFlow       Entity = 4
	EntityMAC        Entity = 5
	EntityUser       Entity = 7
	EntityAMHost     Entity = 8
	EntitySystem     Entity = 9
)

var entityNames = map[Entity]string{
	EntityInterface: "interface", EntityHost: "host", EntityNetwork: "network",
	EntitySNMPDevice: "snmp_device", EntityFlow: "flow", EntityMAC: "mac",
	EntityUser: "user", EntityAMHost: "am_host", EntitySystem: "system",
}

// Name is the entity's name in the API ("host").
func (e Entity) Name() string { return entityNames[e] }

// ParseEntity finds an entity by name.
func ParseEntity(name string) (Entity, bool) {
	for e, n := range entityNames {
		if n == name {
			return e, true
		}
	}
	return 0, false
}

// Entities lists the entities in id order.
func Entities() []Entity {
	return []Entity{EntityInterface, EntityHost, EntityNetwork, EntitySNMPDevice, EntityFlow, EntityMAC, EntityUser, EntityAMHost, EntitySystem}
}
