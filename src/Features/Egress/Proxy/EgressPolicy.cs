using System.Net;
using Hive.Features.Containers;
using Hive.Shared.Egress;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hive.Features.Egress.Proxy;

/// <summary>
/// Whether an agent may reach a target, and at which addresses: the target must match one of the agent's rules as its
/// configuration says now (read per connection, so a changed list applies at the next one); a name is then resolved
/// here, on the host, and each address in a refused class (<see cref="AddressClasses"/>) or of the host itself
/// (<see cref="HostAddresses"/>) is dropped unless a rule names that very address. The addresses left are the ones the
/// proxy connects to: there is no second lookup between this check and the connect.
/// </summary>
/// <remarks>
/// An agent whose network is open may use its proxy too, under the same rules: it could reach anything directly, so the
/// proxy grants it nothing, and the same agent behaves alike whether sealed or not.
/// </remarks>
internal sealed class EgressPolicy(
    IServiceScopeFactory scopes, IEgressResolver resolver, HostAddresses host, Ask.EgressAllowances allowances, IOptions<EgressOptions> options)
{
    /// <summary>
    /// The check against the agent's rules as its configuration says now. A place no rule names passes once when the
    /// operator allowed it once; else, for an agent with <c>egress_ask</c>, the operator is asked about it
    /// (<see cref="Ask.AskEgress"/>) and the refusal says so.
    /// </summary>
    public async Task<Verdict> CheckAsync(string agent, EgressTarget target, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var mediator = scope.ServiceProvider.GetRequiredService<IMediator>();
        var view = await mediator.Send(new ReadAgentEgress.Query(agent), cancellationToken);
        var rules = EgressRule.ParseAll(view.Egress);
        if (rules.Any(r => r.Matches(target))) return await CheckAsync(agent, rules, target, cancellationToken);
        if (allowances.TryTake(agent, target.ToString()) && EgressRule.TryParse(target.ToString(), out _) is { } once)
            return await CheckAsync(agent, [once], target, cancellationToken);
        var asked = view.Ask && await mediator.Send(new Ask.AskEgress.Command(agent, target.ToString()), cancellationToken);
        return Verdict.Refused(403, null, $"{agent} may not reach {target} (not in its egress{(asked ? "; the operator has been asked" : "")})");
    }

    /// <summary>The check against <paramref name="rules"/> (the agent's, read by the caller).</summary>
    internal async Task<Verdict> CheckAsync(string agent, IReadOnlyList<EgressRule> rules, EgressTarget target, CancellationToken cancellationToken)
    {
        if (!rules.Any(r => r.Matches(target)))
            return Verdict.Refused(403, null, $"{agent} may not reach {target} (not in its egress)");

        IReadOnlyList<IPAddress> resolved;
        if (target.Address is { } literal) resolved = [literal];
        else
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(options.Value.ResolveTimeoutSeconds));
            try
            {
                resolved = await resolver.ResolveAsync(target.Host, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return Verdict.Refused(504, null, $"{target.Host} did not resolve in time");
            }
            catch (System.Net.Sockets.SocketException e)
            {
                return Verdict.Refused(502, null, $"{target.Host} does not resolve ({e.SocketErrorCode})");
            }
            if (resolved.Count == 0) return Verdict.Refused(502, null, $"{target.Host} does not resolve");
        }

        var allowed = new List<IPAddress>();
        (IPAddress Address, string Why)? first = null;
        foreach (var address in resolved.Select(EgressRule.Normal).Distinct())
        {
            var why = AddressClasses.Of(address) ?? host.Of(address);
            if (why is null || rules.Any(r => r.NamesLiterally(address, target.Port))) allowed.Add(address);
            else first ??= (address, why);
        }
        if (allowed.Count > 0) return Verdict.Allowed(allowed);
        var (refused, reason) = first!.Value;
        var by = target.Address is null ? $" (it resolves to {refused}, {reason})" : $" ({reason})";
        return Verdict.Refused(403, refused, $"{agent} may not reach {target}{by}");
    }
}

/// <summary>The policy's answer: the addresses to try in order, or the status and sentence of the refusal (and the address refused, if it was one).</summary>
internal sealed record Verdict(IReadOnlyList<IPAddress> Addresses, int Status, IPAddress? RefusedAddress, string? Reason)
{
    public bool IsAllowed => Reason is null;
    public static Verdict Allowed(IReadOnlyList<IPAddress> addresses) => new(addresses, 200, null, null);
    public static Verdict Refused(int status, IPAddress? address, string reason) => new([], status, address, reason);
}
