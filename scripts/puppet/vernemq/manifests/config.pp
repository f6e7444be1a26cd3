# @summary vernemq.conf (checked by `vernemq config check` before it replaces the old one),
#   vmq.acl and vmq.passwd. Private: use class vernemq.
class vernemq::config {
  $etc = $vernemq::etc_dir
  $bin = "${vernemq::install_dir}/bin"
  file { "${etc}/vernemq.conf":
    ensure       => file,
    owner        => $vernemq::admin_owner,
    group        => $vernemq::group,
    mode         => '0640',
    content      => Sensitive(epp('vernemq/vernemq.conf.epp', { 'conf' => $vernemq::conf })),
    validate_cmd => "${bin}/vernemq config check -c %",
  }
  if $vernemq::acl_content =~ Undef {
    # First install: the release's ACL; later edits by hand are kept.
    exec { 'vernemq default acl':
      command => "cp '${vernemq::install_dir}/conf/vmq.acl' '${etc}/vmq.acl'",
      creates => "${etc}/vmq.acl",
      path    => ['/usr/bin', '/bin'],
      before  => File["${etc}/vmq.acl"],
    }
    file { "${etc}/vmq.acl": ensure => file, owner => $vernemq::admin_owner, group => $vernemq::group, mode => '0640' }
  } else {
    file { "${etc}/vmq.acl":
      ensure  => file,
      owner   => $vernemq::admin_owner,
      group   => $vernemq::group,
      mode    => '0640',
      content => $vernemq::acl_content,
    }
  }
  if $vernemq::users.empty {
    exec { 'vernemq default passwd':
      command => "cp '${vernemq::install_dir}/conf/vmq.passwd' '${etc}/vmq.passwd'",
      creates => "${etc}/vmq.passwd",
      path    => ['/usr/bin', '/bin'],
      before  => File["${etc}/vmq.passwd"],
    }
    file { "${etc}/vmq.passwd": ensure => file, owner => $vernemq::admin_owner, group => $vernemq::group, mode => '0640' }
  } else {
    # vmq.passwd is rewritten (passwords hashed by `vmq-passwd -U`) only when the users change:
    # a digest of them is kept beside it, never the passwords.
    $lines = $vernemq::users.keys.sort.map |$u| { "${u}:${vernemq::users[$u].unwrap}" }.join("\n")
    $digest = sha256("${lines}\n")
    file { "${etc}/.vmq.passwd.sha256":
      ensure  => file,
      content => "${digest}\n",
      mode    => '0600',
      notify  => Exec['vernemq passwd'],
    }
    exec { 'vernemq passwd':
      command     => "sh -c 'umask 077; printf \"%s\\n\" \"\$VMQ_USERS\" > \"\$1.new\" && \"\$2\" -U \"\$1.new\" >/dev/null && mv \"\$1.new\" \"\$1\"' vmq '${etc}/vmq.passwd' '${bin}/vmq-passwd'",
      environment => ["VMQ_USERS=${lines}"],
      refreshonly => true,
      path        => ['/usr/bin', '/bin'],
    }
    -> file { "${etc}/vmq.passwd": ensure => file, owner => $vernemq::admin_owner, group => $vernemq::group, mode => '0640' }
  }
}
