using System.Diagnostics;
using Hive.Features.Containers;
using Hive.Features.Gateway.Door;
using Hive.Features.Gateway.Recordings;
using Hive.Features.Gateway.Replays;
using Hive.Features.Governance.Spend;
using Hive.Shared.Errors;
using MediatR;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// One model call of an agent, from its door to its provider and back. In order: the agent's provider and the path its
/// protocol serves; the placeholder key of this door (an agent cannot spend in another's name); the body, bounded and JSON;
/// Governance's word (over budget, halted, paused, circuit open: refused here, the provider never sees it); a slot of the
/// provider's; then YARP forwards it with the real key added upstream, streaming the answer back as it comes while
/// <see cref="UsageMeter"/> reads the usage out of it (the call's row is written <c>open</c> once the answer has begun);
/// at the end the row is completed and the usage spent, in one change (<see cref="EndModelCall"/>). A 429 or 529 from the provider opens its circuit with the
/// reset it named. Every refusal is in the provider's own error format.
/// </summary>
internal sealed class ForwardModelCall(
    AgentDoors doors, GatewayProviders providers, IHttpForwarder forwarder, IServiceScopeFactory scopes, IOptions<GatewayOptions> options,
    CallBodies bodies, CallRecording recordings, ProviderLimits limits, CallFailures failures, GatewayMetrics metrics, TimeProvider clock,
    ActiveReplays replays, ReplayModelCall replayed, Chains.ChainRouting chains)
{
    /// <summary>What each agent's last complete call on each provider cost: the estimate of its next (a budget stops the call that would cross it).</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Agent, string Provider), double> _lastCost = new();

    /// <summary>The most of a response kept for its recording; a longer one is recorded up to here.</summary>
    private const int MaxRecordedResponseBytes = 16 * 1024 * 1024;

    /// <summary>A call still streaming this long after its first bytes gets its open row (one that ends sooner is written once).</summary>
    private static readonly TimeSpan OpenAfter = TimeSpan.FromMilliseconds(500);

    public async Task HandleAsync(HttpContext context, string agent)
    {
        var startedAt = clock.GetUtcNow();
        var watch = Stopwatch.StartNew();
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();

        string providerName;
        AgentChain chain;
        try
        {
            // An agent with a chain is routed once its body is read (which of its providers depends on what the turn did).
            chain = await mediator.Send(new ReadAgentChain.Query(agent), context.RequestAborted);
            providerName = chain.IsChain ? chain.Providers[0] : doors.ProviderOf(agent) ?? chain.Providers[0];
        }
        catch (NotFoundException)
        {
            await ProviderErrors.WriteAsync(context, ModelCallRequest.ProtocolOf(context.Request.Path.Value ?? ""), 404, $"hive: {agent} is not an agent of this hive");
            return;
        }
        if (providers.Find(providerName) is not { } provider)
        {
            await ProviderErrors.WriteAsync(context, ModelCallRequest.ProtocolOf(context.Request.Path.Value ?? ""), 404,
                $"hive: {agent}'s provider {providerName} is not one the gateway serves (Hive:Gateway:Providers)");
            return;
        }
        var protocol = provider.Protocol;
        var path = context.Request.Path.Value ?? "";
        if (ModelCallRequest.Refusal(protocol, context.Request.Method, path, provider.Name) is { } refused)
        {
            await ProviderErrors.WriteAsync(context, protocol, refused.Status, refused.Message);
            return;
        }
        if (!doors.IsKeyOf(agent, ModelCallRequest.PresentedKey(context.Request, protocol)))
        {
            await ProviderErrors.WriteAsync(context, protocol, 401, $"hive: this is {agent}'s door to its model, and the key sent is not {agent}'s");
            return;
        }

        byte[] body;
        try
        {
            body = await ModelCallRequest.ReadBodyAsync(context.Request, options.Value.MaxRequestBytes, options.Value.DrainLimitBytes, context.RequestAborted);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await ProviderErrors.WriteAsync(context, protocol, 413, $"hive: the request is over the gateway's limit of {options.Value.MaxRequestBytes} bytes (Hive:Gateway:MaxRequestBytes)");
            return;
        }
        catch (Exception e) when (e is IOException or BadHttpRequestException or OperationCanceledException)
        {
            return; // the agent went away while sending: nothing was asked of anyone
        }
        var (request, problem) = ModelCallRequest.Parse(body, protocol, path, context.Request.Query);
        if (problem is not null)
        {
            await ProviderErrors.WriteAsync(context, protocol, 400, $"hive: {problem}");
            return;
        }
        body = request!.Body;
        var recording = options.Value.Recordings.Days > 0 && recordings.IsOn(agent);

        CheckModelCall.Verdict? handoff = null;
        if (chain.IsChain)
        {
            var routed = await chains.RouteAsync(mediator, agent, chain, protocol, request, context.RequestAborted);
            (provider, request, handoff) = (providers.Find(routed.Provider) ?? provider, routed.Request, routed.Refused);
            body = request.Body;
        }
        var verdict = handoff ?? await mediator.Send(new CheckModelCall.Query(agent, provider.Name, _lastCost.GetValueOrDefault((agent, provider.Name))),
            context.RequestAborted);
        if (!verdict.Allowed)
        {
            // 403 (permission_error): Claude Code does not retry it (it retried a 400 twice), so the turn ends at once with the
            // sentence in its result; a circuit's 429 carries its retry-after.
            var status = verdict.Reason == "quota" ? 429 : 403;
            var retryAfter = verdict.RetryAt is { } at ? at - clock.GetUtcNow() : (TimeSpan?)null;
            await ProviderErrors.WriteAsync(context, protocol, status, verdict.Refusal ?? "hive: the call was refused", retryAfter);
            await context.Response.CompleteAsync();
            await mediator.Send(new EndModelCall.Command(null, agent, verdict.TurnId, provider.Name, request.Model, path, request.Streamed, "refused",
                status, Usage.None, null, null, watch.Elapsed.TotalMilliseconds, body.Length, 0, verdict.Refusal, recording ? bodies.Store(body) : null, null,
                startedAt, clock.GetUtcNow()), CancellationToken.None);
            return;
        }

        // A replay's agent is answered from the recording; only a replay gone live at its divergence reaches the provider.
        if (replays.IsReplayAgent(agent) && await replayed.ServeAsync(context, mediator, agent, provider, request, path, verdict.TurnId, startedAt, watch))
            return;

        var slotTaken = false;
        var queuedFor = TimeSpan.Zero;
        if (provider.Slots is not null)
        {
            if (await provider.TakeSlotAsync(watch, context.RequestAborted) is not { } taken) return; // gone while waiting: it never left the queue
            (slotTaken, queuedFor) = taken;
            if (!slotTaken)
            {
                var busy = $"hive: {provider.Name}'s {provider.MaxInFlight} slots stayed busy for {provider.MaxQueue.TotalSeconds:0} s; try again later";
                await ProviderErrors.WriteAsync(context, protocol, ProviderErrors.Busy(protocol), busy);
                await context.Response.CompleteAsync();
                await mediator.Send(new EndModelCall.Command(null, agent, verdict.TurnId, provider.Name, request.Model, path, request.Streamed, "refused",
                    ProviderErrors.Busy(protocol), Usage.None, null, null, watch.Elapsed.TotalMilliseconds, body.Length, 0, busy, null, null, startedAt, clock.GetUtcNow()),
                    CancellationToken.None);
                return;
            }
        }
        try
        {
            await ForwardAsync(context, mediator, agent, provider, verdict.TurnId, request, path, recording, startedAt, watch, queuedFor);
        }
        finally
        {
            if (slotTaken) provider.Slots!.Release();
        }
    }

    private async Task ForwardAsync(HttpContext context, IMediator mediator, string agent, Provider provider, long? turnId, ModelCallRequest.Parsed request,
        string path, bool recording, DateTimeOffset startedAt, Stopwatch watch, TimeSpan queuedFor)
    {
        // The open row is written when the answer is still passing OpenAfter past its first bytes, beside the stream: the first
        // byte neither waits for the disk nor shares the machine with its write, and a short call is written once, whole, at its
        // end. A host that dies before leaves no row, one that dies after an open one (interrupted at the next start), never
        // a complete one.
        using var ended = new CancellationTokenSource();
        Task<long?>? opened = null;
        void Open() => opened = OpenLaterAsync(ended.Token);
        async Task<long?> OpenLaterAsync(CancellationToken callEnded)
        {
            try
            {
                await Task.Delay(OpenAfter, clock, callEnded);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
            await using var own = scopes.CreateAsyncScope();
            return await own.ServiceProvider.GetRequiredService<IMediator>().Send(new StartModelCall.Command(agent, turnId, provider.Name,
                request.Model, path, request.Streamed, request.Body.Length, null, startedAt), CancellationToken.None);
        }
        var key = provider.KeySecret.Length > 0 ? await mediator.Send(new ReadSecretValue.Query(provider.KeySecret), CancellationToken.None) : null;

        context.Request.Body = new MemoryStream(request.Body, writable: false);
        context.Request.ContentLength = request.Body.Length;
        context.Request.Headers.Remove("Transfer-Encoding");
        var meter = new UsageMeter(provider.Protocol, request.Streamed);
        using var passing = new MeteredBody(context.Response.Body, meter, watch, recording ? MaxRecordedResponseBytes : 0, hideUsageChunk: request.UsageAdded,
            passed: Open);
        context.Response.Body = passing;

        provider.Began();
        ForwarderError error;
        var upstream = new UpstreamTransformer(provider.Protocol, key, limits, provider.Name, watch);
        try
        {
            error = await forwarder.SendAsync(context, provider.Upstream.ToString(), provider.Client,
                new ForwarderRequestConfig { ActivityTimeout = TimeSpan.FromSeconds(options.Value.UpstreamTimeoutSeconds) }, upstream);
        }
        finally
        {
            provider.Ended();
        }
        meter.Complete();
        await passing.CompleteAsync(context.RequestAborted);
        if (upstream.LeftAt is { } left) metrics.Overhead(provider.Name, left - queuedFor);

        var status = context.Response.StatusCode;
        string? failure = null;
        if (error != ForwarderError.None)
        {
            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            failure = ForwarderFailure.Describe(error, exception, provider);
            if (error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled)
                failure = "the agent dropped the call: " + failure;
            else if (!context.Response.HasStarted)
            {
                status = error == ForwarderError.RequestTimedOut ? 504 : 502;
                await ProviderErrors.WriteAsync(context, provider.Protocol, status, $"hive: {failure}");
            }
        }
        else if (status >= 400 || meter.StreamError is not null)
        {
            failure = meter.StreamError ?? $"{provider.Name} answered {status}";
        }

        // The agent has its whole answer before the hive books it: recording and the row do not hold up the response's end.
        if (!context.RequestAborted.IsCancellationRequested)
        {
            try { await context.Response.CompleteAsync(); } catch (Exception e) when (e is IOException or InvalidOperationException) { }
        }
        var model = meter.Model ?? request.Model;
        var usage = meter.Usage;
        // Priced by the model as the request named it (OpenAI answers with the dated snapshot an alias resolved to).
        var cost = usage.Total > 0 ? provider.CostOf(request.Model, usage) ?? provider.CostOf(meter.Model, usage) : null;
        var requestName = recording ? bodies.Store(request.Body) : null;
        string? responseName = null;
        if (passing.TakeRecorded() is { } recorded) responseName = bodies.Store(recorded);
        var state = failure is null ? "complete" : "failed";
        if (failure is null && cost is { } spent) _lastCost[(agent, provider.Name)] = spent;
        // Connection failures, timeouts and 5xx are a streak of the agent's; anything else that reached the provider ends it.
        // Counted before the call's row is, so the call's event and the row's streak agree.
        var upstreamFailed = error is not (ForwarderError.None or ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled
            or ForwarderError.ResponseBodyCanceled) || status >= 500;
        if (upstreamFailed) await failures.FailedAsync(agent, provider.Name, failure ?? $"{provider.Name} answered {status}");
        else if (error == ForwarderError.None) await failures.SucceededAsync(agent, provider.Name);
        ended.Cancel();
        var id = opened is null ? null : await opened;
        await mediator.Send(new EndModelCall.Command(id, agent, turnId, provider.Name, model, path, request.Streamed, state, status, usage, cost,
            passing.FirstByteMs, watch.Elapsed.TotalMilliseconds, request.Body.Length, passing.Bytes, failure, requestName, responseName,
            startedAt, clock.GetUtcNow()), CancellationToken.None);

        // The provider's own word on its limits: its circuit opens until the reset it named, for every agent on it.
        if (status is 429 or 529 && error == ForwarderError.None)
        {
            var until = limits.ResetOf(context.Response.Headers, clock.GetUtcNow()) ?? clock.GetUtcNow().AddMinutes(1);
            await mediator.Send(new OpenProviderCircuit.Command(provider.Name, until, agent, failure ?? $"{provider.Name} answered {status}"),
                CancellationToken.None);
        }
    }
}
