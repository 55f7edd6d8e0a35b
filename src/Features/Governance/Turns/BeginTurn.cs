using FluentValidation;
using Hive.Contracts.Governance;
using Hive.Features.Messages;
using Hive.Shared.Agents;
using Hive.Shared.Changes;
using Hive.Shared.Gateway;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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

    /// <param name="Handoff">The turn runs on another provider of the agent's chain than its last: what the harness starts the fresh conversation with.</param>
    public sealed record Result(long? TurnId, Held? Held, Handoff? Handoff = null);

    internal sealed class Validator : AbstractValidator<Query>
    {
        public Validator() => RuleFor(q => q.WaitMs).InclusiveBetween(0, MaxWaitMs).When(q => q.WaitMs is not null)
            .WithName("wait_ms").WithMessage($"wait_ms must be between 0 and {MaxWaitMs}");
    }

    internal sealed class Handler(IMediator mediator, Admission admission, AgentProviders providers, StateChanges changes,
        IServiceScopeFactory scopes, TimeProvider clock, IEnumerable<ITurnStartWitness> witnesses, ILogger<Query> logger) : IRequestHandler<Query, Result>
    {
        public async Task<Result> Handle(Query query, CancellationToken cancellationToken)
        {
            var chain = await providers.ChainOfAsync(query.Agent, cancellationToken);
            var senders = await mediator.Send(new ListInFlightSenders.Query(query.Agent), cancellationToken);
            var waiter = admission.Enqueue(query.Agent, chain, senders.Contains(AgentNames.Operator));
            Admission.Slot slot;
            try
            {
                if (!waiter.Granted.Task.IsCompleted) await AnnounceAsync(query.Agent, admission.HoldOf(query.Agent, chain) ?? new Held(HoldReasons.Queued, null));
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, query.ConnectionClosed);
                slot = await waiter.Granted.Task.WaitAsync(TimeSpan.FromMilliseconds(query.WaitMs ?? 0), clock, wait.Token);
            }
            catch (Exception e) when (e is TimeoutException or OperationCanceledException)
            {
                if (admission.Withdraw(waiter) is { } held)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    return new Result(null, held);
                }
                slot = await waiter.Granted.Task; // reserved for it as its wait ran out
            }
            catch
            {
                // Nothing may stay in line for a request that is gone: out of the queue, or its reserved slot given back.
                if (admission.Withdraw(waiter) is null && waiter.Granted.Task.IsCompletedSuccessfully) admission.Release(waiter.Granted.Task.Result, "not_granted");
                throw;
            }

            if (query.ConnectionClosed.IsCancellationRequested)
            {
                admission.Release(slot, TurnEndReasons.Disconnected); // reserved as its asker hung up: no one to give it to
                throw new OperationCanceledException(query.ConnectionClosed);
            }
            long? turnId;
            try
            {
                turnId = await mediator.Send(new GrantTurn.Command(slot), CancellationToken.None);
            }
            catch
            {
                admission.Release(slot, "not_granted");
                throw;
            }
            if (turnId is not { } id)
            {
                // Held since it was reserved (a halt or a pause committed in between): no turn, the slot goes back.
                admission.Release(slot, "not_granted");
                return new Result(null, admission.HoldOf(query.Agent, chain) ?? new Held(HoldReasons.Queued, null));
            }
            // The turn lives as long as the connection that asked for it (a harness killed mid-turn gives its slot back).
            slot.OnEnd(query.ConnectionClosed.Register(() => _ = EndTurn.QuietlyAsync(scopes, id, TurnEndReasons.Disconnected)));
            foreach (var witness in witnesses)
            {
                try
                {
                    await witness.TurnGrantedAsync(id, query.Agent, CancellationToken.None);
                }
                catch (Exception e)
                {
                    logger.LogWarning("governance: {Witness} failed on {Agent}'s turn {Turn}: {Error}", witness.GetType().Name, query.Agent, id, e.Message);
                }
            }
            return new Result(id, null, slot.Handoff);
        }

        /// <summary>
        /// Says once per reason that the agent is held; a reached budget asks the operator (the question itself is asked once
        /// per cap and period: a raise that leaves another cap reached asks about that one). Best effort: a failure here
        /// (the hive's open questions at their limit) is logged, and the agent waits in line all the same.
        /// </summary>
        private async Task AnnounceAsync(string agent, Held held)
        {
            try
            {
                await changes.RunAsync(scopes, async (change, services) =>
                {
                    if (admission.Announce(agent, held.Reason)) change.Raise(new TurnHeld(agent, held.Reason, held.Until));
                    if (held.Reason == HoldReasons.Budget)
                        await services.GetRequiredService<IMediator>().Send(new AskBudgetQuestion.Command(agent), CancellationToken.None);
                }, CancellationToken.None);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("governance: telling of {Agent}'s held turn ({Reason}) failed: {Error}", agent, held.Reason, e.Message);
            }
        }
    }
}
