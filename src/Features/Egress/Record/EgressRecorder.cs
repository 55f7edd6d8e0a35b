using System.Globalization;
using Hive.Shared.Audit;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hive.Features.Egress.Record;

/// <summary>
/// Puts an attempt on the record once its connection has ended (a refusal at once): the shared audit log (actor the
/// agent, action <c>egress</c>, target host:port, and a result that says the decision, the address, the bytes each way and
/// the time), the agent's attempts (<see cref="RecordAttempt"/>, which also raises <c>egress_refused</c>) and the metrics.
/// A failure to record is logged, never the connection's failure.
/// </summary>
internal sealed class EgressRecorder(IAuditLog audit, IServiceScopeFactory scopes, EgressMetrics metrics, ILogger<EgressRecorder> logger)
{
    public const string AuditAction = "egress";

    public async Task RecordAsync(EgressAttempt attempt)
    {
        metrics.Ended(attempt);
        audit.Record(new AuditEntry(attempt.StartedAt, attempt.Agent, AuditAction, attempt.Target, ResultOf(attempt)));
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new RecordAttempt.Command(attempt), CancellationToken.None);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            logger.LogWarning("egress: {Agent}'s attempt to reach {Target} was not recorded: {Error}", attempt.Agent, attempt.Target, e.Message);
        }
    }

    /// <summary>"allowed 198.18.9.1 200, out 517 B, in 3120 B, 12 ms" or "refused 403: alice may not reach …".</summary>
    internal static string ResultOf(EgressAttempt a)
    {
        var ms = a.DurationMs.ToString("0", CultureInfo.InvariantCulture);
        var at = a.Address is null ? "" : " " + a.Address;
        return a.Decision == EgressDecisions.Allowed
            ? $"allowed{at} {a.Status}, out {a.BytesOut} B, in {a.BytesIn} B, {ms} ms"
            : $"{a.Decision}{at} {a.Status}: {a.Reason}";
    }
}
