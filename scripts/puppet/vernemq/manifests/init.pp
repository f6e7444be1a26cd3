# @summary A vernemq-go node from the release tarball of `make dist`, the way VerneMQ's
#   packages lay it out: /usr/lib/vernemq, /etc/vernemq (vernemq.conf, vmq.acl, vmq.passwd),
#   /var/lib/vernemq, /var/log/vernemq, a systemd unit, and a cluster join on first start.
#
# @example
#   class { 'vernemq':
#     release_tarball => '/srv/dist/vernemq-1.0.0-linux-amd64.tar.gz',
#     cookie          => Sensitive('s3cret-cookie'),
#     discovery_node  => '10.0.0.11:44053',
#     users           => { 'device1' => Sensitive('pw1') },
#     acl_content     => "user device1\ntopic readwrite sensors/#\n",
#     config          => { 'max_message_size' => 65536, 'listener.max_connections' => 50000 },
#   }
#
# @param release_tarball  dist/vernemq-<version>-linux-amd64.tar.gz on the node; reinstalled when its checksum changes.
# @param root             prefix of every path (a temporary directory in tests; '' on real hosts).
# @param user             the service's user; @param group its group.
# @param create_user      create the system user and group.
# @param admin_owner      owner of the installed files and of the conf (readable by $group).
# @param admin_group      group of the installed files.
# @param listen_ip        address of the MQTT, cluster and HTTP listeners.
# @param mqtt_port        listener.tcp.default port; @param cluster_port listener.vmq.clustering (serf gossips on +1);
#   @param http_port listener.http.default (health, metrics, API).
# @param nodename         default VerneMQ@<listen_ip>.
# @param cookie           distributed_cookie, the cluster's shared secret: set it.
# @param allow_anonymous, max_online_messages, max_offline_messages, max_inflight_messages,
#   persistent_client_expiration, log_level: the vernemq.conf keys of the same names (log.console.level).
# @param config           any other vernemq.conf key => value; merged over everything above.
# @param acl_content      content of vmq.acl; undef keeps the file (first install: the release's "topic #").
# @param users            username => password for vmq.passwd (hashed with vmq-passwd); {} leaves the file alone.
# @param install_systemd_unit  install vernemq.service; @param manage_service true, false or 'auto'
#   (when the host runs systemd and root is ''): enable and run it.
# @param discovery_node   host:port of a cluster member's listener.vmq.clustering: joined once the node runs.
class vernemq (
  String $release_tarball,
  String $root = '',
  String $user = 'vernemq',
  String $group = 'vernemq',
  Boolean $create_user = true,
  String $admin_owner = 'root',
  String $admin_group = 'root',
  String $listen_ip = $facts.dig('networking', 'ip').lest || { '127.0.0.1' },
  Integer[1, 65535] $mqtt_port = 1883,
  Integer[1, 65534] $cluster_port = 44053,
  Integer[1, 65535] $http_port = 8888,
  Optional[String] $nodename = undef,
  Variant[String, Sensitive[String]] $cookie = 'vmq',
  Enum['on', 'off'] $allow_anonymous = 'off',
  Integer[-1] $max_online_messages = 1000,
  Integer[-1] $max_offline_messages = 1000,
  Integer[0] $max_inflight_messages = 20,
  String $persistent_client_expiration = 'never',
  Enum['debug', 'info', 'warning', 'error'] $log_level = 'info',
  Hash[String, Scalar] $config = {},
  Optional[String] $acl_content = undef,
  Hash[String, Variant[String, Sensitive[String]]] $users = {},
  Boolean $install_systemd_unit = true,
  Variant[Boolean, Enum['auto']] $manage_service = 'auto',
  String $discovery_node = '',
) {
  $install_dir = "${root}/usr/lib/vernemq"
  $etc_dir = "${root}/etc/vernemq"
  $data_dir = "${root}/var/lib/vernemq"
  $log_dir = "${root}/var/log/vernemq"
  $bin_link_dir = "${root}/usr/bin"
  $systemd_dir = "${root}/etc/systemd/system"
  $service_managed = $manage_service ? {
    'auto'  => $root == '' and $facts['service_provider'] == 'systemd',
    default => $manage_service,
  }

  $defaults = {
    'nodename'                     => $nodename.lest || { "VerneMQ@${listen_ip}" },
    'distributed_cookie'           => $cookie.unwrap,
    'platform_data_dir'            => $data_dir,
    'platform_log_dir'             => $log_dir,
    'platform_etc_dir'             => $etc_dir,
    'admin.socket'                 => '$(platform_data_dir)/vmq-admin.sock',
    'allow_anonymous'              => $allow_anonymous,
    'max_online_messages'          => $max_online_messages,
    'max_offline_messages'         => $max_offline_messages,
    'max_inflight_messages'        => $max_inflight_messages,
    'persistent_client_expiration' => $persistent_client_expiration,
    'plugins.vmq_passwd'           => 'on',
    'plugins.vmq_acl'              => 'on',
    'vmq_passwd.password_file'     => '$(platform_etc_dir)/vmq.passwd',
    'vmq_acl.acl_file'             => '$(platform_etc_dir)/vmq.acl',
    'listener.tcp.default'         => "${listen_ip}:${mqtt_port}",
    'listener.vmq.clustering'      => "${listen_ip}:${cluster_port}",
    'listener.http.default'        => "${listen_ip}:${http_port}",
    'log.console'                  => 'file',
    'log.console.file'             => '$(platform_log_dir)/console.log',
    'log.console.level'            => $log_level,
  }
  $conf = $defaults + $config

  contain vernemq::install
  contain vernemq::config
  contain vernemq::service
  Class['vernemq::install'] -> Class['vernemq::config'] ~> Class['vernemq::service']
  Class['vernemq::install'] ~> Class['vernemq::service']
}
