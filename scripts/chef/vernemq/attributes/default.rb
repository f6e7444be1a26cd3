# Attributes of the vernemq cookbook (override in a role, environment or wrapper cookbook).

# dist/vernemq-<version>-linux-amd64.tar.gz of `make dist`, on the node.
default['vernemq']['release_tarball'] = '/srv/dist/vernemq-linux-amd64.tar.gz'
# Prefix of every path ('' on real hosts).
default['vernemq']['root'] = ''
default['vernemq']['user'] = 'vernemq'
default['vernemq']['group'] = 'vernemq'
default['vernemq']['create_user'] = true
default['vernemq']['admin_owner'] = 'root'
default['vernemq']['install_systemd_unit'] = true
default['vernemq']['manage_service'] = true

default['vernemq']['listen_ip'] = '127.0.0.1'
default['vernemq']['mqtt_port'] = 1883
default['vernemq']['cluster_port'] = 44053
default['vernemq']['http_port'] = 8888
default['vernemq']['nodename'] = nil # VerneMQ@<listen_ip>
# The cluster's shared secret: set it (from a vault or encrypted data bag).
default['vernemq']['cookie'] = 'vmq'
default['vernemq']['allow_anonymous'] = 'off'
default['vernemq']['max_online_messages'] = 1000
default['vernemq']['max_offline_messages'] = 1000
default['vernemq']['max_inflight_messages'] = 20
default['vernemq']['persistent_client_expiration'] = 'never'
default['vernemq']['log_level'] = 'info'
# Any other vernemq.conf key => value, merged over everything above.
default['vernemq']['config'] = {}

# vmq.acl content; nil keeps the file (first install: the release's "topic #").
default['vernemq']['acl'] = nil
# username => password for vmq.passwd (hashed with vmq-passwd -U); {} leaves the file alone.
default['vernemq']['users'] = {}
# host:port of a cluster member's listener.vmq.clustering; joined once the node runs.
default['vernemq']['discovery_node'] = ''
