"""Central's broker accounts: per-edge and per-replica MQTT logins, their ACL, Mosquitto files."""
