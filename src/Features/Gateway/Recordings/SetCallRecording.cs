using Hive.Features.Containers;
using Hive.Features.Gateway.Dashboard;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Gateway.Recordings;

/// <summary>
/// The operator turns the recording of an agent's call bodies off or on (<c>PUT /api/agents/{name}/calls/recording</c>,
/// <c>{"on": false}</c>). Off: its next calls are metered and listed as before, without their bodies; what was recorded
/// stays until retention takes it. An agent that does not exist is a 404.
/// </summary>
public static class SetCallRecording
{
    public sealed record Command(string Agent, bool On) : IRequest<Result>, IChangesState;

    public sealed record Result(string Agent, bool Recording);

    internal sealed class Handler(StateChanges changes, CallRecording recording, IMediator mediator, TimeProvider clock) : IRequestHandler<Command, Result>
    {
        public async Task<Result> Handle(Command command, CancellationToken cancellationToken)
        {
            await mediator.Send(new ReadAgentProvider.Query(command.Agent), cancellationToken); // 404 for no such agent
            var change = changes.Current;
            var was = recording.IsOn(command.Agent);
            if (was == command.On) return new Result(command.Agent, was);
            if (command.On) change.Execute("DELETE FROM calls_unrecorded WHERE agent = @Agent", command);
            else change.Execute("INSERT INTO calls_unrecorded (agent, since) VALUES (@Agent, @Since)", new { command.Agent, Since = clock.GetUtcNow() });
            recording.Set(command.Agent, command.On);
            change.OnRolledBack(() => recording.Set(command.Agent, was));
            change.Raise(new CallRecordingChanged(command.Agent, command.On));
            return new Result(command.Agent, command.On);
        }
    }
}

/// <summary>An agent that leaves the directory takes its switch with it: a new agent of the same name is recorded.</summary>
internal sealed class ForgetCallRecording(CallRecording recording, StateChanges changes, IServiceScopeFactory scopes, ILogger<ForgetCallRecording> logger)
    : INotificationHandler<AgentRemoved>
{
    public async Task Handle(AgentRemoved notification, CancellationToken cancellationToken)
    {
        if (recording.IsOn(notification.Name)) return;
        try
        {
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Execute("DELETE FROM calls_unrecorded WHERE agent = @Name", notification);
                recording.Set(notification.Name, true);
                change.OnRolledBack(() => recording.Set(notification.Name, false));
                return Task.CompletedTask;
            }, CancellationToken.None);
        }
        catch (Exception e)
        {
            logger.LogError(e, "gateway: could not forget the recording switch of {Agent}, which left", notification.Name);
        }
    }
}
