using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hive.Features.Containers;
using Hive.Features.Gateway.Calls;
using Hive.Features.Governance;
using Hive.Features.Governance.Spend;
using Hive.Shared.Gateway;
using MediatR;

namespace Hive.Features.Gateway.Chains;

/// <summary>
/// Where a call of an agent with a provider chain goes. To its turn's provider, while nothing holds it. When its circuit
/// opened during the turn: to the next provider of the chain if nothing has happened in the turn yet (the conversation
/// holds nothing a model wrote, so nothing is handed to a model that did not write it), recorded as a switch; otherwise
/// the call is refused with a 403 that ends the turn (not retried), and the next turn starts on the next provider with a
/// handoff brief. On a provider after the first, the model is the one the chain maps it to. The last request each such
/// agent sent on each provider is kept (in memory, this host life) for that brief.
/// </summary>
internal sealed class ChainRouting : IHandoffBriefs
{
    private readonly ConcurrentDictionary<(string Agent, string Provider), (string Protocol, byte[] Body)> _last = new();

    public sealed record Routed(string Provider, ModelCallRequest.Parsed Request, CheckModelCall.Verdict? Refused);

    public async Task<Routed> RouteAsync(IMediator mediator, string agent, AgentChain chain, string protocol, ModelCallRequest.Parsed request,
        CancellationToken cancellationToken)
    {
        var route = await mediator.Send(new RouteModelCall.Query(agent, chain.Providers), cancellationToken);
        var provider = route.Provider;
        if (route.Next is { } next)
        {
            if (HandoffBrief.ModelWrote(protocol, request.Body))
            {
                _last[(agent, provider)] = (protocol, request.Body);
                return new Routed(provider, request, new CheckModelCall.Verdict(false,
                    $"hive: {route.Why}. This turn has already acted, so it ends here; {agent}'s next turn starts on {next} with a brief of this one",
                    HandoffReason, route.TurnId));
            }
            await mediator.Send(new SwitchTurnProvider.Command(agent, provider, next, $"{route.Why}; moved before anything happened in the turn"),
                CancellationToken.None);
            provider = next;
        }
        _last[(agent, provider)] = (protocol, request.Body);
        return new Routed(provider, WithModel(request, provider == chain.Providers[0] ? null : chain.ModelOn(provider)), null);
    }

    /// <summary>The refusal's reason: the turn ends for a handoff (a 403, which the agents' clients do not retry).</summary>
    public const string HandoffReason = "handoff";

    public string? BriefOf(string agent, string provider) =>
        _last.TryGetValue((agent, provider), out var last) ? HandoffBrief.From(last.Protocol, last.Body) : null;

    /// <summary>The request with its <c>model</c> set to <paramref name="model"/> (as it was when null).</summary>
    private static ModelCallRequest.Parsed WithModel(ModelCallRequest.Parsed request, string? model)
    {
        if (model is null || model == request.Model || JsonNode.Parse(request.Body) is not JsonObject json) return request;
        json["model"] = model;
        return request with { Body = JsonSerializer.SerializeToUtf8Bytes(json), Model = model };
    }
}
