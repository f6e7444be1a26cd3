require 'digest'

# Installs and runs a vernemq-go node from the release tarball of `make dist`, the way
# VerneMQ's packages lay it out (/usr/lib/vernemq, /etc/vernemq, /var/lib/vernemq, /var/log/vernemq).
a = node['vernemq']
p = VernemqCookbook.paths(a)
bin = "#{p['install']}/bin"

if a['create_user']
  group a['group'] do
    system true
  end
  user a['user'] do
    gid a['group']
    system true
    shell '/usr/sbin/nologin'
    home p['data']
    manage_home false
  end
end

{ p['install'] => [a['admin_owner'], '0755'], p['etc'] => [a['admin_owner'], '0750'],
  p['data'] => [a['user'], '0750'], p['log'] => [a['user'], '0750'],
  p['bin_links'] => [a['admin_owner'], '0755'] }.each do |dir, (owner, mode)|
  directory dir do
    owner owner
    group a['group']
    mode mode
    recursive true
  end
end

# (Re)installed when the tarball's checksum differs from the installed one's.
stamp = "#{p['install']}/.release.sha256"
execute 'vernemq unpack release' do
  command "tar -xzf '#{a['release_tarball']}' -C '#{p['install']}' --strip-components=1 --no-same-owner && " \
          "sha256sum < '#{a['release_tarball']}' > '#{stamp}'"
  not_if "test -f '#{stamp}' && sha256sum < '#{a['release_tarball']}' | cmp -s - '#{stamp}'"
  notifies :restart, 'service[vernemq]', :delayed if a['manage_service']
end

%w(vernemq vmq-admin vmq-passwd).each do |cmd|
  link "#{p['bin_links']}/#{cmd}" do
    to "#{bin}/#{cmd}"
  end
end

template "#{p['etc']}/vernemq.conf" do
  source 'vernemq.conf.erb'
  variables(conf: VernemqCookbook.conf(a))
  owner a['admin_owner']
  group a['group']
  mode '0640'
  sensitive true # holds the cookie
  verify "#{bin}/vernemq config check -c %{path}"
  notifies :restart, 'service[vernemq]', :delayed if a['manage_service']
end

if a['acl'].nil?
  execute 'vernemq default acl' do
    command "cp '#{p['install']}/conf/vmq.acl' '#{p['etc']}/vmq.acl'"
    creates "#{p['etc']}/vmq.acl"
  end
else
  template "#{p['etc']}/vmq.acl" do
    source 'vmq.acl.erb'
    variables(acl: a['acl'])
    owner a['admin_owner']
    group a['group']
    mode '0640'
  end
end

if a['users'].empty?
  execute 'vernemq default passwd' do
    command "cp '#{p['install']}/conf/vmq.passwd' '#{p['etc']}/vmq.passwd'"
    creates "#{p['etc']}/vmq.passwd"
  end
else
  # vmq.passwd is rewritten only when the users change: a digest of them is kept, not the passwords.
  lines = VernemqCookbook.passwd_lines(a)
  file "#{p['etc']}/.vmq.passwd.sha256" do
    content "#{Digest::SHA256.hexdigest(lines)}\n"
    mode '0600'
    notifies :run, 'execute[vernemq passwd]', :immediately
  end
  execute 'vernemq passwd' do
    command "umask 077; printf '%s' \"$VMQ_USERS\" > '#{p['etc']}/vmq.passwd.new' && " \
            "'#{bin}/vmq-passwd' -U '#{p['etc']}/vmq.passwd.new' >/dev/null && " \
            "mv '#{p['etc']}/vmq.passwd.new' '#{p['etc']}/vmq.passwd'"
    environment('VMQ_USERS' => lines)
    sensitive true
    action :nothing
  end
end

if a['install_systemd_unit']
  directory p['systemd'] do
    recursive true
  end
  remote_file "#{p['systemd']}/vernemq.service" do
    source "file://#{p['install']}/systemd/vernemq.service"
    mode '0644'
    notifies :run, 'execute[vernemq systemd reload]', :immediately
  end
  execute 'vernemq systemd reload' do
    command 'systemctl daemon-reload'
    action :nothing
    only_if { a['manage_service'] }
  end
end

service 'vernemq' do
  action a['manage_service'] ? %i(enable start) : :nothing
end

unless a['discovery_node'].to_s.empty? || !a['manage_service']
  # Joins once: a node whose `cluster show` lists more than itself is a member already.
  execute 'vernemq cluster join' do
    command "#{bin}/vmq-admin cluster join discovery-node=#{a['discovery_node']}"
    environment('VERNEMQ_CONF' => "#{p['etc']}/vernemq.conf")
    user a['user']
    retries 10
    retry_delay 3
    not_if "test \"$(#{bin}/vmq-admin cluster show | grep -c @)\" -gt 1", environment: { 'VERNEMQ_CONF' => "#{p['etc']}/vernemq.conf" }, user: a['user']
  end
end
