using System.Diagnostics;
using Hive.Contracts.Gateway;
using Hive.Features.Gateway.Calls;
using Hive.Features.Gateway.Recordings;
using Hive.Shared.Changes;
using MediatR;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Hive.Features.Gateway.Replays;

/// <summary>
/// A replay agent's model call at its door: answered from the turn's recording when it matches a recorded call (the
/// recorded response, byte for byte, with its status), never sent upstream. The first call that matches none is the
/// divergence: it is kept on the replay with what differs, and then either refused (<c>on_divergence: stop</c>, in the
/// provider's error format, so the client ends its turn) or let through to the live model (<c>live</c>: this call and every
/// later one of the replay). An agent whose replay is over calls no model at all.
/// </summary>
internal sealed class ReplayModelCall(ActiveReplays replays, CallBodies bodies, StateChanges changes, IServiceScopeFactory scopes, TimeProvider clock)
{
    /// <returns>True when the call was answered here; false when it goes on to the provider (the replay went live).</returns>
    public async Task<bool> ServeAsync(HttpContext context, IMediator mediator, string agent, Provider provider, ModelCallRequest.Parsed request, string path,
        long? turnId, DateTimeOffset startedAt, Stopwatch watch)
    {
        if (replays.Running(agent) is not { } replay)
        {
            await RefuseAsync(context, mediator, agent, provider, request, path, turnId, startedAt, watch,
                $"hive: {agent} is a replay's agent and its replay is over: it calls no model");
            return true;
        }
        var asked = RequestComparison.Normalise(request.Body, agent, replay.SourceAgent);
        var answer = replay.Answer(path, asked, call => bodies.Read(call.RequestBody) is { } recorded
            ? RequestComparison.Normalise(recorded, agent, replay.SourceAgent) : null);
        switch (answer)
        {
            case ReplayAnswer.Live:
                return false;
            case ReplayAnswer.Refused refused:
                await RefuseAsync(context, mediator, agent, provider, request, path, turnId, startedAt, watch, refused.Why);
                return true;
            case ReplayAnswer.Diverged diverged:
                await SaveAsync(replay.Id, diverged.GoLive ? ReplayStates.Running : ReplayStates.Diverged, replay.Replayed, diverged.Divergence, turnId);
                if (diverged.GoLive) return false;
                var first = diverged.Divergence.Differences.FirstOrDefault()?.Path ?? "$";
                await RefuseAsync(context, mediator, agent, provider, request, path, turnId, startedAt, watch,
                    $"hive: replay {replay.Id} diverged from the recording at call {diverged.Divergence.Call} ({first} differs): it stops here");
                return true;
            case ReplayAnswer.Recorded recorded:
                await AnswerAsync(context, mediator, agent, provider, request, path, turnId, startedAt, watch, recorded.Call);
                await SaveAsync(replay.Id, ReplayStates.Running, replay.Replayed, null, turnId);
                return true;
            default:
                throw new UnreachableException();
        }
    }

    private async Task AnswerAsync(HttpContext context, IMediator mediator, string agent, Provider provider, ModelCallRequest.Parsed request, string path,
        long? turnId, DateTimeOffset startedAt, Stopwatch watch, RecordedCall call)
    {
        var response = bodies.Read(call.ResponseBody);
        if (response is null)
        {
            await RefuseAsync(context, mediator, agent, provider, request, path, turnId, startedAt, watch,
                $"hive: the recorded answer of call {call.Id} was removed by retention during the replay");
            return;
        }
        context.Response.StatusCode = call.Status;
        context.Response.ContentType = call.Streamed ? "text/event-stream" : "application/json";
        context.Response.ContentLength = response.Length;
        var firstByte = watch.Elapsed.TotalMilliseconds;
        try
        {
            await context.Response.Body.WriteAsync(response, context.RequestAborted);
            await context.Response.CompleteAsync();
        }
        catch (Exception e) when (e is IOException or OperationCanceledException)
        {
            // the agent went away: the call is booked as answered all the same
        }
        await mediator.Send(new EndModelCall.Command(null, agent, turnId, provider.Name, call.Model, path, request.Streamed, "replayed", call.Status,
            Usage.None, null, firstByte, watch.Elapsed.TotalMilliseconds, request.Body.Length, response.Length, null,
            bodies.Store(request.Body), call.ResponseBody, startedAt, clock.GetUtcNow()), CancellationToken.None);
    }

    private async Task RefuseAsync(HttpContext context, IMediator mediator, string agent, Provider provider, ModelCallRequest.Parsed request, string path,
        long? turnId, DateTimeOffset startedAt, Stopwatch watch, string why)
    {
        // 403 (permission_error): a client does not retry it, so the replayed turn ends here with the sentence in its result.
        await ProviderErrors.WriteAsync(context, provider.Protocol, 403, why);
        await context.Response.CompleteAsync();
        await mediator.Send(new EndModelCall.Command(null, agent, turnId, provider.Name, request.Model, path, request.Streamed, "refused", 403,
            Usage.None, null, null, watch.Elapsed.TotalMilliseconds, request.Body.Length, 0, why, null, null, startedAt, clock.GetUtcNow()), CancellationToken.None);
    }

    private Task SaveAsync(long id, string state, int replayed, Divergence? divergence, long? turnId) =>
        changes.RunAsync(scopes, (change, _) =>
        {
            change.Execute("""
                UPDATE replays SET state = @state, calls_replayed = @replayed, divergence = coalesce(@divergence, divergence),
                    turn_id = coalesce(turn_id, @turnId), ended_at = CASE WHEN @state = 'running' THEN NULL ELSE @now END
                WHERE id = @id
                """, new { id, state, replayed, divergence = divergence is null ? null : ReplayRow.Serialize(divergence), turnId, now = clock.GetUtcNow() });
            change.Raise(new ReplayChanged(ReplayRow.Read(change.Connection, id, change.Transaction)!));
            return Task.CompletedTask;
        }, CancellationToken.None);
}
