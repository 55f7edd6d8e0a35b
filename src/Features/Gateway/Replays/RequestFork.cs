using System.Text.Json;
using FluentValidation;
using Hive.Contracts.Containers;
using Hive.Contracts.Json;
using Hive.Features.Containers;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Approvals;
using Hive.Shared.Changes;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// The manager asks for a fork (<c>request_fork</c>): a fork the operator did not start waits for the operator's approval
/// (kind <c>fork</c>, its payload what was asked). What can be checked now is checked now (the request's fields, the turn
/// and its agent); the rest (a name taken since, a checkpoint removed by retention) is checked when it is made.
/// </summary>
public static class RequestFork
{
    public const string Kind = "fork";

    public sealed record Command(string Requester, ForkConversation.Command Fork) : IRequest<ApprovalView>;

    internal sealed class Validator : AbstractValidator<Command>
    {
        public Validator()
        {
            RuleFor(c => c.Fork.Agent).Must(AgentNames.IsWellFormed).WithName("agent").WithMessage("agent must be an agent's name (^[a-z][a-z0-9-]{0,30}$)");
            RuleFor(c => c.Fork).SetValidator(new ForkConversation.Validator());
        }
    }

    internal sealed class Handler(IMediator mediator, ActiveReplays replays) : IRequestHandler<Command, ApprovalView>
    {
        public async Task<ApprovalView> Handle(Command command, CancellationToken cancellationToken)
        {
            var fork = command.Fork;
            var turn = await ForkConversation.Handler.TurnOfAsync(mediator, replays, fork, cancellationToken);
            var payload = JsonSerializer.SerializeToElement(fork with { Name = fork.Name ?? $"{turn.Agent}-fork-{turn.Id}" }, HiveJson.Options);
            return await mediator.Send(new OpenApproval.Command(Kind, command.Requester, turn.Agent, payload), cancellationToken);
        }
    }
}

/// <summary>
/// Makes a fork the operator approved, as the operator's own would be made (<see cref="ForkConversation"/>); when it cannot
/// be made now, the requester is told why (a message of kind <c>fork_failed</c>).
/// </summary>
internal sealed class ForkApprovals(IServiceScopeFactory scopes, StateChanges changes) : IApprovalApplier
{
    public string Kind => RequestFork.Kind;

    public async Task ApplyAsync(ApprovalView approval, CancellationToken cancellationToken)
    {
        var fork = approval.Payload.Deserialize<ForkConversation.Command>(HiveJson.Options)!;
        await using var scope = scopes.CreateAsyncScope();
        try
        {
            await scope.ServiceProvider.GetRequiredService<IMediator>().Send(fork, cancellationToken);
        }
        catch (Exception e) when (e is HiveException or FluentValidation.ValidationException)
        {
            var why = HiveError.From(e).Message;
            await changes.RunAsync(scopes, (_, services) => services.GetRequiredService<IMediator>().Send(new AppendMessages.Command(
                [new AppendMessages.Draft(AgentNames.Hive, approval.Requester, "fork_failed",
                    $"approval {approval.Id}: the fork of {approval.Agent} at turn {fork.AtTurn} could not be made: {why}",
                    new Dictionary<string, object?> { ["approval_id"] = approval.Id, ["agent"] = approval.Agent })]), CancellationToken.None), cancellationToken);
        }
    }
}
