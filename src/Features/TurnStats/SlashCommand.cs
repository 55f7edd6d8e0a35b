using System.Text.RegularExpressions;
using FluentValidation;
using Hive.Contracts.TurnStats;
using Hive.Shared.Agents;
using Hive.Shared.Audit;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;

namespace Hive.Features.TurnStats;

/// <summary>
/// The operator's slash commands for a harness agent, <c>POST /api/agents/{name}/slash {command}</c>:
/// <c>/compact</c> (the next turn compacts first), <c>/model NAME</c> (the model from the next turn on), <c>/clear</c>
/// (the next turn starts a fresh conversation). Each is state on the agent's conversation row, which the harness reads
/// at each turn's start (<see cref="StartConversationTurn"/>), and an intervention, in one change. State rather than a
/// message: it survives the harness and the host, needs no acknowledgement, never wakes a turn by itself, and two
/// <c>/compact</c>s before a turn are one.
/// </summary>
public static partial class SlashCommand
{
    public const int MaxModelLength = 128;

    public sealed record Command(string Agent, string? Text, Actor By) : IRequest<ConversationView>, IChangesState;

    /// <summary>Whether <paramref name="model"/> is a model's name as <c>/model NAME</c> takes it.</summary>
    public static bool IsModelName(string model) => Syntax().IsMatch($"/model {model}");

    [GeneratedRegex(@"^/(compact|clear)\s*$|^/model\s+([A-Za-z0-9][A-Za-z0-9._:@/\[\]-]{0,127})\s*$")]
    private static partial Regex Syntax();

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator(IAgentDirectory agents)
        {
            RuleFor(c => c.Agent).Must(agents.IsAgent).WithMessage("no such agent").WithErrorCode(ErrorCodes.NotFound);
            RuleFor(c => c.Text).Must(t => t is not null && Syntax().IsMatch(t))
                .WithName("command").WithMessage("command must be /compact, /clear or /model NAME (letters, digits and ._:@/[]-)");
        }
    }

    internal sealed class Handler(StateChanges changes, TimeProvider clock, IMediator mediator) : IRequestHandler<Command, ConversationView>
    {
        public async Task<ConversationView> Handle(Command command, CancellationToken cancellationToken)
        {
            var match = Syntax().Match(command.Text!);
            var verb = match.Groups[1].Success ? match.Groups[1].Value : "model";
            var change = changes.Current;
            var before = ConversationRow.Read(change, command.Agent);
            var now = clock.GetUtcNow();
            var asked = verb switch
            {
                "compact" => before with { CompactNext = true },
                "clear" => before with { ClearNext = true, CompactNext = false },
                _ => before with { Model = match.Groups[2].Value },
            };
            var after = asked with { UpdatedAt = now };
            ConversationRow.Write(change, after, now);
            await mediator.Send(new RecordIntervention(command.By, InterventionActions.Slash(verb), command.Agent, command.Text!.Trim(),
                new { before.Model, before.CompactNext, before.ClearNext }, new { after.Model, after.CompactNext, after.ClearNext }), CancellationToken.None);
            change.Raise(new ConversationChanged(after));
            return after;
        }
    }
}
