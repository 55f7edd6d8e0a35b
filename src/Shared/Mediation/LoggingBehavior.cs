using System.Diagnostics;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Mediation;

/// <summary>Logs the request type and its duration, never its contents (bodies may hold anything an agent wrote).</summary>
public sealed class LoggingBehavior<TRequest, TResponse>(ILogger<LoggingBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    // Not async when Debug is off (the usual case): every request passes here, and an async frame per request is
    // measurable on the send path.
    public Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next) =>
        logger.IsEnabled(LogLevel.Debug) ? TimedAsync(next) : next();

    private async Task<TResponse> TimedAsync(RequestHandlerDelegate<TResponse> next)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            return await next();
        }
        finally
        {
            logger.LogDebug("{Request} handled in {Elapsed:0.000} ms", typeof(TRequest).FullName,
                Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }
    }
}
