# @summary User, directories, the release unpacked into /usr/lib/vernemq, commands on the PATH,
#   the systemd unit. Private: use class vernemq.
class vernemq::install {
  $v = 'vernemq'
  if $vernemq::create_user {
    group { $vernemq::group: ensure => present, system => true }
    user { $vernemq::user:
      ensure  => present,
      gid     => $vernemq::group,
      system  => true,
      shell   => '/usr/sbin/nologin',
      home    => $vernemq::data_dir,
      require => Group[$vernemq::group],
      before  => File[$vernemq::data_dir, $vernemq::log_dir],
    }
  }
  $owned = {
    $vernemq::install_dir  => [$vernemq::admin_owner, '0755'],
    $vernemq::etc_dir      => [$vernemq::admin_owner, '0750'],
    $vernemq::data_dir     => [$vernemq::user, '0750'],
    $vernemq::log_dir      => [$vernemq::user, '0750'],
    $vernemq::bin_link_dir => [$vernemq::admin_owner, '0755'],
  }
  $owned.each |$dir, $om| {
    exec { "vernemq mkdir ${dir}":
      command => "mkdir -p '${dir}'",
      creates => $dir,
      path    => ['/usr/bin', '/bin'],
    }
    -> file { $dir:
      ensure => directory,
      owner  => $om[0],
      group  => $vernemq::group,
      mode   => $om[1],
    }
  }
  # The release is (re)installed when the tarball's checksum differs from the installed one's.
  $stamp = "${vernemq::install_dir}/.release.sha256"
  exec { 'vernemq unpack release':
    command => "tar -xzf '${vernemq::release_tarball}' -C '${vernemq::install_dir}' --strip-components=1 --no-same-owner && sha256sum < '${vernemq::release_tarball}' > '${stamp}'",
    unless  => "test -f '${stamp}' && sha256sum < '${vernemq::release_tarball}' | cmp -s - '${stamp}'",
    path    => ['/usr/bin', '/bin'],
    require => File[$vernemq::install_dir],
  }
  ['vernemq', 'vmq-admin', 'vmq-passwd'].each |$cmd| {
    file { "${vernemq::bin_link_dir}/${cmd}":
      ensure  => link,
      target  => "${vernemq::install_dir}/bin/${cmd}",
      require => [Exec['vernemq unpack release'], File[$vernemq::bin_link_dir]],
    }
  }
  if $vernemq::install_systemd_unit {
    exec { "vernemq mkdir ${vernemq::systemd_dir}":
      command => "mkdir -p '${vernemq::systemd_dir}'",
      creates => $vernemq::systemd_dir,
      path    => ['/usr/bin', '/bin'],
    }
    -> file { "${vernemq::systemd_dir}/vernemq.service":
      ensure  => file,
      source  => "${vernemq::install_dir}/systemd/vernemq.service",
      mode    => '0644',
      require => Exec['vernemq unpack release'],
    }
  }
}
