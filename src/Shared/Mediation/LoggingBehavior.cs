using System.Diagnostics;
using MediatR;
using Microsoft.Extensions.Logging;

namespace Hive.Shared.Mediation;

/// <summary>Logs the request type and its duration, never its contents (bodies may hold anything an agent wrote).</summary>
public sealed class LoggingBehavior<TRequest, TResponse>(ILogger<LoggingBehavior<TRequest, TResponse>> logger)
    : IPipelineBehavior<TRequest, TResponse>
{
    public async Task<TResponse> Handle(TRequest request, CancellationToken cancellationToken, RequestHandlerDelegate<TResponse> next)
    {
        if (!logger.IsEnabled(LogLevel.Debug)) return await next();

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
