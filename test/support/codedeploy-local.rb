# One local deployment by the real CodeDeploy agent (aws/aws-codedeploy-agent, extracted at AGENT_DIR, not part of
# this repository), through the class its own bin/codedeploy-local uses: AWS::CodeDeploy::Local::Deployer with a
# directory bundle. The agent's config file sets its deployment root and max_revisions. Prints what the agent prints,
# then one line "portproof-e2e-result JSON": the deployment ID and, for a failed script, the ScriptError's JSON (what
# the CodeDeploy console shows for a failed event). Exit 0 when the deployment succeeded, 1 when a script failed.
#
# usage: ruby codedeploy-local.rb AGENT_DIR CONFIG_FILE BUNDLE_DIR DEPLOYMENT_GROUP_ID APPLICATION_NAME GROUP_NAME
require 'json'

agent_dir, config_file, bundle_dir, group_id, application_name, group_name = ARGV
abort('usage: codedeploy-local.rb AGENT_DIR CONFIG_FILE BUNDLE_DIR GROUP_ID APP_NAME GROUP_NAME') if group_name.nil?

# The agent's vendored gems (process_manager, simple_pid, codedeploy-commands), then its own lib first: the gems carry
# a core_ext.rb of their own, and the agent's must win, as in its bin/codedeploy-local.
Dir[File.join(agent_dir, 'vendor', 'gems', '*', 'lib')].sort.each { |dir| $LOAD_PATH.unshift(dir) }
$LOAD_PATH.unshift(File.join(agent_dir, 'lib'))
require 'aws/codedeploy/local/deployer'

deployer = AWS::CodeDeploy::Local::Deployer.new(config_file)
args = {
  '--bundle-location' => bundle_dir,
  '--type' => 'directory',
  '--deployment-group' => group_id,
  '--deployment-group-name' => group_name,
  '--application-name' => application_name,
  '--file-exists-behavior' => 'DISALLOW',
  '--events' => nil,
  '--appspec-filename' => nil
}
result = {}
status = 0
begin
  deployer.execute_events(args)
  result['status'] = 'Succeeded'
rescue InstanceAgent::Plugins::CodeDeployPlugin::ScriptError => e
  result['status'] = 'Failed'
  result['scriptError'] = JSON.parse(e.to_json)
  status = 1
end
result['deploymentId'] = deployer.instance_variable_get(:@deployment_id)
$stdout.puts("portproof-e2e-result #{JSON.generate(result)}")
$stdout.flush
exit(status)
