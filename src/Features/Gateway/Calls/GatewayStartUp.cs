using Hive.Features.Gateway.Recordings;
using MediatR;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hive.Features.Gateway.Calls;

/// <summary>
/// At start-up, calls a previous host died under are marked <c>interrupted</c> (never complete, never spent) and its replays
/// <c>failed</c>; then, hourly,
/// recorded bodies past <c>Hive:Gateway:Recordings:Days</c> or over its size go, oldest first.
/// </summary>
internal sealed class GatewayStartUp(IServiceScopeFactory scopes, CallBodies bodies, IOptions<GatewayOptions> options, TimeProvider clock,
    ILogger<GatewayStartUp> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            var interrupted = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new MarkInterruptedCalls.Command(clock.GetUtcNow()), stoppingToken);
            if (interrupted > 0) logger.LogWarning("gateway: {Count} model calls were cut off by the host's stop; marked interrupted, not counted", interrupted);
            var replays = await scope.ServiceProvider.GetRequiredService<IMediator>().Send(new Replays.FailInterruptedReplays.Command(clock.GetUtcNow()), stoppingToken);
            if (replays > 0) logger.LogWarning("gateway: {Count} replays were cut off by the host's stop; marked failed", replays);
        }
        var recordings = options.Value.Recordings;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                bodies.Sweep(TimeSpan.FromDays(recordings.Days), recordings.MaxMiB * 1024 * 1024, clock.GetUtcNow().UtcDateTime);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.LogWarning("gateway: could not sweep old recordings: {Error}", e.Message);
            }
            try { await Task.Delay(TimeSpan.FromHours(1), clock, stoppingToken); } catch (OperationCanceledException) { return; }
        }
    }
}
