# @summary The systemd service (enabled, running, restarted on changes) and the cluster join
#   on first start. Private: use class vernemq.
class vernemq::service {
  if $vernemq::service_managed {
    service { 'vernemq':
      ensure   => running,
      enable   => true,
      provider => 'systemd',
    }
    if $vernemq::discovery_node != '' {
      # Joins once: a node that lists more than itself in `cluster show` is a member already.
      $admin = "${vernemq::install_dir}/bin/vmq-admin"
      exec { 'vernemq cluster join':
        command     => "${admin} cluster join discovery-node=${vernemq::discovery_node}",
        unless      => "test \"$(${admin} cluster show | grep -c @)\" -gt 1",
        environment => ["VERNEMQ_CONF=${vernemq::etc_dir}/vernemq.conf"],
        user        => $vernemq::user,
        path        => ['/usr/bin', '/bin'],
        tries       => 10,
        try_sleep   => 3,
        require     => Service['vernemq'],
      }
    }
  }
}
