using FluentValidation;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Governance;

/// <summary>
/// <c>begin_turn</c>: an agent asks for a turn before it thinks (the harness does, once it has its messages). It waits in
/// the one queue up to <c>wait_ms</c>; granted, the turn is the connection's that asked: it ends with <c>record_turn</c>,
/// or when that connection closes. Not granted in time, the answer says what holds it (not an error: the harness asks
/// again, keeping its place). A wake with a message or an answer from the operator in hand goes first.
/// </summary>
public static class BeginTurn
{
    public const int MaxWaitMs = 30_000;

    public sealed record Query(string Agent, int? WaitMs, CancellationToken ConnectionClosed) : IRequest<Result>;

    public sealed record Result(long? TurnId, Held? Held);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.WaitMs).InclusiveBetween(0, MaxWaitMs).When(q => q.WaitMs is not null)
            .WithName("wait_ms").WithMessage($"wait_ms must be between 0 and {MaxWaitMs}");
    }

    internal sealed class Handler(IMediator mediator, Admission admission, AgentProviders providers, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var provider = await providers.OfAsync(query.Agent, cancellationToken);
            var senders = await mediator.Send(new ListInFlightSenders.Query(query.Agent), cancellationToken);
            var waiter = admission.Enqueue(query.Agent, provider, senders.Contains(AgentNames.Operator));
            if (!waiter.Granted.Task.IsCompleted) await AnnounceAsync(query.Agent, admission.HoldOf(query.Agent, provider) ?? new Held(HoldReasons.Queued, null));

            Admission.Slot? slot = null;
            using (var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, query.ConnectionClosed))
            {
                try
                {
                    slot = await waiter.Granted.Task.WaitAsync(TimeSpan.FromMilliseconds(query.WaitMs ?? 0), clock, wait.Token);
                }
                catch (Exception e) when (e is TimeoutException or OperationCanceledException)
                {
                    if (admission.Withdraw(waiter) is { } held)
                    {
                        cancellationToken.ThrowIfCancellationRequested();
                        return new Result(null, held);
                    }
                }
            }
            slot ??= await waiter.Granted.Task; // reserved for it as its wait ran out

            long turnId;
            try
            {
                turnId = await mediator.Send(new GrantTurn.Command(slot), CancellationToken.None);
            }
            catch
            {
                admission.Release(slot, "not_granted");
                throw;
            }
            // The turn lives as long as the connection that asked for it (a harness killed mid-turn gives its slot back).
            query.ConnectionClosed.Register(() => _ = EndTurn.QuietlyAsync(scopes, turnId, TurnEndReasons.Disconnected));
            return new Result(turnId, null);
        }

        /// <summary>Says once per reason that the agent is held; a reached budget also asks the operator (once).</summary>
        private async Task AnnounceAsync(string agent, Held held)
        {
            if (!admission.Announce(agent, held.Reason)) return;
            await changes.RunAsync(scopes, async (change, services) =>
            {
                change.Raise(new TurnHeld(agent, held.Reason, held.Until));
                if (held.Reason == HoldReasons.Budget)
                    await services.GetRequiredService<IMediator>().Send(new AskBudgetQuestion.Command(agent), CancellationToken.None);
            }, CancellationToken.None);
        }
    }
}
