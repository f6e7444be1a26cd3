# Renders the cookbook's templates with Ruby's ERB, without Chef: attributes/default.rb is
# evaluated into a plain Hash, the JSON file given (if any) is merged over it as a role would,
# and templates get the variables the recipe passes.
#   ruby test/render.rb OUTDIR [attributes.json]
# Writes OUTDIR/vernemq.conf and OUTDIR/vmq.acl (when the acl attribute is set).
require 'erb'
require 'json'
require_relative '../libraries/conf'

# Attributes collects `default['a']['b'] = v` into nested Hashes.
class Attributes
  def initialize
    @tree = Hash.new { |h, k| h[k] = Hash.new(&h.default_proc) }
  end

  def default
    @tree
  end

  def to_h
    JSON.parse(JSON.generate(@tree))
  end
end

def deep_merge(a, b)
  a.merge(b) { |_, x, y| x.is_a?(Hash) && y.is_a?(Hash) ? deep_merge(x, y) : y }
end

# A template's context: the recipe's variables as instance variables.
class Vars
  def initialize(vars)
    vars.each { |k, v| instance_variable_set("@#{k}", v) }
  end

  def render(path)
    ERB.new(File.read(path), trim_mode: '-').result(binding)
  end
end

out = ARGV.fetch(0)
dir = File.expand_path('..', __dir__)
attrs = Attributes.new
attrs.instance_eval(File.read(File.join(dir, 'attributes/default.rb')), 'attributes/default.rb')
node = attrs.to_h
node = deep_merge(node, JSON.parse(File.read(ARGV[1]))) if ARGV[1]
a = node.fetch('vernemq')
File.write(File.join(out, 'vernemq.conf'), Vars.new(conf: VernemqCookbook.conf(a)).render(File.join(dir, 'templates/vernemq.conf.erb')))
File.write(File.join(out, 'vmq.acl'), Vars.new(acl: a['acl']).render(File.join(dir, 'templates/vmq.acl.erb'))) unless a['acl'].nil?
File.write(File.join(out, 'vmq.passwd.src'), VernemqCookbook.passwd_lines(a)) unless a['users'].empty?
