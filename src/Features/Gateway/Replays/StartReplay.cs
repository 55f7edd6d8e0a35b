using System.Text.Json;
using Dapper;
using FluentValidation;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Governance;
using Hive.Features.Messages;
using Hive.Features.TurnStats;
using Hive.Shared;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Egress;
using Hive.Shared.Errors;
using Hive.Shared.Files;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// Replays a recorded turn (<c>POST /api/turns/{id}/replay</c>): a new agent, sealed, with no egress, no secrets and no
/// capabilities (its mounts are the original's, read-only as every mount is), runs the original's command from the turn's checkpoint (its state dir's files and its conversation's
/// session, as they were when the turn was granted) and is handed the messages that woke it. Its gateway answers each model
/// call from the turn's recording (<see cref="ReplayModelCall"/>) and its hive verbs that reach beyond it are captured
/// (<see cref="CaptureReplayVerbs"/>), so the replay changes nothing outside itself and no provider hears of it.
/// Everything that can be checked is checked before anything is made; a start that fails leaves no agent and no files.
/// </summary>
public static class StartReplay
{
    public sealed record Command(long TurnId, string? Into, string? OnDivergence, IReadOnlyDictionary<string, string>? Env, ReplayPreset? Preset = null) : IRequest<ReplayView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Into).Must(AgentNames.IsWellFormed).When(c => c.Into is not null).WithName("into")
                .WithMessage("into must be an agent's name (^[a-z][a-z0-9-]{0,30}$)");
            RuleFor(c => c.OnDivergence).Must(o => OnDivergence.All.Contains(o!)).When(c => c.OnDivergence is not null).WithName("on_divergence")
                .WithMessage($"on_divergence must be {string.Join(" or ", OnDivergence.All)}");
            RuleFor(c => c.Preset!.Name).Must(AgentNames.IsWellFormed).When(c => c.Preset is not null).WithName("preset.name")
                .WithMessage("preset.name must be a preset's name (^[a-z][a-z0-9-]{0,30}$)");
            RuleFor(c => c.Preset!.File.ValueKind).Equal(JsonValueKind.Object).When(c => c.Preset is not null).WithName("preset.file")
                .WithMessage("preset.file must be a preset file's JSON object");
        }
    }

    internal sealed class Handler(
        IMediator mediator, IDb db, CallBodies bodies, CheckpointRestore restore, ActiveReplays replays, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock) : IRequestHandler<Command, ReplayView>
    {
        public async Task<ReplayView> Handle(Command command, CancellationToken cancellationToken)
        {
            var turn = await mediator.Send(new ReadGrantedTurn.Query(command.TurnId), cancellationToken)
                ?? throw new NotFoundException($"no turn {command.TurnId}");
            if (turn.EndedAt is null) throw new ConflictException($"turn {turn.Id} of {turn.Agent} is still running: replay it once it has ended");
            if (replays.IsReplayAgent(turn.Agent)) throw new ConflictException($"{turn.Agent} is a replay's agent: replay the original turn instead");
            var (checkpoint, calls) = Recording(turn);
            var name = command.Into ?? $"{turn.Agent}-replay-{turn.Id}";
            restore.CheckName(name, "into");
            var original = (await mediator.Send(new ReadAgentConfig.Query(turn.Agent), cancellationToken)).Config
                ?? throw new ConflictException($"{turn.Agent} is an external agent: the hive does not run it, so it cannot run a replay of it");
            // With a changed preset: its command, and its env over the original's (what the original was given beside its
            // preset stays), for the original's name and purpose, so that what did not change asks the model the same.
            var (argv, env, mounts) = (original.Command, new Dictionary<string, string>(original.Env ?? new Dictionary<string, string>(), StringComparer.Ordinal), original.Mounts);
            if (command.Preset is { } preset)
            {
                var expanded = await mediator.Send(new ExpandPreset.Query(preset.Name, preset.File.GetRawText(), turn.Agent, original.Purpose, original.Mounts), cancellationToken);
                (argv, mounts) = (expanded.Command, expanded.Mounts);
                foreach (var (key, value) in expanded.Env) env[key] = value;
            }
            foreach (var (key, value) in command.Env ?? new Dictionary<string, string>()) env[key] = value;

            var onDivergence = command.OnDivergence ?? OnDivergence.Stop;
            var id = await changes.RunAsync(scopes, (change, _) =>
            {
                var id = change.QuerySingle<long>("""
                    INSERT INTO replays (agent, source_agent, source_turn, on_divergence, state, calls_recorded, created_at)
                    VALUES (@name, @Agent, @Id, @onDivergence, @running, @recorded, @now) RETURNING id
                    """, new { name, turn.Agent, turn.Id, onDivergence, running = ReplayStates.Running, recorded = calls.Count, now = clock.GetUtcNow() });
                change.Raise(new ReplayChanged(ReplayRow.Read(change.Connection, id, change.Transaction)!));
                return Task.FromResult(id);
            }, cancellationToken);
            // Known before its agent exists: its first model call and its first verb are already the replay's.
            replays.Start(new ActiveReplay(id, name, turn.Agent, turn.Id, onDivergence, calls));
            try
            {
                restore.Restore(checkpoint.Files, turn.Agent, name);
                if (checkpoint.SessionId is { } session) await mediator.Send(new SetSession.Command(name, session, false), cancellationToken);
                await mediator.Send(new CreateAgent.Command(name, argv, original.Driver,
                    $"replay of turn {turn.Id} of {turn.Agent}{(command.Preset is { } p ? $" with the preset {p.Name}" : "")}", env,
                    RestartPolicies.Never, mounts, Inputs: original.Inputs, Provider: original.Provider, Limits: original.Limits,
                    Network: NetworkModes.Sealed, Egress: [], EgressAsk: false), cancellationToken);
            }
            catch (Exception e)
            {
                replays.Release(name);
                restore.Undo(name);
                await EndAsync(id, ReplayStates.Failed, $"it could not start: {HiveError.From(e).Message}", released: true);
                throw;
            }
            await changes.RunAsync(scopes, async (change, services) =>
            {
                var wake = JsonSerializer.Deserialize<List<WakeMessage>>(checkpoint.Messages, HiveJson.Options) ?? [];
                if (wake.Count > 0)
                    await services.GetRequiredService<IMediator>().Send(new AppendMessages.Command(
                        wake.Select(m => new AppendMessages.Draft(m.From, name, m.Kind, m.Body, m.Meta?.ToDictionary(p => p.Key, p => (object?)p.Value))).ToList()),
                        CancellationToken.None);
            }, CancellationToken.None);
            using var connection = db.Open();
            return ReplayRow.Read(connection, id)!;
        }

        /// <summary>The turn's checkpoint and its recorded calls, each body still on disk; refused with the reason otherwise.</summary>
        private (CheckpointRow Checkpoint, IReadOnlyList<RecordedCall> Calls) Recording(ReadGrantedTurn.Turn turn)
        {
            using var connection = db.Open();
            var checkpoint = connection.QuerySingleOrDefault<CheckpointRow>(
                "SELECT session_id, messages, files FROM turn_checkpoints WHERE turn_id = @Id", turn)
                ?? throw new ConflictException($"turn {turn.Id} of {turn.Agent} has no checkpoint: its calls were not recorded when it ran (recording off, or a hive older than replays)");
            var calls = connection.Query<RecordedCall>("""
                SELECT id, path, request_body, response_body, coalesce(status, 200) AS status, streamed, model FROM model_calls
                WHERE turn_id = @Id AND agent = @Agent AND request_body IS NOT NULL AND response_body IS NOT NULL AND state IN ('complete', 'failed')
                ORDER BY id
                """, turn).AsList();
            if (calls.Count == 0) throw new ConflictException($"turn {turn.Id} of {turn.Agent} made no model call whose bodies were recorded: there is nothing to replay");
            if (calls.Any(c => !bodies.Keep(c.RequestBody) || !bodies.Keep(c.ResponseBody)) || !restore.Kept(checkpoint.Files))
                throw new ConflictException($"turn {turn.Id} of {turn.Agent} cannot be replayed: its recordings were removed by retention (Hive:Gateway:Recordings:Days, MaxMiB)");
            return (checkpoint, calls);
        }

        private async Task EndAsync(long id, string state, string note, bool released) =>
            await changes.RunAsync(scopes, (change, _) =>
            {
                change.Execute("UPDATE replays SET state = @state, note = @note, ended_at = @now, released = @released WHERE id = @id",
                    new { id, state, note, now = clock.GetUtcNow(), released });
                change.Raise(new ReplayChanged(ReplayRow.Read(change.Connection, id, change.Transaction)!));
                return Task.CompletedTask;
            }, CancellationToken.None);
    }

    internal sealed record CheckpointRow(string? SessionId, string Messages, string Files);
}
