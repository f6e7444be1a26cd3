# puppet apply --modulepath scripts/puppet scripts/puppet/vernemq/examples/init.pp
class { 'vernemq':
  release_tarball => '/srv/dist/vernemq-1.0.0-linux-amd64.tar.gz',
  cookie          => Sensitive('change-this-cookie'),
  discovery_node  => '10.0.0.11:44053',
  users           => { 'device1' => Sensitive('pw1') },
  acl_content     => "user device1\ntopic readwrite sensors/#\n",
  config          => { 'max_message_size' => 65536, 'allow_register_during_netsplit' => 'on' },
}
