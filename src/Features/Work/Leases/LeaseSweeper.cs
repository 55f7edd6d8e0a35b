using Dapper;
using Hive.Shared.Data;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Work.Leases;

/// <summary>
/// Ends leases at their TTL: sleeps (on the injected clock) until the soonest expiry, at most <c>Hive:Work:SweepSeconds</c>,
/// and is woken when a grant or a renewal may have brought that expiry nearer; then <see cref="ExpireLeases"/> deletes
/// what is due, with its <c>leases_changed</c>. (Every read skips an expired lease meanwhile, so the sweep is about the
/// event and the table's size, never about who holds what.)
/// </summary>
internal sealed class LeaseSweeper(IServiceScopeFactory scopes, IDb db, IOptions<WorkOptions> options, TimeProvider clock, ILogger<LeaseSweeper> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);
    private long _sweeps;

    /// <summary>Sweeps that expired something, since start-up.</summary>
    public long Sweeps => Interlocked.Read(ref _sweeps);

    /// <summary>Look again at the soonest expiry now (a lease was granted or renewed).</summary>
    public void Wake()
    {
        try
        {
            _wake.Release();
        }
        catch (SemaphoreFullException)
        {
            // already woken
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var most = TimeSpan.FromSeconds(options.Value.SweepSeconds);
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = most;
            try
            {
                DateTimeOffset? soonest;
                using (var connection = db.Open())
                    soonest = await connection.QuerySingleAsync<DateTimeOffset?>(new CommandDefinition(
                        "SELECT min(expires_at) FROM leases", cancellationToken: stoppingToken));
                var now = clock.GetUtcNow();
                if (soonest <= now)
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new ExpireLeases.Command(), stoppingToken);
                    Interlocked.Increment(ref _sweeps);
                    continue;
                }
                // A millisecond past it: times are stored to the millisecond, and an early wake would only look again.
                if (soonest is { } next && next - now + TimeSpan.FromMilliseconds(1) < wait) wait = next - now + TimeSpan.FromMilliseconds(1);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                logger.LogError(e, "leases: a sweep failed; the next one runs in {Seconds} s", most.TotalSeconds);
            }
            await WaitAsync(wait, stoppingToken);
        }
    }

    private async Task WaitAsync(TimeSpan wait, CancellationToken stoppingToken)
    {
        using var done = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var woken = _wake.WaitAsync(done.Token);
        var elapsed = Task.Delay(wait, clock, done.Token);
        await Task.WhenAny(woken, elapsed);
        await done.CancelAsync();
        await Task.WhenAll(woken, elapsed).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
