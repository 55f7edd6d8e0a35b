using Hive.Shared.Agents;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.Containers;

/// <summary>
/// Hive runs the manager from now on (the operator created <c>manager</c> with a command or a preset): the external
/// manager's row takes the configuration in place (its socket stays open, its messages wait), is committed in the meta
/// repo, and starts. A start that fails leaves it external again, as it was. 409 when Hive runs it already.
/// </summary>
internal static class RunManager
{
    public sealed record Command(AgentRecord Record) : IRequest;

    internal sealed class Handler(AgentTurns turns, AgentSteps steps, AgentProcesses processes, AgentRegistry registry, AllowedRecipients allowed)
        : IRequestHandler<Command>
    {
        public async Task<Unit> Handle(Command command, CancellationToken cancellationToken)
        {
            const string name = AgentNames.Manager;
            using var turn = await turns.TryTakeAsync(name);
            if (registry.Find(name) is not { IsExternal: true })
                throw new ConflictException("the manager is run by Hive already: change its configuration instead (PUT /api/agents/manager/config)");
            await steps.RecordAsync(name, """
                UPDATE agents SET driver = @Driver, origin = @Origin, command = @Command, env = @Env, mounts = @Mounts, purpose = @Purpose,
                    restart_policy = @RestartPolicy, inputs = @Inputs, allowed_recipients = @AllowedRecipients, secrets = @Secrets,
                    provider = @Provider, limit_memory_mib = @LimitMemoryMib, limit_cpu_percent = @LimitCpuPercent, limit_pids = @LimitPids,
                    capabilities = @Capabilities, desired = @Desired, state = @State
                WHERE name = @Name AND driver = 'external'
                """, command.Record);
            allowed.Set(name, command.Record.AllowedRecipients); // as a created agent's are set when it is registered
            await steps.RecordInMetaAsync(name, command.Record.ToConfig(), $"{name}: run by Hive from now on, as the operator asked");
            try
            {
                await using (await steps.HoldTransientAsync(name, Transients.Starting))
                    await processes.StartAsync(name, turn.Agent, cancellationToken, Transients.Starting);
            }
            catch (Exception) when (!turns.HostStopping)
            {
                await steps.RecordAsync(name, """
                    UPDATE agents SET driver = 'external', origin = @config, command = NULL, env = '{}', mounts = '[]', purpose = NULL,
                        inputs = '[]', allowed_recipients = NULL, secrets = NULL, provider = NULL,
                        limit_memory_mib = NULL, limit_cpu_percent = NULL, limit_pids = NULL, capabilities = '[]', desired = @running, state = @running, pid = NULL
                    WHERE name = @name
                    """, new { name, config = Origins.Config, running = States.Running });
                allowed.Set(name, null);
                await steps.RecordInMetaAsync(name, null, $"{name}: did not start, so it stays external");
                throw;
            }
            return Unit.Value;
        }
    }
}
