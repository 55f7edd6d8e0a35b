using Dapper;
using Hive.Shared.Data;
using Hive.Shared.Hosting;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Containers;

/// <summary>
/// <c>Hive:Approvals:TimeoutMinutes</c> (off by default): a request nobody decided in time is denied with the reason
/// "timed out", and its requester is told as for any decision, so a manager never waits on a forgotten question.
/// </summary>
internal sealed class DenyStaleApprovals(
    IServiceScopeFactory scopes, IOptions<ApprovalsOptions> options, TimeProvider timeProvider, ILogger<DenyStaleApprovals> logger)
    : PeriodicBackgroundService(scopes, Interval(options.Value), timeProvider, logger)
{
    public const string TimedOut = "timed out";

    /// <summary>A quarter of the timeout, between 1 s and 30 s: a request is denied at most that late.</summary>
    private static TimeSpan Interval(ApprovalsOptions options) =>
        TimeSpan.FromSeconds(Math.Clamp(options.TimeoutMinutes * 60 / 4, 1, 30));

    protected override async Task TickAsync(IServiceProvider services, CancellationToken stoppingToken)
    {
        var timeout = options.Value.TimeoutMinutes;
        if (timeout <= 0) return;
        var cutoff = services.GetRequiredService<TimeProvider>().GetUtcNow() - TimeSpan.FromMinutes(timeout);
        List<long> stale;
        using (var connection = services.GetRequiredService<IDb>().Open())
            stale = connection.Query<long>("SELECT id FROM approvals WHERE status = 'pending' AND created_at <= @cutoff ORDER BY id", new { cutoff }).AsList();
        var mediator = services.GetRequiredService<IMediator>();
        foreach (var id in stale)
        {
            try
            {
                await mediator.Send(new DenyApproval.Command(id, TimedOut, DecidedBy: "hive"), stoppingToken);
            }
            catch (Hive.Shared.Errors.ConflictException)
            {
                // Decided meanwhile by the operator: theirs stands.
            }
        }
    }
}
