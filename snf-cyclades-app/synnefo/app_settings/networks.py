"""Defaults of snf-cyclades-app: networks. Documented in docs/settings-networks.rst."""

# --- Networks -----------------------------------------------------------
MAX_CIDR_BLOCK = 22
MAC_POOL_BASE = "aa:00:0"
MAC_POOL_LIMIT = 65536
ENABLED_NETWORKS = ["PUBLIC_ROUTED", "PRIVATE_MAC_FILTERED", "PRIVATE_PHYSICAL_VLAN"]
PUBLIC_ROUTED_ROUTING_TABLE = "snf_public"
PUBLIC_ROUTED_TAGS = ["ip-less-routed"]
PUBLIC_USE_POOL = True
PRIVATE_MAC_FILTERED_BRIDGE = "br0"
PRIVATE_MAC_FILTERED_TAGS = ["private-filtered"]
PRIVATE_PHYSICAL_VLAN_TAGS = ["physical-vlan"]
CUSTOM_ROUTED_ROUTING_TABLE = "custom_routing_table"
CUSTOM_ROUTED_TAGS = []
CUSTOM_BRIDGED_BRIDGE = "custom_bridge"
CUSTOM_BRIDGED_TAGS = []

GANETI_FIREWALL_ENABLED_TAG = "synnefo:network:0:protected"
GANETI_FIREWALL_DISABLED_TAG = "synnefo:network:0:unprotected"
GANETI_FIREWALL_PROTECTED_TAG = "synnefo:network:0:limited"
DEFAULT_FIREWALL_PROFILE = "DISABLED"
