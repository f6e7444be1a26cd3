# Pure functions of the cookbook, shared by the recipe and test/render.rb (no Chef needed).
module VernemqCookbook
  # Paths under the attribute 'root'.
  def self.paths(a)
    r = a['root'].to_s
    {
      'install' => "#{r}/usr/lib/vernemq", 'etc' => "#{r}/etc/vernemq", 'data' => "#{r}/var/lib/vernemq",
      'log' => "#{r}/var/log/vernemq", 'bin_links' => "#{r}/usr/bin", 'systemd' => "#{r}/etc/systemd/system"
    }
  end

  # The vernemq.conf keys: the cookbook's defaults from the attributes, 'config' merged last.
  def self.conf(a)
    p = paths(a)
    ip = a['listen_ip']
    c = {
      'nodename' => a['nodename'] || "VerneMQ@#{ip}",
      'distributed_cookie' => a['cookie'],
      'platform_data_dir' => p['data'],
      'platform_log_dir' => p['log'],
      'platform_etc_dir' => p['etc'],
      'admin.socket' => '$(platform_data_dir)/vmq-admin.sock',
      'allow_anonymous' => a['allow_anonymous'],
      'max_online_messages' => a['max_online_messages'],
      'max_offline_messages' => a['max_offline_messages'],
      'max_inflight_messages' => a['max_inflight_messages'],
      'persistent_client_expiration' => a['persistent_client_expiration'],
      'plugins.vmq_passwd' => 'on',
      'plugins.vmq_acl' => 'on',
      'vmq_passwd.password_file' => '$(platform_etc_dir)/vmq.passwd',
      'vmq_acl.acl_file' => '$(platform_etc_dir)/vmq.acl',
      'listener.tcp.default' => "#{ip}:#{a['mqtt_port']}",
      'listener.vmq.clustering' => "#{ip}:#{a['cluster_port']}",
      'listener.http.default' => "#{ip}:#{a['http_port']}",
      'log.console' => 'file',
      'log.console.file' => '$(platform_log_dir)/console.log',
      'log.console.level' => a['log_level'],
    }
    c.merge((a['config'] || {}).to_h).transform_keys(&:to_s)
  end

  # The vmq.passwd source lines, user:password sorted by user (hashed by vmq-passwd -U).
  def self.passwd_lines(a)
    (a['users'] || {}).to_h.sort.map { |u, pw| "#{u}:#{pw}\n" }.join
  end
end
