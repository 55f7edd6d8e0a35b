using System.Text.Json;
using Dapper;
using FluentValidation;
using Hive.Contracts.Gateway;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Features.Governance;
using Hive.Features.Messages;
using Hive.Features.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Data;
using Hive.Shared.Errors;
using Hive.Shared.Validation;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// Forks a conversation (<c>POST /api/agents/{name}/fork</c>): a new agent with the original's configuration, its state dir
/// and session as they were at the end of turn <c>at_turn</c>, whose next turn runs live with the model and/or the message
/// given. The end of a turn is the checkpoint of the original's next turn (taken as that turn was granted), or, when there
/// has been none since, the original's state now (it is idle: a turn running would be caught half-way). The original is
/// only read, through the state-file allow-list: its files and its session stay as they were, byte for byte.
/// </summary>
public static class ForkConversation
{
    public sealed record Command(string Agent, long? AtTurn, string? Model, string? Name, string? Message) : IRequest<ForkView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.AtTurn).NotNull().WithName("at_turn").WithMessage("at_turn is required: the turn whose end the fork starts from")
                .GreaterThan(0).WithName("at_turn").WithMessage("at_turn must be a turn's id");
            RuleFor(c => c.Model).Must(m => SlashCommand.IsModelName(m!)).When(c => c.Model is not null).WithName("model")
                .WithMessage("model must be a model's name (letters, digits and ._:@/[]-, at most 128)");
            RuleFor(c => c.Name).Must(AgentNames.IsWellFormed).When(c => c.Name is not null).WithName("name")
                .WithMessage("name must be an agent's name (^[a-z][a-z0-9-]{0,30}$)");
            RuleFor(c => c.Message).BoundedText("message", SendMessage.MaxBodyBytes).When(c => c.Message is not null);
        }
    }

    internal sealed class Handler(
        IMediator mediator, IDb db, CheckpointRestore restore, TurnCheckpoints checkpoints, ActiveReplays replays, ForkedAgents forks,
        StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock) : IRequestHandler<Command, ForkView>
    {
        public async Task<ForkView> Handle(Command command, CancellationToken cancellationToken)
        {
            var turn = await TurnOfAsync(mediator, replays, command, cancellationToken);
            if (turn.EndedAt is null) throw new ConflictException($"turn {turn.Id} of {turn.Agent} is still running: fork it once it has ended");
            var name = command.Name ?? $"{turn.Agent}-fork-{turn.Id}";
            restore.CheckName(name, "name");
            var original = (await mediator.Send(new ReadAgentConfig.Query(turn.Agent), cancellationToken)).Config
                ?? throw new ConflictException($"{turn.Agent} is an external agent: the hive does not run it, so it cannot run a fork of it");
            var end = await EndOfAsync(turn, cancellationToken);
            if (command.Message is null && end.Next.Count == 0)
                throw new BadRequestException($"message is required: {turn.Agent} has had no turn after {turn.Id} whose messages the fork could be handed");
            if (!restore.Kept(end.Files))
                throw new ConflictException($"turn {turn.Id} of {turn.Agent} cannot be forked: its checkpoint's files were removed by retention (Hive:Gateway:Recordings:Days, MaxMiB)");

            var id = await changes.RunAsync(scopes, (change, _) => Task.FromResult(change.QuerySingle<long>("""
                INSERT INTO forks (agent, source_agent, source_turn, model, message, created_at)
                VALUES (@name, @Agent, @Id, @Model, @Message, @now) RETURNING id
                """, new { name, turn.Agent, turn.Id, command.Model, command.Message, now = clock.GetUtcNow() })), cancellationToken);
            forks.Know(name, new ForkOf(id, turn.Agent, turn.Id));
            try
            {
                restore.Restore(end.Files, turn.Agent, name);
                if (end.SessionId is { } session) await mediator.Send(new SetSession.Command(name, session, false), cancellationToken);
                await mediator.Send(new CreateAgent.Command(name, original.Command, original.Driver, $"fork of {turn.Agent} at turn {turn.Id}: {original.Purpose}",
                    original.Env, original.Restart, original.Mounts, Inputs: original.Inputs, AllowedRecipients: original.AllowedRecipients,
                    Secrets: original.Secrets, Provider: original.Provider, Limits: original.Limits, Capabilities: original.Capabilities,
                    Network: original.Network, Egress: original.Egress, EgressAsk: original.EgressAsk, Permissions: original.Permissions,
                    Parent: original.Parent, MaySpawn: original.MaySpawn, Providers: original.Providers, Models: original.Models), cancellationToken);
                if (command.Model is { } model) await mediator.Send(new SlashCommand.Command(name, $"/model {model}", Actor.Operator), cancellationToken);
            }
            catch
            {
                forks.Release(name);
                restore.Undo(name);
                await changes.RunAsync(scopes, (change, _) =>
                {
                    change.Execute("DELETE FROM forks WHERE id = @id", new { id });
                    return Task.CompletedTask;
                }, CancellationToken.None);
                throw;
            }
            var drafts = command.Message is { } text
                ? [new AppendMessages.Draft(AgentNames.Operator, name, MessageKinds.Message, text, null)]
                : end.Next.Select(m => new AppendMessages.Draft(m.From, name, m.Kind, m.Body, m.Meta?.ToDictionary(p => p.Key, p => (object?)p.Value))).ToList();
            await changes.RunAsync(scopes, (_, services) =>
                services.GetRequiredService<IMediator>().Send(new AppendMessages.Command(drafts), CancellationToken.None), CancellationToken.None);
            using var connection = db.Open();
            return connection.QuerySingle<ForkView>($"SELECT {ForkedAgents.Columns} FROM forks WHERE id = @id", new { id });
        }

        /// <summary>The turn a fork starts from: one of the agent's, and not a replay agent's (a fork is of the original).</summary>
        internal static async Task<ReadGrantedTurn.Turn> TurnOfAsync(IMediator mediator, ActiveReplays replays, Command command, CancellationToken cancellationToken)
        {
            var turn = await mediator.Send(new ReadGrantedTurn.Query(command.AtTurn!.Value), cancellationToken);
            if (turn is null || turn.Agent != command.Agent) throw new NotFoundException($"no turn {command.AtTurn} of {command.Agent}");
            if (replays.IsReplayAgent(turn.Agent)) throw new ConflictException($"{turn.Agent} is a replay's agent: fork the original instead");
            return turn;
        }

        /// <summary>The original's files and session at the end of the turn, and the messages that woke its next turn (none when there was none).</summary>
        private async Task<(string Files, string? SessionId, List<WakeMessage> Next)> EndOfAsync(ReadGrantedTurn.Turn turn, CancellationToken cancellationToken)
        {
            using var connection = db.Open();
            if (connection.ExecuteScalar<long>("SELECT count(*) FROM turn_checkpoints WHERE turn_id = @Id", turn) == 0)
                throw new ConflictException($"turn {turn.Id} of {turn.Agent} has no checkpoint: its calls were not recorded when it ran (recording off, or a hive older than forks)");
            var next = connection.QueryFirstOrDefault<StartReplay.CheckpointRow>("""
                SELECT session_id, messages, files FROM turn_checkpoints WHERE agent = @Agent AND turn_id > @Id ORDER BY turn_id LIMIT 1
                """, turn);
            if (next is not null)
                return (next.Files, next.SessionId, JsonSerializer.Deserialize<List<WakeMessage>>(next.Messages, HiveJson.Options) ?? []);
            if (await mediator.Send(new ReadRunningTurn.Query(turn.Agent), cancellationToken) is not null)
                throw new ConflictException($"{turn.Agent} is in a turn now: fork at turn {turn.Id} once it has ended");
            var (files, _) = checkpoints.Snapshot(turn.Agent);
            var conversation = await mediator.Send(new ReadConversation.Query(turn.Agent), cancellationToken);
            return (JsonSerializer.Serialize(files, HiveJson.Options), conversation.SessionId, []);
        }
    }
}
